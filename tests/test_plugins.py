"""Third-party rules through the `mar_lint.rules` entry-point group: the example plugin in
tests/fixtures/ is really built and installed (into a temporary folder on PYTHONPATH, never
into the test venv), and the real CLI runs in a child process that discovers it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from builders import ArchiveSpec

FIXTURES = Path(__file__).parent / "fixtures"
# The graph rules (MXNet in a sandbox) have nothing to say about plugins: leave them out.
NO_GRAPH = ("--ignore", "MAR204,MAR205,MAR3")


def install(plugin: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """pip-install a fixture package into a fresh target folder; returns the folder."""
    source = tmp_path_factory.mktemp("source") / plugin
    shutil.copytree(FIXTURES / plugin, source)
    shutil.copy(FIXTURES / "wheel_backend.py", source)  # its in-tree build backend
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            "--no-build-isolation",
            "--target",
            str(target),
            str(source),
        ],
        check=True,
    )
    return target


@pytest.fixture(scope="module")
def example_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return install("example_plugin", tmp_path_factory)


@pytest.fixture(scope="module")
def broken_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return install("broken_plugin", tmp_path_factory)


def mar_lint(site: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(site))
    env.pop("GITHUB_ACTIONS", None)
    return subprocess.run(
        [sys.executable, "-m", "mar_lint", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
    )


def codes_of(run: subprocess.CompletedProcess[str]) -> set[str]:
    document = json.loads(run.stdout)
    return {f["code"] for archive in document["archives"] for f in archive["findings"]}


@pytest.fixture
def mixed_case(tmp_path, mlp_model) -> Path:
    spec = ArchiveSpec(mlp_model, signature={"input_type": "image/jpg"})
    spec.manifest["Model"]["Model-Name"] = "DigitNet"
    return spec.write(tmp_path / "m.model")


def test_plugin_rule_runs_and_obeys_select_and_ignore(example_site, mixed_case):
    run = mar_lint(example_site, "check", "--format", "json", *NO_GRAPH, str(mixed_case))
    assert run.returncode == 1, run.stderr
    document = json.loads(run.stdout)
    [finding] = [f for f in document["archives"][0]["findings"] if f["code"] == "ACME101"]
    assert finding["name"] == "model-name-case" and finding["severity"] == "error"
    assert finding["message"] == "Model-Name 'DigitNet' is not lower-case"
    assert finding["location"] == "/Model/Model-Name" and finding["fixable"]
    assert codes_of(run) == {"ACME101", "MAR202"}  # the built-ins ran too

    ignored = mar_lint(
        example_site, "check", "--format", "json", "--ignore", "ACME", *NO_GRAPH, str(mixed_case)
    )
    assert codes_of(ignored) == {"MAR202"}
    selected = mar_lint(
        example_site, "check", "--format", "json", "--select", "ACME101", str(mixed_case)
    )
    assert codes_of(selected) == {"ACME101"}


def test_plugin_codes_work_in_the_configuration_file(example_site, mixed_case, tmp_path):
    (tmp_path / ".mar-lint.toml").write_text('ignore = ["MAR2"]\nseverity.ACME101 = "warning"\n')
    run = mar_lint(
        example_site, "check", "--format", "json", *NO_GRAPH, str(mixed_case), cwd=tmp_path
    )
    assert run.returncode == 0, run.stderr  # ACME101 demoted to a warning, MAR202 ignored
    [finding] = json.loads(run.stdout)["archives"][0]["findings"]
    assert (finding["code"], finding["severity"]) == ("ACME101", "warning")


def test_plugin_rule_is_documented(example_site):
    listing = mar_lint(example_site, "rules")
    assert "ACME101  model-name-case" in listing.stdout
    explained = mar_lint(example_site, "rule", "acme101")
    # A plugin rule that states no consequence predicts a risk MMS does not check.
    assert explained.stdout.startswith("ACME101 model-name-case (error; risk MMS does not check)")
    assert "URL nobody can guess" in explained.stdout
    [entry] = [
        r
        for r in json.loads(mar_lint(example_site, "rules", "--format", "json").stdout)
        if r["code"] == "ACME101"
    ]
    assert entry["origin"] == "acme (acme_mar_rules)"
    assert entry["consequence"] == "unchecked-risk"


def test_plugin_that_fails_to_import_is_reported_and_builtins_still_run(broken_site, mixed_case):
    run = mar_lint(broken_site, "check", "--format", "json", *NO_GRAPH, str(mixed_case))
    assert run.returncode == 1 and "Traceback" not in run.stderr
    document = json.loads(run.stdout)
    [failure] = [f for f in document["archives"][0]["findings"] if f["code"] == "MAR903"]
    assert "broken (broken_mar_rules)" in failure["message"]
    assert "No module named 'acme_internal_sdk'" in failure["message"]
    assert "MAR202" in codes_of(run)
    assert "MAR903" not in codes_of(
        mar_lint(
            broken_site,
            "check",
            "--format",
            "json",
            "--ignore",
            "MAR903",
            *NO_GRAPH,
            str(mixed_case),
        )
    )


@pytest.fixture(scope="module")
def twin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return install("twin_plugin", tmp_path_factory)


def test_a_rule_imported_into_another_module_registers_once(twin_site, mixed_case):
    """twin_release imports twin_naming's rule: it is twin_naming's alone, not a code
    "already provided" (MAR903)."""
    listing = json.loads(mar_lint(twin_site, "rules", "--format", "json").stdout)
    origins = {r["code"]: r["origin"] for r in listing if r["code"].startswith("TWIN")}
    assert origins == {
        "TWIN101": "twin-naming (twin_naming)",
        "TWIN102": "twin-release (twin_release)",
    }
    run = mar_lint(
        twin_site, "check", "--format", "json", "--select", "TWIN,MAR903", str(mixed_case)
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert codes_of(run) == set()  # no MAR903 about TWIN101
