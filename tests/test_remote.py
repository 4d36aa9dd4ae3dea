"""Remote archives (`https://`, `http://`, `s3://`) checked in place, against real servers on
127.0.0.1: an HTTP file server that honours `Range` (and ones that ignore it, refuse, hang or
cut responses short) and moto's S3 endpoint. No traffic leaves the machine."""

from __future__ import annotations

import json
import os
import pty
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from builders import ArchiveSpec
from conftest import Result, run_cli
from servers import file_server, s3_server

pytest.importorskip("fsspec", reason="the remote extra is not installed")
pytest.importorskip("aiohttp", reason="the remote extra is not installed")

FIXTURES = Path(__file__).parent / "fixtures"
# Rules that need no MXNet: quick runs for the failure modes.
NO_GRAPH = ("--select", "MAR0,MAR1,MAR4,MAR6,MAR91")


@pytest.fixture(autouse=True)
def local_only(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Dummy credentials, no user configuration, and no proxy between us and 127.0.0.1."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing-secret-never-shown")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, resnet_model) -> Path:
    """A folder to serve: the two sample archives and a resnet18 archive (45 MB, stored)."""
    root = tmp_path_factory.mktemp("served")
    for name in ("digits.model", "digits-broken.model"):
        shutil.copy(FIXTURES / name, root / name)
    ArchiveSpec(resnet_model).write(root / "resnet.model")
    return root


def findings(result: Result, drop: tuple[str, ...] = ("MAR910",)) -> list[tuple[str, ...]]:
    """What the user is told, without where it came from."""
    return sorted(
        (f["code"], f["severity"], f["message"], f.get("member") or "")
        for f in result.findings
        if f["code"] not in drop
    )


def check_served(
    root: Path, *args: str, mode: str = "range", archive: str = "resnet.model"
) -> tuple[Result, int]:
    """`check --format json ARGS URL` of `archive` served from `root`, and the body bytes the
    server sent."""
    with file_server(root, mode) as server:
        result = run_cli("check", "--format", "json", *args, f"{server.url}/{archive}")
        return result, server.body_bytes


# -- reading little, and the same findings ---------------------------------------------------


def test_https_check_moves_little_and_finds_what_a_local_check_finds(served: Path) -> None:
    local = run_cli("check", "--format", "json", str(served / "resnet.model"))
    remote, moved = check_served(served)
    assert remote.exit_code == local.exit_code, remote.output
    assert findings(remote) == findings(local)
    assert moved <= 1 << 20, (
        f"moved {moved:,} bytes of {(served / 'resnet.model').stat().st_size:,}"
    )
    path = remote.document["archives"][0]["path"]
    assert path.startswith("http://127.0.0.1:") and path.endswith("/resnet.model")
    [note] = remote.only("MAR910")
    assert note["severity"] == "info"
    assert "CRC-32" in note["message"] and "header to header" in note["message"]


def test_verify_crc_moves_the_archive_once(served: Path) -> None:
    size = (served / "resnet.model").stat().st_size
    result, moved = check_served(served, "--verify-crc", "--max-transfer", "1GiB", *NO_GRAPH)
    assert result.exit_code == 0, result.output
    assert not result.only("MAR910")  # everything was verified: nothing to say
    assert size <= moved <= size + (128 << 10), f"moved {moved:,} for {size:,}"


def test_a_corrupt_member_is_found_remotely_with_verify_crc(tmp_path: Path) -> None:
    data = bytearray((FIXTURES / "digits.model").read_bytes())
    at = data.index(b"class_")  # inside synset.txt, a stored member no rule reads whole
    data[at] ^= 0xFF
    (tmp_path / "damaged.model").write_bytes(data)
    with file_server(tmp_path) as server:
        quick = run_cli("check", "--format", "json", *NO_GRAPH, f"{server.url}/damaged.model")
        full = run_cli(
            "check", "--format", "json", "--verify-crc", *NO_GRAPH, f"{server.url}/damaged.model"
        )
    local = run_cli("check", "--format", "json", *NO_GRAPH, str(tmp_path / "damaged.model"))
    assert "MAR002" in local.codes and "MAR002" in full.codes
    assert findings(full) == findings(local)
    # Without --verify-crc the damage may go unseen, and the run says what was not verified.
    assert quick.only("MAR910") or "MAR002" in quick.codes


# -- failure modes: one clear finding or exit 2, never a traceback or a hang ------------------


@pytest.mark.parametrize("mode, said", [("404", "HTTP 404"), ("403", "HTTP 403")])
def test_refused_target_is_a_usage_error_with_the_reason(served: Path, mode: str, said: str):
    with file_server(served, mode) as server:
        result = run_cli("check", *NO_GRAPH, f"{server.url}/digits.model")
    assert result.exit_code == 2
    assert said in result.stderr and "Traceback" not in result.stderr


def test_unreachable_host_is_a_usage_error(served: Path) -> None:
    with file_server(served) as server:
        url = f"{server.url}/digits.model"
    result = run_cli("check", *NO_GRAPH, "--timeout", "2", url)  # the server is gone
    assert result.exit_code == 2
    assert "cannot reach" in result.stderr and "cannot connect" in result.stderr


def test_a_server_that_never_answers_times_out(served: Path) -> None:
    with file_server(served, "hang") as server:
        started = time.monotonic()
        result = run_cli("check", *NO_GRAPH, "--timeout", "1", f"{server.url}/digits.model")
        took = time.monotonic() - started
    assert result.exit_code == 2
    assert "no answer within 1 s" in result.stderr
    assert took < 30


def test_a_server_that_stalls_mid_body_is_a_finding(served: Path) -> None:
    with file_server(served, "hang-body") as server:
        started = time.monotonic()
        result = run_cli(
            "check", "--format", "json", *NO_GRAPH, "--timeout", "1", f"{server.url}/resnet.model"
        )
        took = time.monotonic() - started
    assert result.exit_code == 1
    [finding] = result.only("MAR001") + result.only("MAR911")
    assert "no answer within 1 s" in finding["message"]
    assert took < 30


def test_a_truncated_response_is_a_finding(served: Path) -> None:
    result, _ = check_served(served, *NO_GRAPH, mode="truncate")
    assert result.exit_code == 1
    [finding] = result.only("MAR001") + result.only("MAR911")
    assert "truncated" in finding["message"]


def test_a_server_without_ranges_is_read_by_one_streamed_download(served: Path) -> None:
    local = run_cli("check", "--format", "json", *NO_GRAPH, str(served / "resnet.model"))
    size = (served / "resnet.model").stat().st_size
    result, moved = check_served(served, *NO_GRAPH, mode="no-range")
    assert result.exit_code == local.exit_code
    assert findings(result) == findings(local)
    [note] = result.only("MAR910")
    assert "ignores range requests" in note["message"] and "downloaded" in note["message"]
    assert moved < 2 * size  # the probe's few bytes, then the archive once


def test_a_server_without_ranges_stays_under_the_transfer_limit(served: Path) -> None:
    result, moved = check_served(served, *NO_GRAPH, "--max-transfer", "1MiB", mode="no-range")
    assert result.exit_code == 1
    [finding] = result.only("MAR001")
    assert "ignores range requests" in finding["message"] and "--max-transfer" in finding["message"]
    # The server wrote into the socket what it could before the client hung up.
    assert moved < 16 << 20


def test_the_transfer_limit_is_a_finding_not_a_crash(served: Path) -> None:
    result, moved = check_served(served, "--verify-crc", "--max-transfer", "256KiB", *NO_GRAPH)
    assert result.exit_code == 1
    [finding] = result.only("MAR911")
    assert (
        finding["severity"] == "error" and "--max-transfer limit of 256.0 KiB" in finding["message"]
    )
    assert moved <= 256 << 10
    assert "MAR901" not in result.codes


def test_the_limit_fails_the_run_even_when_other_rules_were_selected(served: Path) -> None:
    result, _ = check_served(
        served, "--select", "MAR002", "--verify-crc", "--max-transfer", "256KiB"
    )
    assert result.exit_code == 1 and result.only("MAR911")


def test_credentials_and_signatures_are_never_shown(served: Path) -> None:
    with file_server(served) as server:
        host = server.url.split("//", 1)[1]
        url = f"http://alice:hunter2@{host}/digits.model?X-Amz-Signature=deadbeef"
        ok = run_cli("check", "--format", "sarif", *NO_GRAPH, url)
        missing = run_cli("check", *NO_GRAPH, url.replace("digits", "absent"))
    for shown in (ok.output, ok.stderr, missing.output, missing.stderr):
        assert "hunter2" not in shown and "deadbeef" not in shown and "alice" not in shown
    sarif = json.loads(ok.output)
    uri = sarif["runs"][0]["artifacts"][0]["location"]["uri"]
    assert uri == f"http://{host}/digits.model?%3Credacted%3E" or uri.startswith(f"http://{host}/")
    assert missing.exit_code == 2 and "HTTP 404" in missing.stderr


def test_a_web_page_served_as_the_archive_is_named(tmp_path: Path) -> None:
    (tmp_path / "login.model").write_text("<!DOCTYPE html><html><body>Sign in</body></html>\n")
    with file_server(tmp_path) as server:
        result = run_cli("check", "--format", "json", *NO_GRAPH, f"{server.url}/login.model")
    assert result.exit_code == 1
    [finding] = result.only("MAR001")
    assert "HTML" in finding["message"]


# -- explore and repack ------------------------------------------------------------------------


def test_explore_reads_a_remote_archive(served: Path) -> None:
    with file_server(served) as server:
        result = run_cli("explore", "--format", "json", f"{server.url}/digits.model")
        member = run_cli("explore", "--member", "MANIFEST.json", f"{server.url}/digits.model")
    assert result.exit_code == 0, result.output
    assert result.document["path"] == f"{server.url}/digits.model"
    names = {m["name"] for m in result.document["members"]}
    assert "MANIFEST.json" in names
    assert member.exit_code == 0 and "Model-Archive-Version" in member.output


def test_repack_writes_a_local_copy_of_a_remote_archive(served: Path, tmp_path: Path) -> None:
    out = tmp_path / "fixed.model"
    with file_server(served) as server:
        url = f"{server.url}/digits-broken.model"
        result = run_cli("repack", url, "-o", str(out))
        in_place = run_cli("repack", url, "--in-place")
    assert result.exit_code == 1, result.output  # something was fixed
    assert out.is_file()
    fixed = run_cli("check", "--format", "json", str(out))
    assert "MAR203" not in fixed.codes  # the safe fix (batch dimension) was applied
    assert in_place.exit_code == 2 and "remote" in in_place.stderr


# -- S3 ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bucket() -> str:
    """moto's S3 on 127.0.0.1 with a bucket of 200 archives (every tenth one broken)."""
    pytest.importorskip("s3fs", reason="the remote extra is not installed")
    pytest.importorskip("moto", reason="moto[server] is not installed")
    saved = dict(os.environ)
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing-secret-never-shown",
        AWS_DEFAULT_REGION="us-east-1",
    )
    try:
        with s3_server() as endpoint:
            import boto3

            client = boto3.client("s3", endpoint_url=endpoint)
            client.create_bucket(Bucket="models")
            good = (FIXTURES / "digits.model").read_bytes()
            broken = (FIXTURES / "digits-broken.model").read_bytes()
            for i in range(200):
                body = broken if i % 10 == 0 else good
                client.put_object(Bucket="models", Key=f"zoo/m{i:03d}.model", Body=body)
            client.put_object(Bucket="models", Key="zoo/README.txt", Body=b"not an archive")
            client.put_object(Bucket="models", Key="one/digits.model", Body=good)
            for i in range(3):
                client.put_object(Bucket="models", Key=f"few/m{i}.model", Body=good)
            yield endpoint
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture
def s3_env(bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", bucket)


def test_a_bucket_of_200_archives_in_one_call(s3_env: None) -> None:
    result = run_cli("check", "--format", "json", "--jobs", "8", *NO_GRAPH, "s3://models/zoo/")
    assert result.exit_code == 1  # the broken ones fail the run
    archives = result.document["archives"]
    assert [a["path"] for a in archives] == [f"s3://models/zoo/m{i:03d}.model" for i in range(200)]
    failing = [a["path"] for a in archives if any(f["code"] == "MAR102" for f in a["findings"])]
    assert failing == [f"s3://models/zoo/m{i:03d}.model" for i in range(0, 200, 10)]
    assert "MAR911" not in result.codes and "MAR901" not in result.codes


def test_an_s3_key_checks_like_the_local_file(s3_env: None) -> None:
    remote = run_cli("check", "--format", "json", "s3://models/one/digits.model")
    local = run_cli("check", "--format", "json", str(FIXTURES / "digits.model"))
    assert remote.exit_code == local.exit_code == 0
    assert findings(remote) == findings(local)


def test_sarif_names_the_s3_url(s3_env: None) -> None:
    result = run_cli("check", "--format", "sarif", *NO_GRAPH, "s3://models/one/")
    sarif = json.loads(result.output)
    uris = [a["location"]["uri"] for a in sarif["runs"][0]["artifacts"]]
    assert uris == ["s3://models/one/digits.model"]


@pytest.mark.parametrize(
    "target, said",
    [
        ("s3://models/zoo/absent.model", "not found"),
        ("s3://no-such-bucket/", "NoSuchBucket"),
        ("s3://models/empty-prefix/", "no *.model or *.mar archives"),
    ],
)
def test_s3_targets_that_name_nothing_are_usage_errors(s3_env: None, target: str, said: str):
    result = run_cli("check", *NO_GRAPH, target)
    assert result.exit_code == 2
    assert said in result.stderr and "testing-secret" not in result.stderr


def test_a_listing_shows_progress_on_a_terminal_only(s3_env: None) -> None:
    command = [sys.executable, "-m", "mar_lint", "check", "--format", "json", *NO_GRAPH]
    terminal, child_end = pty.openpty()
    shown: list[bytes] = []

    def drain() -> None:  # keep reading, so the child never blocks on a full terminal
        while True:
            try:
                chunk = os.read(terminal, 1 << 16)
            except OSError:
                return
            if not chunk:
                return
            shown.append(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    run = subprocess.run(
        [*command, "s3://models/few/"], stdout=subprocess.PIPE, stderr=child_end, timeout=120
    )
    os.close(child_end)
    reader.join(5)
    os.close(terminal)
    piped = subprocess.run([*command, "s3://models/few/"], capture_output=True, timeout=120)
    assert run.returncode == piped.returncode == 0
    assert len(json.loads(run.stdout)["archives"]) == 3  # stdout stays one JSON document
    assert b"checking" in b"".join(shown) and b"3/3" in b"".join(shown)
    assert b"checking" not in piped.stderr
