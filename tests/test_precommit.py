"""The real `pre-commit try-repo` with this repository's `.pre-commit-hooks.yaml`, run in a
temporary git repository of models: the `mar-lint` hook passes on clean archives and model
folders and fails on a broken archive.

pre-commit builds the hook's own virtualenv from the repository and pip-installs mar-lint's
dependencies from PyPI into it (no mxnet: the hook must work without it, reporting MAR902).
try-repo only sees committed and tracked files, so the working tree (new files included) is
first snapshotted into a temporary git repository. The `mar-lint-repack` hook fixes staged
archives in place and fails the commit when it changed one, as formatters do.

An integration step of its own (`pytest -m integration`, .ci/integration.sh): building the
hook's environment takes about a minute, and it needs the package registry, so it skips
cleanly when the registry cannot be reached.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from builders import ArchiveSpec
from conftest import needs_registry

ROOT = Path(__file__).parents[1]
PRE_COMMIT = Path(sys.executable).with_name("pre-commit")

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not PRE_COMMIT.exists() or shutil.which("git") is None,
        reason="needs git and pre-commit (the `test` extra)",
    ),
]


def git(*args: str, cwd: Path) -> str:
    env = dict(
        os.environ,
        GIT_AUTHOR_NAME="test",
        GIT_AUTHOR_EMAIL="test@example.com",
        GIT_COMMITTER_NAME="test",
        GIT_COMMITTER_EMAIL="test@example.com",
    )
    run = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    return run.stdout


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This working tree as a one-commit git repository, as pre-commit clones it."""
    needs_registry()  # pre-commit pip-installs the hook's dependencies
    snapshot = tmp_path_factory.mktemp("mar-lint-repo")
    listed = git("ls-files", "--cached", "--others", "--exclude-standard", "-z", cwd=ROOT)
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():  # tracked files deleted in the working tree are left out
            (snapshot / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, snapshot / name)
    git("init", "-q", cwd=snapshot)
    git("add", "-A", cwd=snapshot)
    git("commit", "-q", "-m", "snapshot", cwd=snapshot)
    return snapshot


def try_repo(
    hook_repo: Path, models: Path, *args: str, hook: str = "mar-lint"
) -> subprocess.CompletedProcess[str]:
    # One home per session: the hook environment is built once and reused by every call.
    home = Path(os.environ.get("PYTEST_PRE_COMMIT_HOME", hook_repo.parent / "pre-commit-home"))
    env = dict(os.environ, PRE_COMMIT_HOME=str(home))
    for name in ("GITHUB_ACTIONS", "PYTHONPATH"):
        env.pop(name, None)
    return subprocess.run(
        [str(PRE_COMMIT), "try-repo", str(hook_repo), hook, "--verbose", *args],
        cwd=models,
        env=env,
        capture_output=True,
        text=True,
    )


def test_hook_passes_clean_models_and_fails_a_broken_archive(tmp_path, hook_repo, mlp_model):
    models = tmp_path / "models-repo"
    models.mkdir()
    git("init", "-q", cwd=models)
    ArchiveSpec(mlp_model).write(models / "clean.model")
    ArchiveSpec(mlp_model).write_folder(models / "digits")
    (models / "README.md").write_text("our models\n")
    git("add", "-A", cwd=models)
    git("commit", "-q", "-m", "models", cwd=models)

    clean = try_repo(hook_repo, models, "--all-files")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "mar-lint" in clean.stdout and "Passed" in clean.stdout
    # Both targets checked, once each; no mxnet in the hook's env, and every rule still ran.
    assert "Checked 2 archives: 0 errors, 0 warnings, 0 info" in clean.stdout
    assert "MAR902" not in clean.stdout

    ArchiveSpec(mlp_model, signature={"input_type": "image/jpg"}).write(models / "broken.model")
    git("add", "broken.model", cwd=models)
    broken = try_repo(hook_repo, models)  # the staged files, as on `git commit`
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert "Failed" in broken.stdout
    assert "broken.model" in broken.stdout and "MAR202 mime-type" in broken.stdout
    assert "Checked 1 archive: 1 error" in broken.stdout
    assert "Traceback" not in broken.stdout + broken.stderr


def test_repack_hook_fixes_staged_archives_and_fails_the_commit(tmp_path, hook_repo, mlp_model):
    models = tmp_path / "models-repo"
    models.mkdir()
    git("init", "-q", cwd=models)
    ArchiveSpec(mlp_model, signature={"input_type": "json"}).write(models / "sloppy.model")
    git("add", "-A", cwd=models)

    fixed = try_repo(hook_repo, models, hook="mar-lint-repack")
    assert fixed.returncode == 1, fixed.stdout + fixed.stderr
    assert "Failed" in fixed.stdout and "files were modified by this hook" in fixed.stdout
    assert "set input_type to 'application/json'" in fixed.stdout

    git("add", "-A", cwd=models)
    again = try_repo(hook_repo, models, hook="mar-lint-repack")
    assert again.returncode == 0, again.stdout + again.stderr
