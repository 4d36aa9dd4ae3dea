"""Start-up cost of `mar-lint check` on a small archive, beside `python -c pass`.

Runs each command once to warm up (bytecode caches are written, as an install would have
them), then N times, interleaved (so a busy machine slows all of them alike), and prints
the median wall time, the median peak RSS of the process (from `os.wait4`'s rusage: the child
and whatever it waited for, such as the MXNet sandbox) and both as a ratio to `python -c pass`
under the same interpreter.

    .venv/bin/python benchmarks/startup.py                       # every rule
    .venv/bin/python benchmarks/startup.py --runs 30 -- --ignore MAR204,MAR205,MAR301,MAR302,MAR304
    .venv/bin/python benchmarks/startup.py -- --engine native    # once the native engine lands

Arguments after `--` go to `mar-lint check` (before the archive).
Target (issue 11): median wall <= 0.35 s and peak RSS <= 60 MB with every rule on.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ARCHIVE = ROOT / "tests" / "fixtures" / "digits.model"


# As installed: bytecode caches written once and used after (pip compiles on install).
ENVIRONMENT = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def measure(command: list[str]) -> tuple[float, float, int]:
    """(wall seconds, peak RSS in MB, exit status) of one run, output discarded."""
    started = time.perf_counter()
    child = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENVIRONMENT
    )
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)  # already reaped by wait4
    return wall, usage.ru_maxrss / 1024, child.returncode  # ru_maxrss is in KiB on Linux


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--archive", type=Path, default=DEFAULT_ARCHIVE)
    parser.add_argument("check_args", nargs="*", help="extra `mar-lint check` arguments")
    args = parser.parse_args()
    mar_lint = str(Path(sys.executable).parent / "mar-lint")
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "mar-lint --version": [mar_lint, "--version"],
        "mar-lint check": [mar_lint, "check", *args.check_args, str(args.archive)],
    }
    samples: dict[str, list[tuple[float, float, int]]] = {name: [] for name in commands}
    for command in commands.values():
        measure(command)  # warm-up: writes the bytecode caches, fills the page cache
    for _ in range(args.runs):
        for name, command in commands.items():
            samples[name].append(measure(command))
    base_wall = statistics.median(s[0] for s in samples["python -c pass"])
    base_rss = statistics.median(s[1] for s in samples["python -c pass"])
    print(f"{args.runs} runs each; check args: {' '.join(args.check_args) or '(none)'}")
    print(f"{'command':<22}{'wall (median)':>15}{'x pass':>8}{'peak RSS':>11}{'x pass':>8}  exit")
    for name, runs in samples.items():
        wall = statistics.median(s[0] for s in runs)
        rss = statistics.median(s[1] for s in runs)
        codes = sorted({s[2] for s in runs})
        print(
            f"{name:<22}{wall:>13.3f} s{wall / base_wall:>8.1f}{rss:>8.1f} MB"
            f"{rss / base_rss:>8.1f}  {','.join(map(str, codes))}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
