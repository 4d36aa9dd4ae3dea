"""Is `mar-lint check` of a VGG16-size archive (550 MB of weights) within 1.2 x one streaming
read of it?

Builds gluon vgg16 with random weights (needs mxnet; `--keep DIR` builds in DIR once and
reuses it after) and packs it twice: stored, as `mxnet-model-export` does, and deflated.
Then, for each archive, runs `mar-lint check --format json` (A) and one streaming read of
the archive, every member inflated and CRC-checked and nothing kept (B), in turn, A B A B
..., each in its own child process, and takes the ratio A/B pair by pair: a pair runs under
the same load, so the ratio stays meaningful on a busy machine where the times do not.

`check` is measured as users get it: from a plain (non-editable) install of this checkout,
made in a temporary virtual environment (`pip install -c .ci/constraints.txt .`; an
editable install adds its import finder to every start), run as the `mar-lint` command from
a folder with no configuration file. `--python PY` measures the mar-lint installed beside
another interpreter instead (`--python .venv/bin/python`). The streaming read runs under
the same interpreter. No MXNet is imported in either.

Targets (issue 11): the median A/B ratio <= 1.2; peak RSS <= 250 MB.

Usage: python benchmarks/params_scan.py [--pairs 7] [--keep DIR] [--python PY]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from statistics import median

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests"))

STREAM_READ = """
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as archive:
    for info in archive.infolist():
        with archive.open(info) as member:
            while member.read(1 << 20):
                pass
"""
TARGET_RATIO = 1.2
TARGET_RSS_MB = 250
# As installed: bytecode caches written once and used after (pip compiles on install).
ENVIRONMENT = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def build(workdir: Path) -> tuple[Path, Path]:
    """The stored and deflated archives, built once."""
    paths = (workdir / "vgg16-stored.model", workdir / "vgg16-deflated.model")
    if not all(path.exists() for path in paths):
        # In a child: MXNet and the 550 MB of weights it builds must not inflate this
        # process, whose memory every measured child inherits at fork as its peak RSS.
        subprocess.run([sys.executable, __file__, "--build-into", str(workdir)], check=True)
    return paths


def build_into(workdir: Path) -> None:
    from builders import ArchiveSpec, zoo_model

    spec = ArchiveSpec(zoo_model("vgg16", workdir))
    spec.write(workdir / "vgg16-stored.model", zipfile.ZIP_STORED)
    spec.write(workdir / "vgg16-deflated.model", zipfile.ZIP_DEFLATED)


def plain_install(folder: Path) -> Path:
    """A virtual environment with this checkout installed as users install it."""
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
    python = folder / ("Scripts" if os.name == "nt" else "bin") / "python"
    constraints = ROOT / ".ci" / "constraints.txt"
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "-c", str(constraints), str(ROOT)],
        check=True,
        cwd=folder,
    )
    return python


@dataclass(frozen=True)
class Run:
    wall: float  # seconds
    cpu: float  # user + system seconds of the child and what it waited for
    rss: float  # peak RSS, MB


def measure(command: list[str]) -> Run:
    start = time.perf_counter()
    # From a folder of its own: neither this checkout (on the path of `python -m`) nor its
    # pyproject.toml (a configuration file) is part of what users run.
    child = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, env=ENVIRONMENT, cwd=tempfile.gettempdir()
    )
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):  # mar-lint exits 1 on error findings
        raise SystemExit(f"{command} failed with exit code {code}")
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)  # KiB on Linux


def paired(a: list[str], b: list[str], pairs: int) -> tuple[list[Run], list[Run]]:
    measure(a), measure(b)  # warm-up: page cache and bytecode caches
    runs = [(measure(a), measure(b)) for _ in range(pairs)]
    return [r for r, _ in runs], [r for _, r in runs]


def report(kind: str, size: int, check: list[Run], read: list[Run]) -> str:
    """Print the table rows of one archive and return its verdict line."""
    ratios = [c.wall / r.wall for c, r in zip(check, read)]
    cpu_ratios = [c.cpu / r.cpu for c, r in zip(check, read)]
    label = f"{kind}, {size / 1e6:,.0f} MB"
    for name, runs in (("`mar-lint check`", check), ("streaming read", read)):
        print(
            f"| {label} | {name} | {median([r.wall for r in runs]):.3f} "
            f"| {median([r.cpu for r in runs]):.3f} | {max(r.rss for r in runs):,.0f} |"
        )
    ratio, rss = median(ratios), max(r.rss for r in check)
    over = f", {ratio / TARGET_RATIO - 1:.0%} over" if ratio > TARGET_RATIO else ""
    return (
        f"{kind}: check/read wall {ratio:.2f} (pairs {min(ratios):.2f}-{max(ratios):.2f}; "
        f"cpu {median(cpu_ratios):.2f}) vs <= {TARGET_RATIO}: "
        f"{'ok' if ratio <= TARGET_RATIO else 'MISSED'}{over}; peak RSS {rss:,.0f} MB vs "
        f"<= {TARGET_RSS_MB} MB: {'ok' if rss <= TARGET_RSS_MB else 'MISSED'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=7, help="A/B pairs per archive")
    parser.add_argument("--keep", type=Path, help="build the archives in this folder, reuse them")
    parser.add_argument("--python", help="measure the mar-lint installed for this interpreter")
    parser.add_argument("--build-into", type=Path, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.build_into:
        build_into(options.build_into)
        return
    with tempfile.TemporaryDirectory(prefix="params-scan-") as scratch:
        workdir = (options.keep or Path(scratch)).resolve()
        workdir.mkdir(parents=True, exist_ok=True)
        print(f"archives in {workdir} ...", file=sys.stderr)
        archives = build(workdir)
        if options.python:
            # Absolute: the commands run from another folder.
            python = os.path.abspath(shutil.which(options.python) or options.python)
            install = f"the mar-lint of {options.python}"
        else:
            print("installing this checkout in a fresh virtual environment ...", file=sys.stderr)
            python, install = str(plain_install(Path(scratch) / "venv")), "a plain install"
        script = str(Path(python).with_name("mar-lint"))  # the command users run
        print(f"{install}; {options.pairs} pairs; load average {os.getloadavg()}")
        print()
        print("| archive | command | wall (s, median) | cpu (s, median) | peak RSS (MB) |")
        print("|---|---|---:|---:|---:|")
        verdicts = []
        for archive in archives:
            kind = "stored" if "stored" in archive.name else "deflated"
            check = [script, "check", "--format", "json", str(archive)]
            read = [python, "-c", STREAM_READ, str(archive)]
            checks, reads = paired(check, read, options.pairs)
            verdicts.append(report(kind, archive.stat().st_size, checks, reads))
        print()
        print(*verdicts, sep="\n")
        print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
