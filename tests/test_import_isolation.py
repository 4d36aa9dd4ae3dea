"""No import path of ours ever holds the working folder or the checked folder (issue 15).

A model folder holding `json.py`, a `json/` package or `numpy.py` (which mxnet imports first)
is checked and explored from inside, with the installed `mar-lint` script, as people and
pre-commit run it. The planted module writes a sentinel file if it ever runs: in the MXNet
sandbox child (started with `-I`, a private working folder and an explicit import path), in
`--jobs` workers, or in mar-lint itself.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import mar_lint_rules
import pytest
from hostile_cases import (
    CASES,
    PLANTED_MODULES,
    SENTINEL,
    planted,
    sample_members,
    write_archive,
    write_folder,
)

# The real pre-commit harness: its hook_repo fixture snapshots this working tree.
from test_precommit import PRE_COMMIT, git, hook_repo, try_repo  # noqa: F401

import mar_lint

MAR_LINT = Path(sys.executable).with_name("mar-lint")
CASE_OF = {
    "json.py": "planted-json-module",
    "json/__init__.py": "planted-json-package",
    "numpy.py": "planted-numpy-module",
}


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(MAR_LINT), *args], cwd=cwd, capture_output=True, text=True)


@pytest.mark.parametrize("module", PLANTED_MODULES)
def test_a_module_in_the_checked_folder_never_runs(tmp_path, module):
    model = CASES[CASE_OF[module]](tmp_path)
    other = write_archive(tmp_path / "other.model", sample_members())
    runs = {
        "check": run(["check", "."], model),
        "check --jobs 2": run(["check", "--jobs", "2", ".", str(other)], model),
        "explore": run(["explore", "."], model),
        "explore --format json": run(["explore", "--format", "json", "."], model),
    }
    for command, done in runs.items():
        assert "Traceback" not in done.stderr, (command, done.stderr)
        assert done.returncode == 0, (command, done.stdout, done.stderr)
        assert not (tmp_path / SENTINEL).exists(), f"{module} ran under `mar-lint {command}`"
    # The graph really went through the sandbox (a planted numpy would have been imported).
    assert "MAR902" not in runs["check"].stdout


# What `python -m mar_lint` imports after runpy has handed over: the launcher, the early CRC
# pass and the command line. Before `scrub_import_path()` the working folder is first on the
# import path (runpy's own imports are Python's business, not ours).
LAUNCH_IMPORTS = ("__future__.py", "typing.py", "threading.py", "struct.py", "click.py")


@pytest.mark.parametrize("module", LAUNCH_IMPORTS)
def test_python_m_mar_lint_never_imports_from_the_working_folder(tmp_path, module):
    """As a plain install runs it: no `.pth` import hook has loaded `__future__` or anything
    else first (`-S`; the import path is given explicitly, after the working folder)."""
    model = planted(module)(tmp_path)
    # The packages as a plain install lays them out (an editable install maps them with an
    # import hook that `-S` leaves out), then the rest of this interpreter's import path.
    packages = tmp_path / "site"
    packages.mkdir()
    for package in (mar_lint, mar_lint_rules):
        (packages / package.__name__).symlink_to(Path(package.__file__).parent)
    import_path = [str(packages), *(p for p in sys.path if os.path.isabs(p))]
    done = subprocess.run(
        [sys.executable, "-S", "-m", "mar_lint", "check", "--format", "json", "."],
        cwd=model,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(import_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["summary"]["errors"] == 0
    assert not (tmp_path / SENTINEL).exists(), f"{module} in the working folder ran"


def pypi_reachable() -> bool:
    try:
        socket.create_connection(("pypi.org", 443), timeout=5).close()
    except OSError:
        return False
    return True


@pytest.mark.integration
@pytest.mark.skipif(not PRE_COMMIT.exists() or shutil.which("git") is None, reason="needs git")
@pytest.mark.parametrize("module", PLANTED_MODULES)
def test_pre_commit_hook_never_runs_a_module_at_the_repository_root(
    tmp_path,
    hook_repo,  # noqa: F811 - the fixture imported above
    module,
):
    """pre-commit runs hooks from the repository root: a json.py there is in the working
    folder of mar-lint and of every child it starts."""
    if not pypi_reachable():
        pytest.skip("pre-commit builds the hook's environment from PyPI, which is unreachable")
    repository = tmp_path / "models-repo"
    repository.mkdir()
    git("init", "-q", cwd=repository)
    write_folder(repository / "model", sample_members())
    sentinel = tmp_path / SENTINEL
    planted = repository / module  # at the root, next to the model folder
    planted.parent.mkdir(parents=True, exist_ok=True)
    planted.write_text(f"open({str(sentinel)!r}, 'w').write('ran')\n")
    git("add", "-A", cwd=repository)
    git("commit", "-q", "-m", "models", cwd=repository)
    done = try_repo(hook_repo, repository, "--all-files")
    assert "Traceback" not in done.stdout + done.stderr
    assert "Checked 1 archive" in done.stdout, done.stdout + done.stderr
    assert not sentinel.exists(), f"{module} ran under the pre-commit hook"
