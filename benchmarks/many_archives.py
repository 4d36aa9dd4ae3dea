"""Benchmark: many small archives checked in one call versus one call per archive.

200 copies of the committed sample archive (`tests/fixtures/digits.model`, every rule
selected, so MXNet loads each graph in the sandbox) are checked by the installed `mar-lint`:
once in a single call with `--jobs 1` and `--jobs 2`, and once as 200 separate calls, the
way a naive CI loop or a `require_serial: false` hook runs it. One call pays the start-up
(Python, the rule registry, `import mxnet` in the sandbox) once per process instead of once
per archive. Wall time, median of the repeats for the single calls.

    /work/venv/bin/python benchmarks/many_archives.py [--count 200] [--repeats 3]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "tests" / "fixtures" / "digits.model"
MAR_LINT = Path(sys.executable).with_name("mar-lint")


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    run = subprocess.run(command, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if run.returncode not in (0, 1):  # findings are fine; usage errors and crashes are not
        raise SystemExit(f"{' '.join(command[:4])} ... failed ({run.returncode}):\n{run.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        archives = [Path(folder, f"model-{i:03d}.model") for i in range(args.count)]
        for archive in archives:
            shutil.copyfile(SAMPLE, archive)
        check = [str(MAR_LINT), "check", "--format", "json"]
        rows = []
        for jobs in (1, 2):
            runs = [timed([*check, "--jobs", str(jobs), folder]) for _ in range(args.repeats)]
            rows.append((f"one call, --jobs {jobs}", statistics.median(runs)))
        separate = sum(timed([*check, str(archive)]) for archive in archives)
        rows.append((f"{args.count} separate calls", separate))
    print(f"{args.count} archives ({SAMPLE.name}, {SAMPLE.stat().st_size} bytes each)\n")
    print(f"{'how':<24} {'seconds':>8} {'per archive':>12} {'separate / this':>16}")
    for how, seconds in rows:
        print(
            f"{how:<24} {seconds:>8.1f} {seconds / args.count * 1000:>10.0f}ms"
            f" {separate / seconds:>15.1f}x"
        )


if __name__ == "__main__":
    main()
