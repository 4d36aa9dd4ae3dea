"""Benchmark: checking archives that hold a 2 GiB zero-filled member (a compression bomb).

The archives are built at run time in a temporary folder from the committed sample archive
(`tests/fixtures/digits.model`) and deleted afterwards. Each check runs `mar-lint check` as a
child process; the figures are its wall time and the peak RSS of the largest process it
started or was (`getrusage(RUSAGE_CHILDREN)` in a fresh measuring process, so the MXNet
sandbox counts too), the median of three runs. Target: under 200 MB and under 2 s.

With every rule selected, a sound graph is loaded by MXNet in the sandbox, and `import mxnet`
alone takes about 1.5 s: the baseline row (no bomb) shows that share. `--select MAR0` runs
the container rules only, which is where a bomb is caught.

    /work/venv/bin/python benchmarks/bomb.py
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "tests" / "fixtures" / "digits.model"
BOMB_BYTES = 2 << 30
CHUNK = bytes(1 << 20)
TARGET_MB, TARGET_S = 200, 2.0
REPEATS = 3


def build(path: Path, bomb_name: str, replace: str | None = None) -> Path:
    """The sample archive plus a 2 GiB member of zeros (deflated), or with `replace` swapped
    for that member."""
    with zipfile.ZipFile(SAMPLE) as sample, zipfile.ZipFile(path, "w") as out:
        for info in sample.infolist():
            if info.filename != replace:
                out.writestr(info, sample.read(info))
        bomb = zipfile.ZipInfo(bomb_name, date_time=(2018, 5, 24, 0, 0, 0))
        bomb.compress_type = zipfile.ZIP_DEFLATED
        with out.open(bomb, "w", force_zip64=True) as member:
            for _ in range(BOMB_BYTES // len(CHUNK)):
                member.write(CHUNK)
    return path


def measure(args: list[str]) -> dict[str, float]:
    """Run in a fresh process: time one `mar-lint check` and read the children's peak RSS."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "mar_lint", "check", "--format", "json", *args],
        capture_output=True,
        check=False,
    )
    seconds = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
    codes = sorted({f["code"] for a in json.loads(done.stdout)["archives"] for f in a["findings"]})
    return {"seconds": seconds, "peak_mb": peak_kib / 1024, "exit": done.returncode, "codes": codes}


def run_measure(args: list[str]) -> dict[str, float]:
    """The median run of REPEATS, each measured in a fresh process."""
    runs = [
        json.loads(
            subprocess.run(
                [sys.executable, __file__, "--measure", *args], capture_output=True, check=True
            ).stdout
        )
        for _ in range(REPEATS)
    ]
    return sorted(runs, key=lambda run: run["seconds"])[REPEATS // 2]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        asset = build(folder / "bomb-asset.model", "zeros.bin")
        weights = build(folder / "bomb-params.model", "digits-0000.params", "digits-0000.params")
        print(f"built 2 archives in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        cases = [
            ("sample archive, no bomb (baseline)", [str(SAMPLE)]),
            ("+ 2 GiB zero member (zeros.bin)", [str(asset)]),
            ("2 GiB zero member as the .params", [str(weights)]),
            ("baseline, --select MAR0", ["--select", "MAR0", str(SAMPLE)]),
            ("+ 2 GiB zero member, --select MAR0", ["--select", "MAR0", str(asset)]),
            ("zero member as .params, --select MAR0", ["--select", "MAR0", str(weights)]),
        ]
        sizes = {asset: asset.stat().st_size, weights: weights.stat().st_size}
        print(f"archive sizes on disk: {', '.join(f'{s:,} B' for s in sizes.values())}")
        header = f"| {'case':<40} | {'wall s':>6} | {'peak RSS MB':>11} | exit | findings |"
        print(header)
        print("|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|")
        worst = {"seconds": 0.0, "peak_mb": 0.0}
        for label, args in cases:
            result = run_measure(args)
            worst["peak_mb"] = max(worst["peak_mb"], result["peak_mb"])
            if args[0] == "--select":  # the MXNet import is not the bomb's cost
                worst["seconds"] = max(worst["seconds"], result["seconds"])
            print(
                f"| {label:<40} | {result['seconds']:>6.2f} | {result['peak_mb']:>11.1f} "
                f"| {result['exit']:>4} | {' '.join(result['codes']) or '-'} |"
            )
        verdict = worst["peak_mb"] < TARGET_MB and worst["seconds"] < TARGET_S
        print(
            f"\nworst: {worst['peak_mb']:.1f} MB (every run), {worst['seconds']:.2f} s "
            "(container-rules runs) "
            f"(target < {TARGET_S:g} s, < {TARGET_MB} MB): {'PASS' if verdict else 'FAIL'}"
        )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--measure"]:
        print(json.dumps(measure(sys.argv[2:])))
    else:
        main()
