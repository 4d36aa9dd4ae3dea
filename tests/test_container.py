"""MAR001 archive-unreadable, MAR003 unsafe-path, MAR007 nested-root."""

from __future__ import annotations

import gzip
import io
import tarfile
import zipfile

import pytest
from builders import ArchiveSpec, write_zip
from conftest import check


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"", "empty"),
        (
            b"version https://git-lfs.github.com/spec/v1\noid sha256:4d7a\nsize 46804925\n",
            "git lfs pull",
        ),
        (b"<!DOCTYPE html><html><body>Sign in</body></html>", "HTML"),
        (gzip.compress(b"x" * 100), "gzip"),
        (b'{"Model": {}}', "JSON"),
        (bytes(range(256)) * 4, "not a zip"),
        (b"\x12\x01\x00\x00\x00\x00\x00\x00" + bytes(24), "MXNet .params"),
    ],
    ids=["empty", "lfs", "html", "gzip", "json", "random", "params"],
)
def test_not_a_zip_is_mar001_with_what_it_is(tmp_path, content, fragment):
    path = tmp_path / "model.model"
    path.write_bytes(content)
    result = check(path)
    assert result.exit_code == 1
    [finding] = result.findings
    assert finding["code"] == "MAR001"
    assert fragment.lower() in finding["message"].lower()


def test_tar_named_model_is_named_tar(tmp_path, mlp_model):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("MANIFEST.json")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"{}"))
    path = tmp_path / "model.model"
    path.write_bytes(buffer.getvalue())
    [finding] = check(path).findings
    assert (finding["code"], "tar archive" in finding["message"]) == ("MAR001", True)


def test_truncated_zip_says_truncated(tmp_path, mlp_model):
    whole = ArchiveSpec(mlp_model).write(tmp_path / "whole.model").read_bytes()
    path = tmp_path / "cut.model"
    path.write_bytes(whole[: len(whole) // 2])
    [finding] = check(path).findings
    assert finding["code"] == "MAR001"
    assert "truncated" in finding["message"]


def test_empty_zip(tmp_path):
    path = write_zip(tmp_path / "empty.model", [])
    [finding] = check(path).findings
    assert finding["code"] == "MAR001" and "no files" in finding["message"]


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("../../etc/cron.d/evil", "`..`"),
        ("/etc/passwd", "absolute"),
        ("assets\\labels.txt", "backslash"),
        ("C:/models/x.txt", "drive letter"),
    ],
)
def test_escaping_member_names_are_mar003(tmp_path, mlp_model, name, fragment):
    path = ArchiveSpec(mlp_model, extra=[(name, b"x")]).write(tmp_path / "evil.model")
    result = check(path)
    [finding] = result.only("MAR003")
    assert finding["member"] == name and fragment in finding["message"]
    assert result.exit_code == 1


def test_escaping_manifest_reference_is_mar003(tmp_path, mlp_model):
    spec = ArchiveSpec(mlp_model)
    spec.manifest["Model"]["Service"] = "../../outside/service.py"
    result = check(spec.write(tmp_path / "m.model"))
    [finding] = result.only("MAR003")
    assert finding["member"] == "MANIFEST.json" and finding["location"] == "/Model/Service"
    assert "MAR103" not in result.codes  # one finding for one mistake


def test_zipped_folder_is_mar007_and_other_rules_still_run(tmp_path, mlp_model):
    spec = ArchiveSpec(mlp_model)
    members = [(f"tabular_model/{name}", data) for name, data in spec.members()]
    members.append(("__MACOSX/tabular_model/._MANIFEST.json", b"\x00\x05\x16\x07"))
    result = check(write_zip(tmp_path / "nested.model", members, zipfile.ZIP_DEFLATED))
    [finding] = result.only("MAR007")
    assert finding["severity"] == "warning" and "'tabular_model/'" in finding["message"]
    assert finding["fixable"]
    assert result.exit_code == 0  # only a warning: MMS flattens it and loads the model


def test_correct_archive_and_folder_are_clean(tmp_path, mlp_model, cnn_model):
    for model in (mlp_model, cnn_model):
        spec = ArchiveSpec(model)
        for target in (
            spec.write(tmp_path / f"{model.name}.model"),
            spec.write_folder(tmp_path / model.name),
        ):
            result = check(target)
            assert result.findings == [], target
            assert result.exit_code == 0
