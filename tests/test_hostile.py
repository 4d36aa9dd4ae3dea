"""Hostile archives: each attack is reported with its code, never a traceback or a hang.

MAR002 member-corrupt, MAR004 unsupported-member, MAR005 duplicate-member, MAR006
compression-bomb, MAR008 junk-member, MAR009 limits-exceeded, the JSON limits, and MXNet and
the service file kept at arm's length. Broken archives are built from real exports, byte by
byte where zipfile would refuse to write them.
"""

from __future__ import annotations

import json
import os
import stat
import struct
import zipfile
from collections import Counter
from pathlib import Path

import pytest
from builders import ArchiveSpec, require_mxnet, write_zip
from conftest import check
from hostile_zip_cases import central_headers
from mar_lint_rules.container import member_corrupt

from mar_lint.config import Settings
from mar_lint.findings import RemoveMember
from mar_lint.limits import Limits
from mar_lint.model import ModelView
from mar_lint.registry import load_registry
from mar_lint.runner import Checker
from mar_lint.sandbox import Sandbox, SandboxFailure
from mar_lint.zip_records import data_offset

# Test archives hold duplicate names on purpose.
pytestmark = pytest.mark.filterwarnings("ignore:Duplicate name:UserWarning")

# Central directory header field offsets (APPNOTE 4.3.12).
CD_FLAGS, CD_METHOD, CD_EXTERNAL_ATTR = 8, 10, 38


def patch_central(path: Path, index: int, field: int, fmt: str, value: int) -> Path:
    """Overwrite one field of the `index`-th central directory header."""
    data = bytearray(path.read_bytes())
    struct.pack_into(fmt, data, central_headers(bytes(data))[index] + field, value)
    path.write_bytes(bytes(data))
    return path


def special_member(name: str, mode: int, data: bytes | str) -> tuple[zipfile.ZipInfo, bytes | str]:
    info = zipfile.ZipInfo(name, date_time=(2018, 5, 24, 0, 0, 0))
    info.create_system = 3  # Unix: the high 16 bits of external_attr are st_mode
    info.external_attr = mode << 16
    return info, data


def write_members(path: Path, members: list, compression: int = zipfile.ZIP_STORED) -> Path:
    """Like write_zip, but members may come with their own ZipInfo."""
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in members:
            if isinstance(name, zipfile.ZipInfo):
                archive.writestr(name, data)
            else:
                info = zipfile.ZipInfo(name, date_time=(2018, 5, 24, 0, 0, 0))
                info.compress_type = compression
                info.external_attr = 0o644 << 16
                archive.writestr(info, data)
    return path


# -- MAR001 ------------------------------------------------------------------------------------


@pytest.mark.parametrize("keep", [0.01, 0.5, 0.99])
def test_truncated_anywhere_is_an_error(tmp_path, mlp_model, keep):
    whole = ArchiveSpec(mlp_model).write(tmp_path / "whole.model").read_bytes()
    path = tmp_path / "cut.model"
    path.write_bytes(whole[: int(len(whole) * keep)])
    result = check(path)
    [finding] = result.findings
    assert (finding["code"], result.exit_code) == ("MAR001", 1)
    assert "truncated" in finding["message"]


def test_damaged_central_directory_says_damaged(tmp_path, mlp_model):
    path = ArchiveSpec(mlp_model).write(tmp_path / "m.model")
    data = bytearray(path.read_bytes())
    first = central_headers(bytes(data))[0]
    data[first : first + 4] = b"XXXX"
    path.write_bytes(bytes(data))
    [finding] = check(path).findings
    assert finding["code"] == "MAR001" and "damaged" in finding["message"]


# -- MAR002 ------------------------------------------------------------------------------------


def test_flipped_byte_in_stored_weights_is_a_crc_mismatch(tmp_path, mlp_model):
    path = ArchiveSpec(mlp_model).write(tmp_path / "m.model")
    data = bytearray(path.read_bytes())
    data[data.index(mlp_model.params[:64]) + len(mlp_model.params) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    result = check(path)
    [finding] = result.only("MAR002")
    assert finding["member"] == "tabular-0000.params"
    assert "CRC-32 mismatch" in finding["message"]
    assert result.exit_code == 1


def test_corrupt_deflate_stream_is_reported_not_raised(tmp_path, mlp_model):
    path = ArchiveSpec(mlp_model).write(tmp_path / "m.model", zipfile.ZIP_DEFLATED)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("tabular-0000.params")
    start = data_offset(bytes(data[info.header_offset :]), info.header_offset)
    data[start + 10 : start + 200] = bytes(190)  # garbage in the middle of the deflate stream
    path.write_bytes(bytes(data))
    result = check(path)
    assert "MAR901" not in result.codes
    [finding] = result.only("MAR002")
    assert finding["member"] == "tabular-0000.params"
    assert "cannot be read" in finding["message"]


def test_corrupt_asset_is_found_by_the_integrity_pass(tmp_path, mlp_model):
    path = ArchiveSpec(mlp_model, extra=[("labels.txt", "cat\ndog\n" * 100)]).write(
        tmp_path / "m.model"
    )
    data = bytearray(path.read_bytes())
    data[data.index(b"cat\ndog\n") + 17] ^= 0x20
    path.write_bytes(bytes(data))
    [finding] = check(path).only("MAR002")
    assert finding["member"] == "labels.txt"


def test_each_member_is_read_once(tmp_path, mlp_model):
    """The integrity pass skips what the manifest, signature, graph and weights readers
    already read, and they do not read again after it."""
    reads: Counter[str] = Counter()

    class CountingView(ModelView):
        def stream(self, member):
            reads[member.name] += 1
            return super().stream(member)

    spec = ArchiveSpec(mlp_model, extra=[("labels.txt", "cat\n")])
    path = spec.write(tmp_path / "m.model", zipfile.ZIP_DEFLATED)
    with Sandbox() as sandbox, CountingView(path, Settings(), sandbox) as view:
        assert list(member_corrupt.check(view)) == []
        view.manifest, view.signature, view.symbol, view.params  # noqa: B018
    assert reads == Counter({name: 1 for name, _ in spec.members()})


# -- MAR004 ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "fragment"),
    [
        (stat.S_IFLNK | 0o777, "symbolic link"),
        (stat.S_IFIFO | 0o644, "named pipe"),
        (stat.S_IFCHR | 0o644, "character device"),
    ],
    ids=["symlink", "fifo", "device"],
)
def test_links_and_special_files_are_mar004(tmp_path, mlp_model, mode, fragment):
    spec = ArchiveSpec(mlp_model)
    members = [*spec.members(), special_member("labels.txt", mode, "/etc/passwd")]
    result = check(write_members(tmp_path / "m.model", members))
    [finding] = result.only("MAR004")
    assert finding["member"] == "labels.txt" and fragment in finding["message"]
    assert result.exit_code == 1


def test_encrypted_member_is_mar004(tmp_path, mlp_model):
    spec = ArchiveSpec(mlp_model, extra=[("labels.txt", "cat\n")])
    path = patch_central(spec.write(tmp_path / "m.model"), -1, CD_FLAGS, "<H", 0x1)
    data = bytearray(path.read_bytes())  # an encrypted member is marked so in both headers
    with zipfile.ZipFile(path) as archive:
        struct.pack_into("<H", data, archive.getinfo("labels.txt").header_offset + 6, 0x1)
    path.write_bytes(bytes(data))
    result = check(path)
    [finding] = result.only("MAR004")
    assert finding["member"] == "labels.txt" and "encrypted" in finding["message"]
    assert "MAR002" not in result.codes  # not read, so not reported as corrupt


def test_file_name_too_long_to_unpack_is_mar004(tmp_path, mlp_model):
    """MMS 0.4 fails at extract: "[Errno 36] File name too long" (the MMS oracle shows it)."""
    long_name, fine_name = "n" * 252 + ".txt", "n" * 251 + ".txt"
    spec = ArchiveSpec(mlp_model, extra=[(f"docs/{long_name}", "x"), (fine_name, "x")])
    [finding] = check(spec.write(tmp_path / "m.model")).only("MAR004")
    assert finding["member"] == f"docs/{long_name}" and finding["severity"] == "error"
    assert "file name of 256 bytes" in finding["message"]
    assert finding["consequence"] == "refused"


@pytest.mark.parametrize(
    ("method", "fragment"),
    [(zipfile.ZIP_BZIP2, "bzip2"), (9, "method 9")],
    ids=["bzip2", "deflate64"],
)
def test_compression_mms_cannot_unpack_is_mar004(tmp_path, mlp_model, method, fragment):
    spec = ArchiveSpec(mlp_model, extra=[("labels.txt", "cat\n")])
    if method == zipfile.ZIP_BZIP2:
        members = [*spec.members()[:-1]]
        path = write_members(tmp_path / "m.model", members)
        with zipfile.ZipFile(path, "a", zipfile.ZIP_BZIP2) as archive:
            archive.writestr("labels.txt", "cat\n")
    else:
        path = patch_central(spec.write(tmp_path / "m.model"), -1, CD_METHOD, "<H", method)
    result = check(path)
    [finding] = result.only("MAR004")
    assert finding["member"] == "labels.txt" and fragment in finding["message"]
    assert "MAR901" not in result.codes


def test_model_folder_with_link_out_and_fifo_does_not_hang(tmp_path, mlp_model):
    folder = ArchiveSpec(mlp_model).write_folder(tmp_path / "model")
    (folder / "secrets.txt").symlink_to("/etc/passwd")
    os.mkfifo(folder / "pipe")
    result = check(folder)
    found = {f["member"]: f["message"] for f in result.only("MAR004")}
    assert "symbolic link" in found["secrets.txt"] and "named pipe" in found["pipe"]


# -- MAR005 ------------------------------------------------------------------------------------


def test_identical_duplicates_are_a_warning_with_a_safe_fix(tmp_path, mlp_model):
    spec = ArchiveSpec(mlp_model)
    members = spec.members()
    manifest = next(m for m in members if m[0] == "MANIFEST.json")
    path = write_zip(tmp_path / "m.model", [manifest, *members])  # a stale copy first
    result = check(path)
    [finding] = result.only("MAR005")
    assert finding["severity"] == "warning" and "MMS uses the last" in finding["message"]
    assert finding["member"] == "MANIFEST.json" and finding["fixable"]
    assert result.exit_code == 0


def test_different_duplicates_are_an_error(tmp_path, mlp_model):
    spec = ArchiveSpec(mlp_model)
    stale = ("MANIFEST.json", '{"Model": {}}')
    result = check(write_zip(tmp_path / "m.model", [stale, *spec.members()]))
    [finding] = result.only("MAR005")
    assert finding["severity"] == "error" and "different contents" in finding["message"]
    assert result.exit_code == 1


def test_fixes_target_the_earlier_copies(tmp_path, mlp_model):
    """The fix edits themselves: drop copies by archive position, keep the last."""
    spec = ArchiveSpec(mlp_model)
    extra = [("labels.txt", "a\n"), ("labels.txt", "a\n"), ("labels.txt", "a\n")]
    path = write_zip(tmp_path / "m.model", [*extra, *spec.members()])
    with Checker(load_registry(), Settings(select=("MAR005",))) as checker:
        [finding] = checker.check(path).findings
    assert finding.fix is not None and finding.fix.safe
    assert finding.fix.edits == (RemoveMember("labels.txt", 0), RemoveMember("labels.txt", 1))


def test_basename_collision_and_case_collision(tmp_path, mlp_model):
    extra = [
        ("a/labels.txt", "cat\n"),
        ("b/labels.txt", "dog\n"),
        ("Synset.txt", "x\n"),
        ("synset.txt", "x\n"),
    ]
    result = check(ArchiveSpec(mlp_model, extra=extra).write(tmp_path / "m.model"))
    messages = {f["message"]: f["severity"] for f in result.only("MAR005")}
    collision = next(m for m in messages if "flattens" in m)
    assert "'a/labels.txt', 'b/labels.txt' both become 'labels.txt'" in collision
    assert messages[collision] == "error"
    case = next(m for m in messages if "case" in m)
    assert "'Synset.txt'" in case and messages[case] == "warning"


# -- MAR006 ------------------------------------------------------------------------------------


def test_bomb_by_ratio_is_reported_without_inflating(tmp_path, mlp_model):
    spec = ArchiveSpec(mlp_model)
    path = write_zip(tmp_path / "m.model", spec.members())
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("zeros.bin", bytes(64 << 20))
    result = check(path)
    [finding] = result.only("MAR006")
    assert finding["member"] == "zeros.bin" and "ratio of" in finding["message"]
    assert result.codes == {"MAR006"}  # refused, so not read: no MAR002 either


def test_member_declaring_more_than_it_holds_is_caught(tmp_path, mlp_model):
    """A tiny member whose directory entry claims 4 GiB: refused by ratio, never inflated."""
    spec = ArchiveSpec(mlp_model, extra=[("labels.txt", "cat\n")])
    path = patch_central(spec.write(tmp_path / "m.model"), -1, 24, "<I", 0xFFFF0000)
    [finding] = check(path).only("MAR006")
    assert "4,294,901,760 bytes" in finding["message"]


def test_total_size_limit(tmp_path, mlp_model):
    path = ArchiveSpec(mlp_model).write(tmp_path / "m.model")
    settings = Settings(limits=Limits(max_total_bytes=1_000))
    with Checker(load_registry(), settings) as checker:
        report = checker.check(path)
    [finding] = [f for f in report.findings if f.code == "MAR006"]
    assert "in total, over the limit of 1,000" in finding.message


def test_overlapping_entries_are_a_bomb(tmp_path, mlp_model):
    """Several directory entries that point at the same compressed bytes (the trick of
    non-recursive zip bombs), built byte by byte."""
    path = ArchiveSpec(mlp_model).write(tmp_path / "m.model")
    data = path.read_bytes()
    end = data.rindex(b"PK\x05\x06")
    headers = central_headers(data)
    last = data[headers[-1] : end]  # MANIFEST.json's directory entry
    copies = 3
    directory = data[headers[0] : end] + last * copies
    count = len(headers) + copies
    eocd = bytearray(data[end:])
    struct.pack_into("<HHI", eocd, 8, count, count, len(directory))
    path.write_bytes(data[: headers[0]] + directory + bytes(eocd))
    result = check(path)
    [bomb] = result.only("MAR006")
    assert "3 members overlap" in bomb["message"]
    assert "MAR901" not in result.codes


# -- MAR008 ------------------------------------------------------------------------------------


def test_junk_members_are_warnings_with_safe_fixes(tmp_path, mlp_model):
    extra = [
        ("__MACOSX/._MANIFEST.json", b"\x00\x05\x16\x07"),
        ("__MACOSX/._signature.json", b"\x00\x05\x16\x07"),
        (".DS_Store", b"Bud1"),
        ("__pycache__/service.cpython-36.pyc", b"\x33\x0d\x0d\x0a"),
        (".git/config", "[core]\n"),
        (".service.py.swp", b"b0VIM"),
        ("train.log", "epoch 1\n"),
    ]
    result = check(ArchiveSpec(mlp_model, extra=extra).write(tmp_path / "m.model"))
    found = {f["member"]: f for f in result.only("MAR008")}
    assert set(found) == {
        "__MACOSX/",
        ".DS_Store",
        "__pycache__/",
        ".git/",
        ".service.py.swp",
        "train.log",
    }
    assert "(2 members)" in found["__MACOSX/"]["message"]
    assert all(f["severity"] == "warning" and f["fixable"] for f in found.values())
    assert result.exit_code == 0


def test_a_referenced_file_is_never_junk(tmp_path, mlp_model):
    spec = ArchiveSpec(mlp_model, extra=[("classes.log", "cat\n")])
    spec.manifest["Model"]["Labels"] = "classes.log"  # not a reference key: still junk
    assert check(spec.write(tmp_path / "a.model")).only("MAR008")
    spec = ArchiveSpec(mlp_model, drop={"service.py"}, extra=[("service.log", "")])
    spec.manifest["Model"]["Service"] = "service.log"
    assert not check(spec.write(tmp_path / "b.model")).only("MAR008")


# -- MAR009 and the JSON limits ----------------------------------------------------------------


def test_too_many_members_stops_the_listing(tmp_path):
    path = write_zip(tmp_path / "m.model", [(f"f{i}", b"") for i in range(10_001)])
    result = check(path)
    [finding] = result.findings
    assert finding["code"] == "MAR009"
    assert "more than 10,000 members" in finding["message"]


def test_the_member_limit_can_be_raised(tmp_path):
    path = write_zip(tmp_path / "m.model", [(f"f{i}", b"") for i in range(10_001)])
    config = tmp_path / ".mar-lint.toml"
    config.write_text("[limits]\nmax-members = 20000\n")
    result = check(path, args=("--config", str(config), "--select", "MAR0"))
    assert "MAR009" not in result.codes and result.exit_code == 0


def test_more_central_headers_than_declared(tmp_path):
    """zipfile walks the directory by size, not by the declared count: count what is there."""
    path = write_zip(tmp_path / "m.model", [(f"f{i}", b"") for i in range(10_001)])
    data = bytearray(path.read_bytes())
    struct.pack_into("<HH", data, data.rindex(b"PK\x05\x06") + 8, 2, 2)
    path.write_bytes(bytes(data))
    assert check(path).codes == {"MAR009"}


def test_long_names_and_deep_paths(tmp_path, mlp_model):
    extra = [("n" * 1100, b""), ("d/" * 40 + "x.txt", b"")]
    result = check(ArchiveSpec(mlp_model, extra=extra).write(tmp_path / "m.model"))
    messages = sorted(f["message"] for f in result.only("MAR009"))
    assert messages == [
        "the name is 1,100 bytes long, over the limit of 1,024",
        "the path is 41 levels deep, over the limit of 32",
    ]


def test_signature_of_200000_brackets_is_mar201(tmp_path, mlp_model):
    spec = ArchiveSpec(
        mlp_model, drop={"signature.json"}, extra=[("signature.json", "[" * 200_000)]
    )
    result = check(spec.write(tmp_path / "m.model"))
    [finding] = result.only("MAR201")
    assert "nests deeper than 64 levels" in finding["message"]
    assert "MAR901" not in result.codes


def test_graph_of_200000_brackets_is_mar301(tmp_path, mlp_model):
    prefix = mlp_model.name
    spec = ArchiveSpec(
        mlp_model,
        drop={f"{prefix}-symbol.json"},
        extra=[(f"{prefix}-symbol.json", '{"nodes": ' + "[" * 200_000)],
    )
    result = check(spec.write(tmp_path / "m.model"))
    [finding] = result.only("MAR301")
    assert "nests deeper" in finding["message"]


# -- MXNet and the service file at arm's length --------------------------------------------------


def test_graph_with_huge_dimension_never_reaches_mxnet(tmp_path, mlp_model):
    graph = json.loads(mlp_model.symbol)
    data = next(n for n in graph["nodes"] if n["name"] == "data")
    data.setdefault("attrs", {})["__shape__"] = f"(1, {2**40})"
    prefix = mlp_model.name
    spec = ArchiveSpec(
        mlp_model,
        drop={f"{prefix}-symbol.json"},
        extra=[(f"{prefix}-symbol.json", json.dumps(graph))],
    )
    result = check(spec.write(tmp_path / "m.model"))
    assert result.only("MAR301")
    assert "MAR901" not in result.codes


def test_a_hung_sandbox_is_a_finding_and_the_run_goes_on(tmp_path, mlp_model):
    # Graph analyses are remembered by graph text: trailing spaces make this one new.
    prefix = mlp_model.name
    graph = [(f"{prefix}-symbol.json", mlp_model.symbol + b"\n" + b" " * 17)]
    first = ArchiveSpec(mlp_model, drop={f"{prefix}-symbol.json"}, extra=graph)
    first = first.write(tmp_path / "a.model")
    second = ArchiveSpec(
        mlp_model, drop={f"{prefix}-symbol.json"}, extra=[*graph, (".DS_Store", b"Bud1")]
    )
    second = second.write(tmp_path / "b.model")
    # A deadline no MXNet import can meet stands in for a graph that hangs MXNet.
    settings = Settings(limits=Limits(mxnet_timeout=0.01), engine="mxnet")
    with Checker(load_registry(), settings) as checker:
        reports = [checker.check(first), checker.check(second)]
    for report in reports:
        [failure] = [f for f in report.findings if f.code == "MAR301"]
        assert "gave no answer within 0.01 s" in failure.message
    assert any(f.code == "MAR008" for f in reports[1].findings)


def test_the_service_file_is_never_run(tmp_path, mlp_model):
    marker = tmp_path / "ran"
    service = f"open({str(marker)!r}, 'w').close()\nraise SystemExit(3)\n"
    spec = ArchiveSpec(mlp_model, drop={"service.py"}, extra=[("service.py", service)])
    result = check(spec.write(tmp_path / "m.model"))
    assert result.exit_code in (0, 1) and not marker.exists()


def test_mxnet_crash_is_contained_and_the_sandbox_restarts(mlp_model):
    """A head output index past its node's outputs segfaults MXNet 1.9.1 (§4.5). graph.py
    keeps such graphs from MXNet; should one get through, only the sandbox dies."""
    require_mxnet()
    graph = json.loads(mlp_model.symbol)
    graph["heads"][0][1] = 5
    with Sandbox(timeout=120) as sandbox:
        with pytest.raises(SandboxFailure, match="crashed|exited"):
            sandbox.run("graph", symbol_json=json.dumps(graph), input_shapes={})
        answer = sandbox.run("graph", symbol_json=mlp_model.symbol.decode(), input_shapes={})
    assert answer["outputs"] and not answer.get("load_error")
