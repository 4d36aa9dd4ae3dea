"""Shared fixtures: real MXNet models exported once per test session, and a way to run the
real CLI and read what a user would see."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from builders import ArchiveSpec, ExportedModel, mlp, tiny_cnn, zoo_model
from click.testing import CliRunner

from mar_lint.cli import main
from mar_lint.runner import shared_sandboxes


@pytest.fixture(autouse=True)
def plain_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests see what a user at a terminal-less shell sees, also when CI itself runs on
    GitHub Actions (which would switch the default output format)."""
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)


@pytest.fixture(scope="session", autouse=True)
def one_mxnet_sandbox() -> Iterator[None]:
    """In-process CLI runs (run_cli, CliRunner) share one MXNet sandbox for the session
    instead of importing MXNet once per command; tests that need their own make a Sandbox or
    Checker with other limits, or run the CLI in a child process."""
    with shared_sandboxes():
        yield


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def mlp_model(models_dir: Path) -> ExportedModel:
    return mlp(models_dir)


@pytest.fixture(scope="session")
def cnn_model(models_dir: Path) -> ExportedModel:
    return tiny_cnn(models_dir)


@pytest.fixture(scope="session")
def resnet_model(models_dir: Path) -> ExportedModel:
    return zoo_model("resnet18_v1", models_dir)


@pytest.fixture(scope="session")
def mobilenet_model(models_dir: Path) -> ExportedModel:
    return zoo_model("mobilenet0.25", models_dir)


@pytest.fixture(scope="session")
def squeezenet_model(models_dir: Path) -> ExportedModel:
    return zoo_model("squeezenet1.0", models_dir)


class Result:
    """What `mar-lint check --format json` told the user."""

    def __init__(self, exit_code: int, output: str, stderr: str) -> None:
        self.exit_code = exit_code
        self.output = output
        self.stderr = stderr
        self.document: dict[str, Any] = json.loads(output) if output.startswith("{") else {}

    @property
    def findings(self) -> list[dict[str, Any]]:
        return [f for archive in self.document.get("archives", []) for f in archive["findings"]]

    @property
    def codes(self) -> set[str]:
        return {f["code"] for f in self.findings}

    def only(self, code: str) -> list[dict[str, Any]]:
        return [f for f in self.findings if f["code"] == code]


def run_cli(*args: str) -> Result:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return Result(result.exit_code, result.stdout, result.stderr)


def check(*paths: Path, args: tuple[str, ...] = ()) -> Result:
    return run_cli("check", "--format", "json", *args, *map(str, paths))


@pytest.fixture
def spec_of(tmp_path: Path):
    """spec_of(model, **changes) -> ArchiveSpec; .write(tmp_path / 'x.model')."""

    def make(model: ExportedModel, **changes: Any) -> ArchiveSpec:
        return ArchiveSpec(model, **changes)

    return make


@functools.cache
def registry_unreachable() -> str | None:
    """Why the package registry pip uses cannot be reached, or None when it can: the
    integration steps that install from it skip with that reason instead of failing (or
    waiting on pip's retries) offline. One quick request, asked once per session."""
    configured = subprocess.run(
        [sys.executable, "-m", "pip", "config", "get", "global.index-url"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    index = os.environ.get("PIP_INDEX_URL") or configured or "https://pypi.org/simple"
    try:
        with urllib.request.urlopen(index.rstrip("/") + "/setuptools/", timeout=5) as answer:
            answer.read(1)
    except (OSError, urllib.error.URLError) as exc:
        return f"the package registry {index} is unreachable ({exc})"
    return None


def needs_registry() -> None:
    """Skip the calling test when the package registry is unreachable."""
    reason = registry_unreachable()
    if reason:
        pytest.skip(reason)
