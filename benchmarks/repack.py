"""Benchmark: `mar-lint repack` of a VGG16-size archive (about 550 MB of weights) with one
signature fix (the batch dimension 1 -> 0), against `cp` of the same file.

The archive is built at run time in a temporary folder and deleted afterwards: gluon's
vgg16 with random weights (no download), exported by MXNet, zipped stored and deflated.
Rows, each the median of three runs, each started after `sync` with the source in the page
cache (neither `cp` nor repack calls fsync):
- `cp`: copying the archive;
- `write`: the repack itself (`plan_fixes` + `write_archive`: unchanged members copied as
  compressed bytes, the signature rewritten), in process;
- `mar-lint check`: checking the input alone (every member read once, its CRC verified;
  MXNet loads the graph in the sandbox), for scale;
- `mar-lint repack`: the whole command as a child process: the check of the input, the
  write, and the check of the result (the members copied unchanged are not read again, and
  the graph analysis is reused), so about `check` + `write`.
Target: `write` <= 1.5 x `cp`. Afterwards every member but signature.json is compared with
the source: the same CRC-32 and the same compressed bytes (SHA-256 of the raw data).

    /work/venv/bin/python benchmarks/repack.py
"""

from __future__ import annotations

import hashlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from builders import ArchiveSpec, zoo_model  # noqa: E402

from mar_lint.config import Settings  # noqa: E402
from mar_lint.fixer import plan_fixes, write_archive  # noqa: E402
from mar_lint.model import ModelView  # noqa: E402
from mar_lint.registry import load_registry  # noqa: E402
from mar_lint.runner import Checker  # noqa: E402
from mar_lint.zip_layout import data_offset  # noqa: E402

REPEATS = 3
TARGET = 1.5
MAR_LINT = Path(sys.executable).with_name("mar-lint")


def timed(action) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def median_time(action, cleanup) -> float:
    times = []
    for _ in range(REPEATS):
        cleanup()
        os.sync()  # each run starts with no dirty pages left by the one before
        times.append(timed(action))
    cleanup()
    return statistics.median(times)


def raw_digests(path: Path) -> dict[str, tuple[int, int, str]]:
    """name -> (CRC-32, compressed size, SHA-256 of the compressed bytes at the data offset)."""
    found = {}
    with zipfile.ZipFile(path) as archive, open(path, "rb") as handle:
        for info in archive.infolist():
            handle.seek(info.header_offset)
            handle.seek(data_offset(handle.read(30), info.header_offset))
            digest, left = hashlib.sha256(), info.compress_size
            while left:
                chunk = handle.read(min(1 << 20, left))
                digest.update(chunk)
                left -= len(chunk)
            found[info.filename] = (info.CRC, info.compress_size, digest.hexdigest())
    return found


def write_step(source: Path, target: Path, checker: Checker) -> float:
    """The repack proper, timed on a view whose findings the check produced beforehand."""
    with ModelView(source, checker.settings, checker.sandbox) as view:
        report = checker.check(source, open_view=view)
        plan = plan_fixes(view, report.findings, unsafe=False)
        assert [f.code for f in plan.applied] == ["MAR203"], plan.applied
        return median_time(
            lambda: write_archive(view, plan, target), lambda: target.unlink(missing_ok=True)
        )


def measure(label: str, source: Path, checker: Checker) -> tuple:
    target = source.with_name(f"fixed-{label}.model")
    copy = source.with_name("copy.model")
    repack = [str(MAR_LINT), "repack", str(source), "-o", str(target)]
    cp = median_time(
        lambda: subprocess.run(["cp", str(source), str(copy)], check=True),
        lambda: copy.unlink(missing_ok=True),
    )
    write = write_step(source, target, checker)
    check = median_time(
        lambda: subprocess.run([str(MAR_LINT), "check", str(source)], capture_output=True),
        lambda: None,
    )
    command = median_time(
        lambda: subprocess.run(repack, capture_output=True),
        lambda: target.unlink(missing_ok=True),
    )
    assert subprocess.run(repack, capture_output=True).returncode == 1
    before, after = raw_digests(source), raw_digests(target)
    identical = all(before[n] == after[n] for n in before if n != "signature.json")
    target.unlink()
    return label, source.stat().st_size, cp, write, check, command, identical


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as folder, Checker(load_registry(), Settings()) as checker:
        work = Path(folder)
        print("exporting vgg16 with random weights ...", file=sys.stderr)
        model = zoo_model("vgg16", work)
        spec = ArchiveSpec(
            model, signature={"inputs": [{"data_name": "data", "data_shape": [1, 3, 224, 224]}]}
        )
        for label, method in (("stored", zipfile.ZIP_STORED), ("deflated", zipfile.ZIP_DEFLATED)):
            print(f"building the {label} archive ...", file=sys.stderr)
            source = spec.write(work / f"vgg16-{label}.model", method)
            rows.append(measure(label, source, checker))
            source.unlink()
    load = os.getloadavg()
    print(f"\nload average: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} CPUs")
    print(
        f"{'archive':<9} {'size MB':>8} {'cp s':>6} {'write s':>8} {'write/cp':>9} "
        f"{'check s':>8} {'repack s':>9}  unchanged members identical"
    )
    for label, size, cp, write, check, command, identical in rows:
        verdict = "ok" if write <= TARGET * cp else f"over {TARGET}x"
        print(
            f"{label:<9} {size / 1e6:>8.0f} {cp:>6.2f} {write:>8.2f} {write / cp:>8.2f}x "
            f"{check:>8.2f} {command:>9.2f}  {'yes' if identical else 'NO'} ({verdict})"
        )


if __name__ == "__main__":
    main()
