"""How fast and how lean is `mar-lint check` on a VGG16-size archive (about 550 MB of weights)?

Builds gluon vgg16 with random weights in a temporary folder (nothing is written to the
repository), packs it twice (stored, as `mxnet-model-export` does, and deflated), then runs
each measurement in its own child process and reads that child's peak RSS from `wait4`:

- `mar-lint check` (native shape engine, the default: no MXNet import anywhere; a child's
  rusage covers the children it reaped),
- `mar-lint check --engine mxnet` (MXNet in its sandbox), for comparison,
- one streaming read of the archive (every member inflated and CRC-checked, nothing kept),
- `import mxnet`,
- `mx.nd.load` of the same params file.

Targets: peak RSS <= 250 MB; wall time <= 1.2 x one streaming read.

Usage: python benchmarks/params_scan.py [--repeat 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

STREAM_READ = """
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as archive:
    for info in archive.infolist():
        with archive.open(info) as member:
            while member.read(1 << 20):
                pass
"""
IMPORT_MXNET = "import mxnet"
ND_LOAD = "import sys, mxnet; mxnet.nd.load(sys.argv[1])"


def build(workdir: Path) -> tuple[Path, Path, Path]:
    """The stored and deflated archives, and the params file on its own, built once."""
    names = ("vgg16-stored.model", "vgg16-deflated.model", "vgg16-0000.params")
    paths = tuple(workdir / name for name in names)
    if not all(path.exists() for path in paths):
        # In a child: MXNet and the 550 MB of weights it builds must not inflate this
        # process, whose memory every measured child inherits at fork as its peak RSS.
        subprocess.run([sys.executable, __file__, "--build-into", str(workdir)], check=True)
    return paths  # type: ignore[return-value]


def build_into(workdir: Path) -> None:
    from builders import ArchiveSpec, zoo_model

    exported = zoo_model("vgg16", workdir)
    spec = ArchiveSpec(exported)
    spec.write(workdir / "vgg16-stored.model", zipfile.ZIP_STORED)
    spec.write(workdir / "vgg16-deflated.model", zipfile.ZIP_DEFLATED)


def measure(command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one child process and the children it reaped."""
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode not in (0, 1):  # mar-lint exits 1 on error findings
        raise SystemExit(f"{command} failed with exit code {child.returncode}")
    return wall, usage.ru_maxrss / 1024  # Linux reports KiB


def repeated(command: list[str], repeat: int) -> tuple[float, float]:
    runs = [measure(command) for _ in range(repeat)]
    return statistics.median(w for w, _ in runs), max(r for _, r in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (median)")
    parser.add_argument("--keep", type=Path, help="build in this folder and keep it")
    parser.add_argument("--build-into", type=Path, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.build_into:
        build_into(options.build_into)
        return
    with tempfile.TemporaryDirectory(prefix="params-scan-") as scratch:
        workdir = options.keep or Path(scratch)
        workdir.mkdir(parents=True, exist_ok=True)
        print(f"building vgg16 archives in {workdir} ...", file=sys.stderr)
        stored, deflated, params = build(workdir)
        python = sys.executable
        mar_lint = [python, "-m", "mar_lint", "check", "--format", "json"]
        import_time, import_rss = repeated([python, "-c", IMPORT_MXNET], options.repeat)
        load_time, load_rss = repeated([python, "-c", ND_LOAD, str(params)], options.repeat)
        print(f"params: {params.stat().st_size / 1e6:,.0f} MB; load average {os.getloadavg()}")
        print()
        print("| archive | measurement | wall (s) | peak RSS (MB) |")
        print("|---|---|---:|---:|")
        verdicts = []
        for archive in (stored, deflated):
            kind = "stored" if archive is stored else "deflated"
            size = f"{kind}, {archive.stat().st_size / 1e6:,.0f} MB"
            read_time, read_rss = repeated(
                [python, "-c", STREAM_READ, str(archive)], options.repeat
            )
            check_time, check_rss = repeated([*mar_lint, str(archive)], options.repeat)
            mxnet_time, mxnet_rss = repeated(
                [*mar_lint, "--engine", "mxnet", str(archive)], options.repeat
            )
            budget = 1.2 * read_time
            rows = [
                ("`mar-lint check`", check_time, check_rss),
                ("`mar-lint check --engine mxnet`", mxnet_time, mxnet_rss),
                ("one streaming read of the archive", read_time, read_rss),
                ("`import mxnet`", import_time, import_rss),
                ("`mx.nd.load` of the params", load_time, load_rss),
            ]
            for label, wall, rss in rows:
                print(f"| {size} | {label} | {wall:.2f} | {rss:,.0f} |")
            verdicts.append(
                f"{kind}: wall {check_time:.2f} s vs budget {budget:.2f} s "
                f"({'ok' if check_time <= budget else 'MISSED'}); peak RSS {check_rss:,.0f} MB "
                f"vs 250 MB ({'ok' if check_rss <= 250 else 'MISSED'})"
            )
        print()
        print(*verdicts, sep="\n")
        print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
