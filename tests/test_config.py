"""Configuration: `[tool.mar-lint]` in pyproject.toml or `.mar-lint.toml`, found upward from
the working folder or given with --config; defaults < file < command line; every mistake in
the file exits 2 naming the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest
from builders import ArchiveSpec
from conftest import check, run_cli

from mar_lint.config import ConfigError, load_settings
from mar_lint.findings import Severity
from mar_lint.registry import load_registry

KNOWN = [r.code for r in load_registry().rules]


@pytest.fixture
def project(tmp_path, monkeypatch, mlp_model) -> Path:
    """A project folder holding one archive with an error (MAR202) and a warning (MAR203);
    the tests run from it."""
    spec = ArchiveSpec(
        mlp_model,
        signature={
            "input_type": "image/jpg",
            "inputs": [{"data_name": "data", "data_shape": [1, 12]}],
        },
    )
    (tmp_path / "models").mkdir()
    spec.write(tmp_path / "models" / "m.model")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    return tmp_path


ARCHIVE = Path("models/m.model")


def test_without_a_file_every_rule_runs(project):
    result = check(ARCHIVE)
    assert result.codes == {"MAR202", "MAR203"} and result.exit_code == 1


def test_pyproject_table_is_found_from_a_subfolder(project, monkeypatch):
    (project / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.mar-lint]\nignore = ["MAR202"]\n'
    )
    monkeypatch.chdir(project / "models")
    result = check(Path("m.model"))
    assert result.codes == {"MAR203"} and result.exit_code == 0


def test_pyproject_without_the_table_is_passed_over(project, monkeypatch):
    (project / ".mar-lint.toml").write_text('ignore = ["MAR203"]\n')
    (project / "models" / "pyproject.toml").write_text('[project]\nname = "x"\n')
    monkeypatch.chdir(project / "models")
    assert check(Path("m.model")).codes == {"MAR202"}


def test_dot_file_wins_over_pyproject_in_the_same_folder(project):
    (project / "pyproject.toml").write_text('[tool.mar-lint]\nignore = ["MAR202"]\n')
    (project / ".mar-lint.toml").write_text('ignore = ["MAR203"]\n')
    assert check(ARCHIVE).codes == {"MAR202"}


def test_explicit_config_file(project, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("shared") / "team.toml"
    elsewhere.write_text('select = ["MAR203"]\n')
    (project / ".mar-lint.toml").write_text('ignore = ["MAR203"]\n')  # not used: --config wins
    assert check(ARCHIVE, args=("--config", str(elsewhere))).codes == {"MAR203"}


def test_command_line_wins_over_the_file(project):
    (project / ".mar-lint.toml").write_text(
        'select = ["MAR203"]\nextend-select = ["MAR1"]\nfail-on = "warning"\n'
    )
    assert check(ARCHIVE).exit_code == 1  # the warning fails the run
    assert check(ARCHIVE, args=("--fail-on", "error")).exit_code == 0
    # --select replaces the file's select and extend-select
    assert check(ARCHIVE, args=("--select", "MAR202")).codes == {"MAR202"}
    assert check(ARCHIVE, args=("--extend-select", "MAR202")).codes == {"MAR202", "MAR203"}


def test_command_line_ignore_adds_to_the_file(project):
    (project / ".mar-lint.toml").write_text('ignore = ["MAR202"]\n')
    assert check(ARCHIVE, args=("--ignore", "MAR203")).codes == set()


def test_per_path_ignores_match_the_archive_path(project, mlp_model):
    (project / "legacy").mkdir()
    (project / "models" / "m.model").rename(project / "legacy" / "old.model")
    ArchiveSpec(mlp_model, signature={"input_type": "image/jpg"}).write(
        project / "models" / "m.model"
    )
    (project / ".mar-lint.toml").write_text(
        '[per-path-ignores]\n"legacy/*.model" = ["MAR2"]\n"m.model" = ["MAR203"]\n'
    )
    result = check(Path("legacy"), Path("models"))
    by_archive = {
        Path(a["path"]).name: {f["code"] for f in a["findings"]}
        for a in result.document["archives"]
    }
    assert by_archive == {"old.model": set(), "m.model": {"MAR202"}}


def test_per_path_patterns_are_relative_to_the_config_file(project, monkeypatch):
    (project / ".mar-lint.toml").write_text('[per-path-ignores]\n"models/**/*.model" = ["MAR2"]\n')
    monkeypatch.chdir(project / "models")
    assert check(Path("m.model")).codes == set()


def test_severity_overrides(project):
    (project / ".mar-lint.toml").write_text('[severity]\nMAR202 = "info"\nMAR203 = "error"\n')
    result = check(ARCHIVE)
    assert {(f["code"], f["severity"]) for f in result.findings} == {
        ("MAR202", "info"),
        ("MAR203", "error"),
    }
    assert result.exit_code == 1 and result.document["summary"]["errors"] == 1


def test_targets_and_limits_from_the_file(project):
    (project / ".mar-lint.toml").write_text(
        'mms-version = "0.1.5"\nmxnet-version = "1.2.0"\n\n'
        "[limits]\nmax-members = 50\nmxnet-timeout = 30.5\n"
    )
    settings = load_settings(None, project, KNOWN)
    assert settings.mms_version == "0.1.5" and settings.mxnet_version == "1.2.0"
    assert settings.limits.max_members == 50 and settings.limits.mxnet_timeout == 30.5
    assert settings.limits.max_json_depth == 64  # untouched limits keep their defaults
    [finding] = check(ARCHIVE).only("MAR102")
    assert "MMS 0.1.5" in finding["message"] and "'License'" in finding["message"]


def test_engine_from_the_file_and_the_command_line(project):
    """`engine = "mxnet"` asks MXNet in its sandbox; `--engine` replaces the file's choice."""
    (project / ".mar-lint.toml").write_text('engine = "mxnet"\n')
    assert load_settings(None, project, KNOWN).engine == "mxnet"
    assert load_settings(None, project.parent, KNOWN).engine == "native"  # the default
    native = run_cli("check", "--format", "json", "--engine", "native", str(ARCHIVE))
    assert native.exit_code == 1 and native.codes == {"MAR202", "MAR203"}


def test_defaults_without_a_file(tmp_path):
    settings = load_settings(None, tmp_path, KNOWN)
    assert settings.fail_on is Severity.ERROR and settings.selects("MAR203")


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ('selct = ["MAR2"]\n', "selct: unknown key"),
        ('select = ["MAR999"]\n', "select: 'MAR999' matches no rule"),
        ('ignore = "MAR2"\n', "ignore: must be a list of rule codes"),
        (
            '[per-path-ignores]\n"a/*" = ["XYZ1"]\n',
            "per-path-ignores.'a/*': 'XYZ1' matches no rule",
        ),
        ("[severity]\nMAR2 = 'info'\n", "severity.MAR2: 'MAR2' is not a rule code"),
        ("[severity]\nMAR203 = 'fatal'\n", "severity.MAR203: must be one of error, warning, info"),
        ('fail-on = "warn"\n', "fail-on: must be one of error, warning, info, not 'warn'"),
        ("[limits]\nmax-member = 5\n", "limits.max-member: unknown limit"),
        ("[limits]\nmax-members = -1\n", "limits.max-members: must be a positive whole number"),
        ("[limits]\nmax-members = 1.5\n", "limits.max-members: must be a positive whole number"),
        ("mms-version = 0.4\n", 'mms-version: must be a string, like "0.4"'),
        ('mms-version = "banana"\n', "mms-version: 'banana' is not a version number"),
        ('mxnet-version = "one"\n', "mxnet-version: 'one' is not a version"),
        ('engine = "tvm"\n', "engine: must be one of native, mxnet, not 'tvm'"),
        ("select = [\n", "not valid TOML"),
    ],
)
def test_configuration_errors_exit_2_naming_file_and_key(project, text, error):
    config = project / ".mar-lint.toml"
    config.write_text(text)
    result = run_cli("check", str(ARCHIVE))
    assert result.exit_code == 2 and result.output == ""
    assert f"Error: {config.absolute()}" in result.stderr and error in result.stderr
    with pytest.raises(ConfigError, match="^" + str(config)):
        load_settings(None, project, KNOWN)


def test_explicit_pyproject_without_the_table_is_an_error(project):
    (project / "pyproject.toml").write_text('[project]\nname = "x"\n')
    result = run_cli("check", "--config", "pyproject.toml", str(ARCHIVE))
    assert result.exit_code == 2 and "pyproject.toml: no [tool.mar-lint] table" in result.stderr


def test_missing_config_file_is_a_usage_error(project):
    result = run_cli("check", "--config", "nowhere.toml", str(ARCHIVE))
    assert result.exit_code == 2 and "nowhere.toml" in result.stderr
