"""`mar-lint repack`: fixes applied, nothing else touched, atomic and deterministic output."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from builders import ArchiveSpec, write_zip
from conftest import check, run_cli

from mar_lint.zip_records import data_offset


def raw_members(path: Path) -> dict[str, tuple[int, int, int, bytes]]:
    """name -> (CRC-32, method, uncompressed size, compressed bytes) read at each local
    header's data offset: what "copied without inflating" must keep identical."""
    found = {}
    with zipfile.ZipFile(path) as archive, open(path, "rb") as handle:
        for info in archive.infolist():
            handle.seek(info.header_offset)
            handle.seek(data_offset(handle.read(30), info.header_offset))
            raw = handle.read(info.compress_size)
            found[info.filename] = (info.CRC, info.compress_type, info.file_size, raw)
    return found


def fixable(path: Path, *args: str) -> set[str]:
    return {f["code"] for f in check(path, args=args).findings if f["fix"]}


def safe_fixable(path: Path) -> set[str]:
    return {f["code"] for f in check(path).findings if f["fix"] and f["fix"]["safe"]}


def assert_valid_zip(path: Path) -> None:
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
    if shutil.which("unzip"):
        subprocess.run(["unzip", "-tq", str(path)], check=True, capture_output=True)


def sloppy_cnn(cnn_model, tmp_path: Path, compression: int = zipfile.ZIP_DEFLATED) -> Path:
    """A digits archive with a batch dimension of 1, a MIME alias and Finder leftovers."""
    spec = ArchiveSpec(
        cnn_model,
        signature={
            "input_type": "image/jpg",
            "inputs": [{"data_name": "data", "data_shape": [1, 1, 28, 28]}],
        },
        extra=[(".DS_Store", b"\0\0\0\1Bud1"), ("__MACOSX/._signature.json", b"\0\5\26\7")],
    )
    return spec.write(tmp_path / "sloppy.model", compression)


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_fixes_applied_and_nothing_else_changes(tmp_path, cnn_model, compression):
    source = sloppy_cnn(cnn_model, tmp_path, compression)
    assert {"MAR008", "MAR202", "MAR203"} <= fixable(source)
    out = tmp_path / "fixed.model"
    result = run_cli("repack", str(source), "-o", str(out))
    assert result.exit_code == 1
    assert "MAR203 set the batch dimension to 0" in result.output
    assert_valid_zip(out)
    assert safe_fixable(out) == set()

    before, after = raw_members(source), raw_members(out)
    assert sorted(after) == sorted(set(before) - {".DS_Store", "__MACOSX/._signature.json"})
    for name in after:
        if name != "signature.json":
            assert after[name] == before[name], name  # same compressed bytes and CRC
    assert after["signature.json"][1] == compression
    with zipfile.ZipFile(out) as archive:
        signature = json.loads(archive.read("signature.json"))
        text = archive.read("signature.json").decode()
        infos = archive.infolist()
    assert signature["input_type"] == "image/jpeg"
    assert signature["inputs"][0]["data_shape"] == [0, 1, 28, 28]
    assert text.startswith('{\n  "inputs"')  # the original's 2-space indent, keys in order
    assert [i.filename for i in infos] == sorted(i.filename for i in infos)
    assert {(i.date_time, i.external_attr >> 16) for i in infos} == {
        ((1980, 1, 1, 0, 0, 0), 0o100644)
    }


def test_second_repack_changes_nothing_and_output_is_deterministic(tmp_path, cnn_model):
    source = sloppy_cnn(cnn_model, tmp_path)
    first, second = tmp_path / "one.model", tmp_path / "two.model"
    assert run_cli("repack", str(source), "-o", str(first)).exit_code == 1
    assert run_cli("repack", str(source), "-o", str(second)).exit_code == 1
    assert first.read_bytes() == second.read_bytes()

    again = tmp_path / "again.model"
    result = run_cli("repack", str(first), "-o", str(again))
    assert result.exit_code == 0
    assert "nothing to fix" in result.output
    assert not again.exists()
    assert run_cli("repack", str(first), "--diff").exit_code == 0


def test_diff_writes_nothing_and_shows_the_changes(tmp_path, cnn_model):
    source = sloppy_cnn(cnn_model, tmp_path)
    listing = sorted(tmp_path.iterdir())
    original = source.read_bytes()
    result = run_cli("repack", str(source), "--diff")
    assert result.exit_code == 1
    assert "--- a/signature.json\n+++ b/signature.json\n" in result.output
    assert '-  "input_type": "image/jpg",\n+  "input_type": "image/jpeg",\n' in result.output
    assert "-        1,\n+        0,\n" in result.output
    assert "removed: .DS_Store" in result.output
    assert "removed: __MACOSX/._signature.json" in result.output
    assert sorted(tmp_path.iterdir()) == listing
    assert source.read_bytes() == original


def test_unsafe_fixes_only_on_request(tmp_path, cnn_model):
    spec = ArchiveSpec(
        cnn_model,
        signature={"outputs": [{"data_name": "softmax", "data_shape": [0, 1000]}]},
    )
    source = spec.write(tmp_path / "retrained.model")
    assert "MAR205" in fixable(source)
    out = tmp_path / "out.model"
    safe_only = run_cli("repack", str(source), "-o", str(out))
    assert safe_only.exit_code == 0
    assert "nothing to fix" in safe_only.output
    assert "[not applied: unsafe: needs --unsafe-fixes]" in safe_only.output
    assert not out.exists()

    result = run_cli("repack", str(source), "-o", str(out), "--unsafe-fixes")
    assert result.exit_code == 1
    with zipfile.ZipFile(out) as archive:
        signature = json.loads(archive.read("signature.json"))
    assert signature["outputs"][0]["data_shape"] == [0, 10]
    assert "MAR205" not in fixable(out)


def test_extra_signature_outputs_are_dropped_as_an_unsafe_fix(tmp_path, cnn_model):
    """The signature lists an output the graph does not have (a head removed on export):
    dropping it is the fix, and it changes the contract, so only with --unsafe-fixes."""
    real = {"data_name": cnn_model.output_name, "data_shape": [0, 10]}
    extra = {"data_name": "features", "data_shape": [0, 128]}
    source = ArchiveSpec(cnn_model, signature={"outputs": [extra, real]}).write(
        tmp_path / "two-heads.model"
    )
    [finding] = check(source).only("MAR205")
    assert finding["fix"] == {
        "summary": "drop outputs [0], which the graph does not have",
        "safe": False,
    }

    out = tmp_path / "out.model"
    safe_only = run_cli("repack", str(source), "-o", str(out))
    assert safe_only.exit_code == 0 and "nothing to fix" in safe_only.output
    assert "[not applied: unsafe: needs --unsafe-fixes]" in safe_only.output
    assert not out.exists()

    result = run_cli("repack", str(source), "-o", str(out), "--unsafe-fixes")
    assert result.exit_code == 1, result.output
    assert "drop outputs [0], which the graph does not have" in result.output
    with zipfile.ZipFile(out) as archive:
        assert json.loads(archive.read("signature.json"))["outputs"] == [real]
    assert check(out).codes == set()


def test_nested_root_and_manifest_fields(tmp_path, cnn_model):
    """A folder zipped instead of its contents, a manifest missing what the archive
    determines, and a carried schema the manifest fails: all fixed in one repack."""
    spec = ArchiveSpec(cnn_model)
    for key in ("Model-Server", "Engine"):
        del spec.manifest[key]
    for key in ("Model-Name", "Model-Format"):
        del spec.manifest["Model"][key]
    members = [*spec.members(), ("manifest-schema.json", json.dumps({"required": ["Owner"]}))]
    source = write_zip(tmp_path / "nested.model", [(f"digits/{n}", d) for n, d in members])
    assert {"MAR007", "MAR102"} <= fixable(source)

    out = tmp_path / "flat.model"
    result = run_cli("repack", str(source), "-o", str(out), "--unsafe-fixes")
    assert result.exit_code == 1, result.output
    assert fixable(out, "--unsafe-fixes") == set()
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        manifest = json.loads(archive.read("MANIFEST.json"))
        manifest_text = archive.read("MANIFEST.json").decode()
    assert "manifest-schema.json" not in names
    assert all("/" not in name for name in names)
    assert manifest["Model-Server"] == 0.4
    assert manifest["Engine"] == {"MXNet": ["int", 10901]}
    assert manifest["Model"]["Model-Name"] == "digits"
    assert manifest["Model"]["Model-Format"] == "MXNet-Symbolic"
    assert manifest_text.startswith('{\n    "Model-Archive-Version"')  # MMS's 4-space indent
    assert (
        raw_members(out)["digits-0000.params"] == raw_members(source)["digits/digits-0000.params"]
    )


def test_release_guess_is_unsafe(tmp_path, mlp_model):
    """Without Model-Server and Model-Archive-Version nothing shows the release: filling
    them in is a guess, held back unless unsafe fixes are wanted or the release is given."""
    spec = ArchiveSpec(mlp_model)
    del spec.manifest["Model-Server"], spec.manifest["Model-Archive-Version"]
    source = spec.write(tmp_path / "m.model")
    assert run_cli("repack", str(source), "--diff").exit_code == 0
    targeted = run_cli("repack", str(source), "--diff", "--mms-version", "0.4")
    assert targeted.exit_code == 1
    assert '+    "Model-Server": 0.4' in targeted.output
    assert '+    "Model-Archive-Version": 0.2' in targeted.output


def test_references_and_engine_corrected(tmp_path, mlp_model):
    spec = ArchiveSpec(
        mlp_model,
        manifest={"Engine": {"MXNet": "latest"}},
    )
    spec.manifest["Model"]["Symbol"] = "model/tabular-symbol.json"
    source = spec.write(tmp_path / "m.model")
    assert {"MAR103", "MAR501"} <= fixable(source)
    out = tmp_path / "out.model"
    assert run_cli("repack", str(source), "-o", str(out)).exit_code == 1
    with zipfile.ZipFile(out) as archive:
        manifest = json.loads(archive.read("MANIFEST.json"))
    assert manifest["Model"]["Symbol"] == "tabular-symbol.json"
    assert manifest["Engine"] == {"MXNet": ["int", 10901]}
    assert fixable(out, "--unsafe-fixes") == set()


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_identical_duplicates_collapse_to_the_copy_mms_uses(tmp_path, mlp_model):
    spec = ArchiveSpec(mlp_model)
    spec.extra.append(("MANIFEST.json", json.dumps(spec.manifest, indent=4)))
    source = spec.write(tmp_path / "dup.model", zipfile.ZIP_DEFLATED)
    assert "MAR005" in fixable(source)
    out = tmp_path / "out.model"
    assert run_cli("repack", str(source), "-o", str(out)).exit_code == 1
    with zipfile.ZipFile(out) as archive:
        assert archive.namelist().count("MANIFEST.json") == 1
    assert "MAR005" not in {f["code"] for f in check(out).findings}


def test_refuses_to_overwrite_without_force(tmp_path, cnn_model):
    source = sloppy_cnn(cnn_model, tmp_path)
    out = tmp_path / "out.model"
    out.write_bytes(b"keep me")
    refused = run_cli("repack", str(source), "-o", str(out))
    assert refused.exit_code == 2
    assert "--force" in refused.stderr
    assert out.read_bytes() == b"keep me"
    assert run_cli("repack", str(source), "-o", str(out), "--force").exit_code == 1
    assert_valid_zip(out)


@pytest.mark.parametrize(
    "args",
    [(), ("-o", "x.model", "--in-place"), ("--diff", "--in-place"), ("-o", "sloppy.model")],
)
def test_usage_errors(tmp_path, cnn_model, monkeypatch, args):
    sloppy_cnn(cnn_model, tmp_path)
    monkeypatch.chdir(tmp_path)
    assert run_cli("repack", "sloppy.model", *args).exit_code == 2


def test_no_partial_output_when_the_write_fails(tmp_path, cnn_model):
    """A member whose local header is gone (the central directory still lists it) cannot be
    copied: the run fails with exit 2 and leaves neither the output nor a temporary file."""
    source = sloppy_cnn(cnn_model, tmp_path)
    with zipfile.ZipFile(source) as archive:
        offset = archive.getinfo("synset.txt").header_offset
    data = bytearray(source.read_bytes())
    data[offset : offset + 4] = b"XXXX"
    source.write_bytes(bytes(data))
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    result = run_cli("repack", str(source), "-o", str(out_dir / "fixed.model"))
    assert result.exit_code == 2
    assert "synset.txt" in result.stderr
    assert list(out_dir.iterdir()) == []


def test_folder_in_place_and_to_zip(tmp_path, cnn_model):
    spec = ArchiveSpec(cnn_model, signature={"input_type": "image/pjpeg"})
    spec.extra.append(("__pycache__/service.cpython-311.pyc", b"\xa7\r\r\n"))
    folder = spec.write_folder(tmp_path / "digits")
    params_before = (folder / "digits-0000.params").stat()

    out = tmp_path / "digits.model"
    assert run_cli("repack", str(folder), "-o", str(out)).exit_code == 1
    assert_valid_zip(out)
    assert (folder / "__pycache__").exists()  # the folder is untouched

    result = run_cli("repack", str(folder), "--in-place")
    assert result.exit_code == 1
    assert not (folder / "__pycache__").exists()
    assert json.loads((folder / "signature.json").read_text())["input_type"] == "image/jpeg"
    assert (folder / "digits-0000.params").stat().st_mtime_ns == params_before.st_mtime_ns
    assert run_cli("repack", str(folder), "--in-place").exit_code == 0


def test_zip_in_place(tmp_path, cnn_model):
    source = sloppy_cnn(cnn_model, tmp_path)
    assert run_cli("repack", str(source), "--in-place").exit_code == 1
    assert safe_fixable(source) == set()
    assert [p.name for p in tmp_path.iterdir()] == [source.name]


def test_many_archives_in_place_as_pre_commit_passes_them(tmp_path, cnn_model):
    first = sloppy_cnn(cnn_model, tmp_path)
    second = first.rename(tmp_path / "second.model")
    first = sloppy_cnn(cnn_model, tmp_path)
    clean = ArchiveSpec(cnn_model).write(tmp_path / "clean.model")
    before = clean.read_bytes()
    assert run_cli("repack", "--in-place", str(first), str(second), str(clean)).exit_code == 1
    assert safe_fixable(first) == safe_fixable(second) == set()
    assert clean.read_bytes() == before
    assert run_cli("repack", "--in-place", str(first), str(second)).exit_code == 0
    result = run_cli("repack", "-o", str(tmp_path / "out.model"), str(first), str(second))
    assert result.exit_code == 2 and "-o names one output" in result.stderr


def test_folder_with_a_fifo_is_refused(tmp_path, cnn_model):
    folder = ArchiveSpec(cnn_model, signature={"input_type": "json"}).write_folder(tmp_path / "m")
    os.mkfifo(folder / "zz-pipe")
    result = run_cli("repack", str(folder), "-o", str(tmp_path / "m.model"))
    assert result.exit_code == 2
    assert "zz-pipe" in result.stderr
    assert not (tmp_path / "m.model").exists()


def test_fixes_revealed_by_fixes_are_followed_up(tmp_path, cnn_model):
    """Renaming the signature's input (MAR204) lets MXNet infer the outputs, which then
    disagree with the signature (MAR205): the second pass fixes them too."""
    spec = ArchiveSpec(
        cnn_model,
        signature={
            "inputs": [{"data_name": "image", "data_shape": [0, 1, 28, 28]}],
            "outputs": [{"data_name": "softmax", "data_shape": [0, 1000]}],
        },
    )
    source = spec.write(tmp_path / "m.model")
    assert "MAR204" in fixable(source)
    assert "MAR205" not in fixable(source)
    out = tmp_path / "out.model"
    result = run_cli("repack", str(source), "-o", str(out), "--unsafe-fixes")
    assert result.exit_code == 1
    assert result.output.count(f"-> {out}:") == 2  # two passes
    with zipfile.ZipFile(out) as archive:
        signature = json.loads(archive.read("signature.json"))
    assert signature["inputs"][0]["data_name"] == "data"
    assert signature["outputs"][0]["data_shape"] == [0, 10]
    assert run_cli("repack", str(out), "--diff", "--unsafe-fixes").exit_code == 0


def test_conflicting_fixes_are_held_back_in_code_order(tmp_path, mlp_model):
    from mar_lint.archive import ArchiveView
    from mar_lint.findings import Finding, Fix, RemoveMember, SetJson, Severity
    from mar_lint.fixer import plan_fixes

    def finding(code: str, *edits, safe: bool = True) -> Finding:
        return Finding(code, "x", Severity.ERROR, "m", fix=Fix(code, edits, safe))

    source = ArchiveSpec(mlp_model).write(tmp_path / "m.model")
    with ArchiveView(source) as view:
        plan = plan_fixes(
            view,
            [
                finding("MAR902", RemoveMember("signature.json")),
                finding("MAR202", SetJson("signature.json", "/input_type", "application/json")),
                finding("MAR201", SetJson("signature.json", "/input_type", "image/jpeg")),
                finding(
                    "MAR101", SetJson("signature.json", "/input_type", "text/plain"), safe=False
                ),
            ],
            unsafe=True,
        )
    assert [f.code for f in plan.applied] == ["MAR201"]
    assert [(h.finding.code, h.reason) for h in plan.held_back] == [
        ("MAR202", "it would change /input_type that an earlier fix set"),
        ("MAR902", "an earlier fix edits 'signature.json'"),
        ("MAR101", "it would change /input_type that an earlier fix set"),
    ]


@pytest.mark.parametrize(
    ("pointer", "reason"),
    [
        # RFC 6901: an array index has no leading zero, so "00" and "01" name no element.
        ("/inputs/00/data_name", "/inputs/00/data_name does not exist"),
        ("/inputs/0/data_shape/01", "the parent of /inputs/0/data_shape/01 cannot hold '01'"),
        ("/inputs/-1", "the parent of /inputs/-1 cannot hold '-1'"),
        ("/inputs/-/data_name", "/inputs/-/data_name does not exist"),
        ("/input~2type", "'/input~2type' has a '~' that is not '~0' or '~1'"),
        ("input_type", "'input_type' is not a JSON pointer"),
    ],
)
def test_fix_pointers_follow_rfc_6901(tmp_path, mlp_model, pointer, reason):
    """A fix whose pointer names no value is held back, never written at a near miss."""
    from mar_lint.archive import ArchiveView
    from mar_lint.findings import Finding, Fix, SetJson, Severity
    from mar_lint.fixer import plan_fixes

    def finding(edit: SetJson) -> Finding:
        return Finding("MAR201", "x", Severity.ERROR, "m", fix=Fix("set", (edit,)))

    source = ArchiveSpec(mlp_model).write(tmp_path / "m.model")
    with ArchiveView(source) as view:
        original = json.loads(view.read(view.get("signature.json"), 1 << 20))
        assert len(original["inputs"][0]["data_shape"]) >= 2  # "01" would be a real index
        plan = plan_fixes(view, [finding(SetJson("signature.json", pointer, "x"))], unsafe=True)
        assert plan.applied == [] and not plan.changes
        assert [h.reason for h in plan.held_back] == [reason]
        # The same edit at the index written as RFC 6901 writes it does apply.
        good = plan_fixes(
            view, [finding(SetJson("signature.json", "/inputs/0/data_name", "x"))], unsafe=True
        )
        appended = plan_fixes(view, [finding(SetJson("signature.json", "/inputs/-", {}))], True)
    [document] = good.documents.values()
    assert document["inputs"][0]["data_name"] == "x"
    assert document["inputs"][1:] == original["inputs"][1:]
    [document] = appended.documents.values()
    assert document["inputs"] == [*original["inputs"], {}]
