"""Rule loading fails closed: when the built-in rules are not all registered, `check`,
`explore` and `repack` exit 2 and say why, instead of "no problems found".

Each case is a real Python environment, not a patched one: the interpreter runs isolated
(`-I -S`: no PYTHONPATH, no site-packages) with an explicit import path that holds the
package's dependencies but not this install's metadata, plus the case's own copy of the code.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
BROKEN_SAMPLE = ROOT / "tests" / "fixtures" / "digits-broken.model"
RUN_CLI = "import sys; sys.path[:0] = sys.argv[1].split('|'); from mar_lint.cli import main; main(sys.argv[2:], 'mar-lint')"


@pytest.fixture(scope="module")
def dependencies(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The venv's site-packages without mar-lint's own entries (its dist-info and the
    editable install's finder): what a bundle or a bare source checkout has."""
    site = Path(sysconfig.get_paths()["purelib"])
    bare = tmp_path_factory.mktemp("dependencies")
    for entry in site.iterdir():
        if not entry.name.startswith(("mar_lint", "mar-lint", "__editable__")):
            (bare / entry.name).symlink_to(entry)
    return bare


def mar_lint(path: list[Path], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-I", "-S", "-c", RUN_CLI, "|".join(map(str, path)), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_refused(run: subprocess.CompletedProcess[str], why: str) -> None:
    assert run.returncode == 2, run.stdout + run.stderr
    assert why in run.stderr and "Nothing was checked" in run.stderr
    assert "no problems found" not in run.stdout and "Traceback" not in run.stderr


def test_a_source_checkout_without_metadata_refuses_to_check(dependencies, tmp_path):
    """The repository on the import path, as PYTHONPATH=. gives it: no entry points at all."""
    path = [ROOT, dependencies]
    reason = "the built-in rules (mar_lint_rules) cannot be imported"
    assert_refused(mar_lint(path, "check", str(BROKEN_SAMPLE)), reason)
    assert_refused(mar_lint(path, "explore", "--format", "json", str(BROKEN_SAMPLE)), reason)
    out = tmp_path / "fixed.model"
    assert_refused(mar_lint(path, "repack", str(BROKEN_SAMPLE), "-o", str(out)), reason)
    assert not out.exists()


def test_a_stale_install_missing_a_new_rule_module_refuses_to_check(dependencies, tmp_path):
    """An install whose metadata predates a rule module added since (a stale editable
    install): the module is there, its entry point is not."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "mar_lint").symlink_to(ROOT / "mar_lint")
    shutil.copytree(ROOT / "rules", site / "mar_lint_rules")
    (site / "mar_lint_rules" / "licence.py").write_text('"""A rule module added later."""\n')
    modules = sorted(p.stem for p in (ROOT / "rules").glob("[!_]*.py"))
    dist_info = site / "mar_lint-0.1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: mar-lint\nVersion: 0.1.0\n")
    (dist_info / "entry_points.txt").write_text(
        "[mar_lint.rules]\n" + "".join(f"{m} = mar_lint_rules.{m}\n" for m in modules)
    )
    run = mar_lint([site, dependencies], "check", str(BROKEN_SAMPLE))
    assert_refused(run, "mar_lint_rules.licence is not registered")
    assert f"{len(modules)} of {len(modules) + 1} built-in rule modules loaded" in run.stderr

    (dist_info / "entry_points.txt").write_text(
        "[mar_lint.rules]\n" + "".join(f"{m} = mar_lint_rules.{m}\n" for m in [*modules, "licence"])
    )
    complete = mar_lint([site, dependencies], "check", "--select", "MAR0,MAR1", str(BROKEN_SAMPLE))
    assert complete.returncode == 1, complete.stdout + complete.stderr
    assert "MAR" in complete.stdout
