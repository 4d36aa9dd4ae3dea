"""Output formats and the options CI uses: SARIF (validated against the official 2.1.0
schema), GitHub annotations, JUnit XML, --output-file, --statistics, --quiet, --exit-zero,
--jobs, and `rules`/`rule` as JSON."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
from builders import ArchiveSpec
from click.testing import CliRunner
from conftest import check, run_cli

from mar_lint.cli import main
from mar_lint.reporters.github import escape_data, escape_property

# The official schema (docs.oasis-open.org), copied into the repository: tests never download.
# Source and licence: tests/fixtures/sarif-schema-2.1.0.README.md.
SARIF_SCHEMA = Path(__file__).parent / "fixtures" / "sarif-schema-2.1.0.json"


@pytest.fixture(autouse=True)
def _not_on_github(monkeypatch):
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)


@pytest.fixture
def archives(tmp_path, mlp_model) -> tuple[Path, Path, Path]:
    """A clean archive, one with an error and a warning, and one that is not a zip."""
    clean = ArchiveSpec(mlp_model).write(tmp_path / "clean.model")
    broken = ArchiveSpec(
        mlp_model,
        signature={
            "input_type": "image/jpg",
            "inputs": [{"data_name": "data", "data_shape": [1, 12]}],
        },
    ).write(tmp_path / "my model, v2.model")  # a name GitHub and SARIF must escape
    junk = tmp_path / "junk.mar"
    junk.write_bytes(b"version https://git-lfs.github.com/spec/v1\n")
    return clean, broken, junk


def cli(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(main, list(args), catch_exceptions=False, env=env)


def test_sarif_validates_against_the_official_schema(archives):
    result = cli("check", "--format", "sarif", *map(str, archives))
    assert result.exit_code == 1
    log = json.loads(result.stdout)
    schema = json.loads(SARIF_SCHEMA.read_text())
    jsonschema.Draft4Validator(schema).validate(log)
    [run] = log["runs"]
    rules = run["tool"]["driver"]["rules"]
    by_id = {r["id"]: r for r in rules}
    assert by_id["MAR203"]["name"] == "batch-dimension"
    assert by_id["MAR203"]["defaultConfiguration"]["level"] == "error"
    assert by_id["MAR902"]["defaultConfiguration"]["level"] == "note"
    assert "MMS issue #45" in by_id["MAR203"]["help"]["text"]
    assert "Fix:" not in by_id["MAR203"]["fullDescription"]["text"]  # the why, not the fix
    results = {r["ruleId"]: r for r in run["results"]}
    assert set(results) == {"MAR001", "MAR202", "MAR203"}
    warning = results["MAR203"]
    assert warning["level"] == "warning" and rules[warning["ruleIndex"]]["id"] == "MAR203"
    [location] = warning["locations"]
    uri = location["physicalLocation"]["artifactLocation"]["uri"]
    assert uri.startswith("file:///") and uri.endswith("/my%20model%2C%20v2.model")
    [logical] = location["logicalLocations"]
    assert logical["fullyQualifiedName"] == "signature.json/inputs/0/data_shape/0"
    assert warning["properties"]["fix"] == {"summary": "set the batch dimension to 0", "safe": True}
    # What MMS does with each, per rule and per finding.
    assert warning["properties"]["consequence"] == "unchecked-risk"
    assert results["MAR202"]["properties"]["consequence"] == "refused"
    assert by_id["MAR205"]["properties"]["consequence"] == "wrong-answers"
    assert "consequence" not in by_id["MAR901"]["properties"]  # about mar-lint itself


def test_sarif_keeps_relative_paths_relative(archives, monkeypatch):
    monkeypatch.chdir(archives[0].parent)
    log = json.loads(cli("check", "--format", "sarif", "junk.mar").stdout)
    [result] = log["runs"][0]["results"]
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "junk.mar"
    assert "logicalLocations" not in result["locations"][0]  # about the whole file


def test_github_annotations(archives, monkeypatch):
    monkeypatch.chdir(archives[0].parent)
    result = cli("check", "--format", "github", "clean.model", "my model, v2.model", "junk.mar")
    lines = result.stdout.splitlines()
    assert result.exit_code == 1
    assert (
        "::warning file=my model%2C v2.model,title=MAR203 batch-dimension::"
        "signature.json:/inputs/0/data_shape/0: inputs[0] 'data' has batch dimension 1 in "
        "[1, 12]; write 0 (any batch)%0Afix: set the batch dimension to 0"
    ) in lines
    assert any(
        line.startswith("::error file=junk.mar,title=MAR001 archive-unreadable::") for line in lines
    )
    assert lines[-1] == "mar-lint: checked 3 archive(s): 2 error(s), 1 warning(s), 0 info"
    assert not any("\x1b[" in line for line in lines)


def test_github_format_is_chosen_on_github_actions(archives):
    result = cli("check", str(archives[2]), env={"GITHUB_ACTIONS": "true"})
    assert result.stdout.startswith("::error file=")
    explicit = cli("check", "--format", "json", str(archives[2]), env={"GITHUB_ACTIONS": "true"})
    assert json.loads(explicit.stdout)["summary"]["errors"] == 1


def test_github_escaping():
    assert escape_data("50%\r\nnext") == "50%25%0D%0Anext"
    assert escape_property("a:b,c%") == "a%3Ab%2Cc%25"


def test_github_paths_relative_to_the_workspace(archives):
    workspace = str(archives[0].parent)
    result = cli(
        "check", "--format", "github", str(archives[2]), env={"GITHUB_WORKSPACE": workspace}
    )
    assert result.stdout.startswith("::error file=junk.mar,")


def test_junit_xml(archives):
    result = cli("check", "--format", "junit", *map(str, archives))
    root = ET.fromstring(result.stdout)
    assert root.tag == "testsuites" and root.get("failures") == "3"
    suites = {Path(s.get("name")).name: s for s in root.iter("testsuite")}
    assert list(suites) == ["clean.model", "my model, v2.model", "junk.mar"]
    [clean_case] = suites["clean.model"]
    assert clean_case.get("name") == "mar-lint" and len(clean_case) == 0  # passed
    cases = {c.get("name"): c for c in suites["my model, v2.model"]}
    assert suites["my model, v2.model"].get("failures") == "2"
    failure = cases["MAR203 batch-dimension signature.json:/inputs/0/data_shape/0"].find("failure")
    assert failure.get("type") == "warning" and "fix: set the batch dimension to 0" in failure.text


def test_junit_survives_control_characters_in_member_names(tmp_path, mlp_model):
    """A finding about a member, in an archive, whose names hold characters XML 1.0 cannot
    hold even escaped: they are written as \\xNN, and the report stays well-formed."""
    spec = ArchiveSpec(mlp_model, extra=[("notes\x01.pyc", "x")])  # MAR008 names the member
    path = spec.write(tmp_path / "m\x02.model")
    result = cli("check", "--format", "junit", "--select", "MAR008", str(path))
    [suite] = ET.fromstring(result.stdout)  # still well-formed XML
    assert suite.get("name") == str(tmp_path / "m\\x02.model")
    [case] = suite
    assert case.get("name") == "MAR008 junk-member notes\\x01.pyc"


@pytest.mark.parametrize("output_format", ["json", "sarif", "github", "junit"])
def test_machine_formats_never_wrap(archives, output_format):
    long_name = archives[0].parent / ("x" * 150 + ".model")
    archives[1].rename(long_name)
    result = cli("check", "--format", output_format, str(long_name))
    assert str(long_name) in result.stdout or long_name.name in result.stdout
    assert "\x1b[" not in result.stdout


def test_output_file(archives, tmp_path):
    target = tmp_path / "report.sarif"
    result = cli("check", "--format", "sarif", "--output-file", str(target), str(archives[1]))
    assert result.exit_code == 1 and result.stdout == ""
    assert json.loads(target.read_text())["version"] == "2.1.0"
    text = tmp_path / "report.txt"
    cli("check", "-o", str(text), str(archives[1]))
    assert "Checked 1 archive: 1 error, 1 warning, 0 info" in text.read_text()


def test_statistics(archives):
    result = cli("check", "--statistics", *map(str, archives))
    tail = result.stdout.splitlines()[-3:]
    assert tail == [
        "1  MAR001  archive-unreadable       error",
        "1  MAR202  mime-type                error     [*]",
        "1  MAR203  batch-dimension          warning   [*]",
    ]
    machine = cli("check", "--format", "json", "--statistics", *map(str, archives))
    assert json.loads(machine.stdout)["summary"]["errors"] == 2  # stdout stays one document
    assert "MAR203  batch-dimension" in machine.stderr


def test_quiet_shows_only_findings(archives):
    result = cli("check", "--quiet", *map(str, archives))
    assert "clean.model" not in result.stdout and "Checked" not in result.stdout
    assert "MAR203 batch-dimension" in result.stdout
    assert cli("check", "-q", str(archives[0])).stdout == ""


def test_exit_zero_and_fail_on(archives):
    assert cli("check", "--exit-zero", *map(str, archives)).exit_code == 0
    # Without its error, the broken archive's warning fails the run only with --fail-on warning.
    assert check(archives[1], args=("--ignore", "MAR202")).exit_code == 0
    assert check(archives[1], args=("--ignore", "MAR202", "--fail-on", "warning")).exit_code == 1
    assert check(archives[0], args=("--fail-on", "info")).exit_code == 0


def test_jobs_give_the_same_reports_in_input_order(archives, tmp_path, mlp_model):
    many = [*archives]
    for index in range(5):
        many.append(ArchiveSpec(mlp_model).write(tmp_path / f"extra-{index}.model"))
    serial = check(*many)
    parallel = check(*many, args=("--jobs", "2"))
    assert parallel.document["archives"] == serial.document["archives"]
    assert [a["path"] for a in parallel.document["archives"]] == list(map(str, many))
    assert parallel.exit_code == serial.exit_code == 1


def test_files_of_a_model_folder_check_the_folder_once(tmp_path, mlp_model, monkeypatch):
    spec = ArchiveSpec(mlp_model, signature={"input_type": "image/jpg"})
    spec.write_folder(tmp_path / "models" / "digits")
    (tmp_path / "exports").mkdir()
    (tmp_path / "exports" / "raw-symbol.json").write_bytes(mlp_model.symbol)
    monkeypatch.chdir(tmp_path)
    result = check(
        Path("models/digits/MANIFEST.json"),
        Path("models/digits/signature.json"),
        Path("exports/raw-symbol.json"),  # in no model folder: not an archive, skipped
    )
    assert [a["path"] for a in result.document["archives"]] == ["models/digits"]
    assert result.codes == {"MAR202"}
    loose = run_cli("check", "exports/raw-symbol.json")
    assert loose.exit_code == 0 and "nothing to check" in loose.stderr


def test_rules_as_json():
    listing = json.loads(run_cli("rules", "--format", "json").output)
    entry = next(r for r in listing if r["code"] == "MAR203")
    assert entry["name"] == "batch-dimension" and entry["severity"] == "error"
    assert "MMS issue #45" in entry["doc"] and entry["origin"].startswith("signature")
    single = json.loads(run_cli("rule", "MAR902", "--format", "json").output)
    assert single["code"] == "MAR902" and single["severity"] == "info"


def test_json_findings_carry_their_consequence(archives):
    document = json.loads(cli("check", "--format", "json", *map(str, archives[1:])).stdout)
    broken, junk = document["archives"]
    assert {f["code"]: f["consequence"] for f in broken["findings"]} == {
        "MAR202": "refused",
        "MAR203": "unchecked-risk",
    }
    assert [f["consequence"] for f in junk["findings"]] == ["refused"]
