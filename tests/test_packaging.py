"""Ship what is tested: packages are discovered, not listed by hand, so a new subpackage is
in the built wheel. The wheel CI installs and runs is built by .ci/wheel.sh."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import needs_registry

ROOT = Path(__file__).parents[1]

pytestmark = pytest.mark.integration


def scratch_copy(target: Path) -> Path:
    """The working tree's tracked and new files (what a clone plus the change would hold)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            (target / name).write_bytes(source.read_bytes())
    return target


def test_a_new_subpackage_is_in_the_wheel(tmp_path):
    needs_registry()  # the isolated build installs setuptools from the registry
    repo = scratch_copy(tmp_path / "repo")
    (repo / "mar_lint" / "throwaway").mkdir()
    (repo / "mar_lint" / "throwaway" / "__init__.py").write_text('"""Added after the fact."""\n')
    build = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(tmp_path / "dist"), str(repo)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    assert "absent from the `packages` configuration" not in build.stdout + build.stderr
    [wheel] = (tmp_path / "dist").glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "mar_lint/throwaway/__init__.py" in names
    assert {
        "mar_lint/schemas/manifest-0.4.0.json",
        "mar_lint/shapes/mxnet_ops.json",
        "mar_lint_rules/graph.py",
        "mar_lint_rules/weights.py",
    } <= names
    assert not any(name.startswith(("rules/", "tests/")) for name in names)
