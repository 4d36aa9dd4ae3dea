"""What a user sees from `mar-lint check`: exit status, JSON shape, text output, usage errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from builders import ArchiveSpec
from conftest import check, run_cli

FIXTURES = Path(__file__).parent / "fixtures"


def test_json_document_shape(tmp_path, mlp_model):
    good = ArchiveSpec(mlp_model).write(tmp_path / "good.model")
    bad = ArchiveSpec(mlp_model, signature={"input_type": "image/jpg"}).write(
        tmp_path / "bad.model"
    )
    result = check(good, bad)
    assert result.exit_code == 1
    document = result.document
    assert [a["path"] for a in document["archives"]] == [str(good), str(bad)]
    assert document["archives"][0]["findings"] == []
    [finding] = document["archives"][1]["findings"]
    assert set(finding) >= {"code", "name", "severity", "member", "location", "message", "fixable"}
    assert (finding["code"], finding["name"], finding["severity"]) == (
        "MAR202",
        "mime-type",
        "error",
    )
    assert document["summary"]["errors"] == 1 and document["summary"]["archives"] == 2


def test_warnings_only_exit_zero(tmp_path, cnn_model):
    signature = {"inputs": [{"data_name": "data", "data_shape": [1, 1, 28, 28]}]}
    result = check(ArchiveSpec(cnn_model, signature=signature).write(tmp_path / "m.model"))
    assert result.codes == {"MAR203"} and result.exit_code == 0


def test_select_and_ignore_by_prefix(tmp_path, mlp_model):
    spec = ArchiveSpec(
        mlp_model, signature={"input_type": "image/jpg"}, manifest={"Model-Server": "0.4"}
    )
    path = spec.write(tmp_path / "m.model")
    assert check(path).codes == {"MAR102", "MAR202"}
    assert check(path, args=("--select", "MAR2")).codes == {"MAR202"}
    assert check(path, args=("--ignore", "MAR1,MAR202")).codes == set()
    assert check(path, args=("--select", "MAR2", "--ignore", "MAR202")).exit_code == 0


def test_usage_errors_exit_2(tmp_path, mlp_model):
    path = ArchiveSpec(mlp_model).write(tmp_path / "m.model")
    assert run_cli("check", str(tmp_path / "missing.model")).exit_code == 2
    assert run_cli("check", "--select", "XYZ1", str(path)).exit_code == 2
    assert run_cli("check", "--bogus", str(path)).exit_code == 2
    assert run_cli("check", "--mms-version", "banana", str(path)).exit_code == 2
    (tmp_path / "nothing").mkdir()
    result = run_cli("check", str(tmp_path / "nothing"))
    assert result.exit_code == 2 and "no .model or .mar archives" in result.stderr


def test_folder_is_searched_for_archives_and_model_folders(tmp_path, mlp_model):
    spec = ArchiveSpec(mlp_model)
    spec.write(tmp_path / "a.model")
    spec.write_folder(tmp_path / "deep" / "unpacked")
    (tmp_path / "notes.txt").write_text("not an archive")
    result = check(tmp_path)
    assert sorted(Path(a["path"]).name for a in result.document["archives"]) == [
        "a.model",
        "unpacked",
    ]


def test_text_output_is_plain_without_a_terminal(tmp_path, mlp_model):
    spec = ArchiveSpec(
        mlp_model, signature={"inputs": [{"data_name": "data", "data_shape": [1, 12]}]}
    )
    result = run_cli("check", str(spec.write(tmp_path / "m.model")))
    assert "\x1b[" not in result.output
    assert "warning MAR203 batch-dimension  signature.json:/inputs/0/data_shape/0" in result.output
    assert "[1, 12]" in result.output  # shapes are not eaten as rich markup
    assert "fix: set the batch dimension to 0 (mar-lint repack)" in result.output
    assert "Checked 1 archive: 0 errors, 1 warning, 0 info" in result.output


def test_rule_docs(tmp_path):
    result = run_cli("rule", "mar203")
    assert result.output.startswith("MAR203 batch-dimension (error; risk MMS does not check)")
    assert result.exit_code == 0 and "MMS issue #45" in result.output
    assert run_cli("rule", "MAR999").exit_code == 2
    listing = run_cli("rules").output
    assert "MAR001  archive-unreadable" in listing and "MAR902" in listing
    assert "MAR404  image-input            error    every request fails" in listing
    [entry] = [
        r for r in json.loads(run_cli("rules", "--format", "json").output) if r["code"] == "MAR601"
    ]
    assert (entry["consequence"], entry["consequence_text"]) == (
        "wrong-answers",
        "serves wrong answers",
    )
    explained = json.loads(run_cli("rule", "MAR901", "--format", "json").output)
    assert explained["consequence"] is None


def test_real_console_script_on_garbage_never_tracebacks(tmp_path):
    """The installed `mar-lint` entry point, as CI and pre-commit run it."""
    junk = tmp_path / "junk.model"
    junk.write_bytes(os.urandom(4096))
    script = Path(sys.executable).with_name("mar-lint")
    run = subprocess.run(
        [str(script), "check", "--format", "json", "--select", "MAR0", str(junk)],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert json.loads(run.stdout)["archives"][0]["findings"][0]["code"] == "MAR001"


def test_sample_fixture_from_the_readme_is_clean():
    result = check(FIXTURES / "digits.model")
    assert result.exit_code == 0 and result.findings == []
    result = check(FIXTURES / "digits-broken.model")
    assert result.exit_code == 1
    # The codes CI's wheel step (.ci/wheel.sh) expects of the installed wheel, too.
    assert result.codes == set((FIXTURES / "digits-broken.codes").read_text().split())
