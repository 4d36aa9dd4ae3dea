"""How little does `mar-lint check` move to check a remote archive, and how fast is a bucket?

HTTP: builds the VGG16-size archives of `params_scan.py` (gluon vgg16, random weights, stored
and deflated; nothing is written to the repository), serves them from a real HTTP server on
127.0.0.1 that honours `Range` (`tests/servers.py`, which counts every body byte it sends),
and measures, each in its own process: the remote check, the remote check with
`--verify-crc`, and `curl -o` of the same file; the remote findings are compared with a local
check's (less MAR910, the note on what a remote check did not verify).

S3: starts moto's S3 server (`moto_server`) on 127.0.0.1 in a child process, uploads
`--count` copies of an archive (`--bucket-archive`, default the committed sample
`tests/fixtures/digits.model`) and checks the whole prefix in one call with `--jobs 1` and
`--jobs 8`, with every rule and with the rules that need no MXNet.

Wall times are medians of `--repeat` runs. Usage:

    python benchmarks/remote.py [--repeat 3] [--keep DIR] [--part http|s3|both]
                                [--count 200] [--bucket-archive PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE))

MAR_LINT = [sys.executable, "-m", "mar_lint"]
SAMPLE = HERE.parent / "tests" / "fixtures" / "digits.model"
ENV = dict(
    os.environ,
    NO_PROXY="127.0.0.1,localhost",
    AWS_ACCESS_KEY_ID="benchmark",
    AWS_SECRET_ACCESS_KEY="benchmark",
    AWS_DEFAULT_REGION="us-east-1",
)


def run(command: list[str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=ENV)
    wall = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"{command} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return wall, done


def findings(output: str) -> list[tuple[str, str, str]]:
    document = json.loads(output)
    return sorted(
        (f["code"], f["message"], f.get("member") or "")
        for archive in document["archives"]
        for f in archive["findings"]
        if f["code"] != "MAR910"
    )


def http_part(workdir: Path, repeat: int) -> None:
    from params_scan import build
    from servers import file_server

    stored, deflated = build(workdir)
    print("| archive | measurement | bytes moved | wall (s) | findings = local |")
    print("|---|---|---:|---:|---|")
    with file_server(workdir) as server:
        for archive in (stored, deflated):
            kind = "stored" if archive is stored else "deflated"
            label = f"{kind}, {archive.stat().st_size / 1e6:,.0f} MB"
            url = f"{server.url}/{archive.name}"
            _, local = run([*MAR_LINT, "check", "--format", "json", str(archive)])
            cases = [
                ("`mar-lint check URL`", [*MAR_LINT, "check", "--format", "json", url]),
                (
                    "`mar-lint check --verify-crc URL`",
                    [*MAR_LINT, "check", "--format", "json", "--verify-crc"]
                    + ["--max-transfer", "2GiB", url],
                ),
                ("`curl -o` of the file", ["curl", "-s", "-o", os.devnull, url]),
            ]
            for name, command in cases:
                walls, moved, same = [], [], "-"
                for _ in range(repeat):
                    before = server.body_bytes
                    wall, done = run(command)
                    walls.append(wall)
                    moved.append(server.body_bytes - before)
                    if command[0] != "curl":
                        same = "yes" if findings(done.stdout) == findings(local.stdout) else "NO"
                print(
                    f"| {label} | {name} | {max(moved):,} | {statistics.median(walls):.2f} "
                    f"| {same} |"
                )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def s3_part(archive: Path, repeat: int, count: int) -> None:
    import boto3

    port = free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    ENV["AWS_ENDPOINT_URL"] = endpoint
    try:
        client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id="benchmark",
            aws_secret_access_key="benchmark",
            region_name="us-east-1",
        )
        for _ in range(100):
            try:
                client.create_bucket(Bucket="models")
                break
            except Exception:  # noqa: BLE001 - the server is still starting
                time.sleep(0.1)
        body = archive.read_bytes()
        for i in range(count):
            client.put_object(Bucket="models", Key=f"zoo/m{i:03d}.model", Body=body)
        print(f"\n{count} archives of {len(body):,} bytes on moto S3; load {os.getloadavg()}")
        print("| rules | `--jobs 1` (s) | `--jobs 8` (s) | speed-up | archives, exit |")
        print("|---|---:|---:|---:|---|")
        no_mxnet = ["--select", "MAR0,MAR1,MAR4,MAR6,MAR9"]
        for rules, select in (("all", []), (f"`{' '.join(no_mxnet)}`", no_mxnet)):
            walls = {}
            for jobs in (1, 8):
                command = [*MAR_LINT, "check", "--format", "json", "--jobs", str(jobs), *select]
                times = []
                for _ in range(repeat):
                    wall, done = run([*command, "s3://models/zoo/"])
                    times.append(wall)
                walls[jobs] = statistics.median(times)
                checked = len(json.loads(done.stdout)["archives"])
            print(
                f"| {rules} | {walls[1]:.2f} | {walls[8]:.2f} | {walls[1] / walls[8]:.2f} x "
                f"| {checked}, {done.returncode} |"
            )
    finally:
        server.terminate()
        server.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--keep", type=Path, help="build in this folder and keep it")
    parser.add_argument("--part", choices=("http", "s3", "both"), default="both")
    parser.add_argument("--bucket-archive", type=Path, default=SAMPLE)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="remote-bench-") as scratch:
        workdir = options.keep or Path(scratch)
        workdir.mkdir(parents=True, exist_ok=True)
        print(f"load average {os.getloadavg()}; building in {workdir}", file=sys.stderr)
        if options.part in ("http", "both"):
            http_part(workdir, options.repeat)
        if options.part in ("s3", "both"):
            s3_part(options.bucket_archive, options.repeat, options.count)
        print(f"\nload average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
