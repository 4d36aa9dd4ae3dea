"""House rules the code keeps: rules never import each other (shared facts live on
`ModelView`), and the facts several rules and `explore` need are read in one place; functions
fit one screen (or say in their docstring why not: "Long because ..."), rule modules stay small
and nearly free of `type: ignore`; and each import contract in pyproject.toml breaks when its
layer is crossed (CI runs `lint-imports` itself: .ci/guards.sh)."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # the package needs 3.11, but ruff's target is 3.9
    import tomli as tomllib


ROOT = Path(__file__).parents[1]
RULES = ROOT / "rules"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_rules_never_import_each_other():
    for path in sorted(RULES.glob("*.py")):
        others = {m for m in imported_modules(path) if m.split(".")[0] == "mar_lint_rules"}
        assert not others, f"{path.name} imports {sorted(others)}: put the fact on ModelView"


def test_labels_and_service_are_read_only_by_the_model_view():
    # synset.txt and the service file are parsed in mar_lint/model.py (via services.py);
    # neither the rules nor explore parse them on their own.
    package = Path(__file__).parents[1] / "mar_lint"
    for path in [*sorted(RULES.glob("*.py")), *sorted((package / "explore").glob("*.py"))]:
        text = path.read_text(encoding="utf-8")
        assert '"synset.txt"' not in text, path.name
        assert "parse_service(" not in text and "ast.parse(" not in text, path.name


# -- the size of things (issue 13: a rule fits on one screen, a rule module stays small) -------

# A function's body (the statements after its docstring, blank lines and comments included)
# fits one screen: 50 lines, which with the signature and a decorator fill a 55-60-line editor
# window. The docstring is not counted, so explaining never costs room. A function that reads
# better whole says why in its docstring, in a sentence that starts with LONG_REASON, e.g.
#     """... Long because the fixed-point pass is one loop whose steps share six locals."""
SCREEN_LINES = 50
LONG_REASON = "Long because"
RULE_MODULE_LINES = 300  # issue 13: "every rule module is at most about 300 lines"


def body_lines(function: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Lines from the first statement after the docstring to the function's last line."""
    body = function.body
    if ast.get_docstring(function) is not None:
        body = body[1:]
    if not body:
        return 0
    return (function.end_lineno or body[-1].lineno) - body[0].lineno + 1


def long_functions(root: Path, folders: list[str]) -> list[str]:
    """`path:line name (N lines)` for each function over SCREEN_LINES without a reason."""
    found = []
    for folder in (root / name for name in folders):
        for path in sorted(folder.rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    continue
                length = body_lines(node)
                if length > SCREEN_LINES and LONG_REASON not in (ast.get_docstring(node) or ""):
                    where = path.relative_to(root).as_posix()
                    found.append(f"{where}:{node.lineno} {node.name} ({length} lines)")
    return found


def test_functions_fit_one_screen_or_say_why():
    offenders = long_functions(ROOT, ["mar_lint", "rules"])
    assert not offenders, (
        f"over {SCREEN_LINES} lines of body: split them, or say in the docstring "
        f"why one piece reads better ('{LONG_REASON} ...'):\n" + "\n".join(offenders)
    )


def test_the_length_check_sees_a_long_function_and_its_reason(tmp_path):
    statements = "\n".join(f"    x{i} = {i}" for i in range(SCREEN_LINES + 1))
    (tmp_path / "long.py").write_text(f'def long():\n    """Doc."""\n{statements}\n')
    (tmp_path / "fits.py").write_text(f"def fits():\n{statements[: statements.rindex(chr(10))]}\n")
    (tmp_path / "said.py").write_text(
        f'def said():\n    """{LONG_REASON} it is a table."""\n{statements}\n'
    )
    assert long_functions(tmp_path, ["."]) == [f"long.py:1 long ({SCREEN_LINES + 1} lines)"]


def test_no_two_classes_share_a_name():
    # Two classes of one name doing different jobs (the runner's Checker and the graph
    # validator's were) make every traceback and search ambiguous.
    seen: dict[str, list[str]] = {}
    for folder in (ROOT / "mar_lint", RULES):
        for path in sorted(folder.rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ClassDef):
                    seen.setdefault(node.name, []).append(path.relative_to(ROOT).as_posix())
    shared = {name: paths for name, paths in seen.items() if len(paths) > 1}
    assert not shared, f"one name, several classes: {shared}"


def test_rule_modules_stay_small():
    sizes = {
        path.name: len(path.read_text(encoding="utf-8").splitlines())
        for path in sorted(RULES.glob("*.py"))
    }
    large = {name: lines for name, lines in sizes.items() if lines > RULE_MODULE_LINES}
    assert not large, f"rule modules over {RULE_MODULE_LINES} lines: {large}"


# -- the import contracts ([tool.importlinter] in pyproject.toml; `lint-imports` in CI) --------

# One forbidden import per contract, and the contract it must break. Each is added to a copy
# of the tree, which `lint-imports` then reads in place of the installed packages.
VIOLATIONS = {
    "engine-never-imports-rules": ("mar_lint/runner.py", "import mar_lint_rules.graph"),
    "commands-on-top": ("mar_lint/reporters/text_report.py", "import mar_lint.commands.check"),
    "reporters-serve-commands": ("mar_lint/model.py", "import mar_lint.reporters.json_report"),
    # explore shares helpers with the reporters through mar_lint.console, never a reporter.
    "rules-stay-below-commands": ("rules/assets.py", "import mar_lint.reporters.text_report"),
    "rule-modules-independent": ("rules/weights.py", "from mar_lint_rules import graph"),
    "shapes-on-the-floor": ("mar_lint/shapes/core.py", "import mar_lint.archive"),
}


def lint_imports(tree: Path, contract: str) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"]
    return subprocess.run(
        [*command, "--contract", contract, str(tree / "pyproject.toml")],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree)},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def contracts() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return [contract["id"] for contract in config["tool"]["importlinter"]["contracts"]]


def test_every_contract_has_a_violation_to_prove_it(contracts):
    assert sorted(contracts) == sorted(VIOLATIONS)


@pytest.mark.skipif(
    not Path(sys.executable).with_name("lint-imports").exists(), reason="no import-linter"
)
@pytest.mark.parametrize("contract", sorted(VIOLATIONS))
def test_a_contract_breaks_when_its_layer_is_crossed(contract, tmp_path):
    shutil.copytree(ROOT / "mar_lint", tmp_path / "mar_lint")
    shutil.copytree(ROOT / "rules", tmp_path / "mar_lint_rules")  # its installed name
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    kept = lint_imports(tmp_path, contract)
    assert kept.returncode == 0, kept.stdout + kept.stderr
    module, line = VIOLATIONS[contract]
    module = module.replace("rules/", "mar_lint_rules/", 1)
    with (tmp_path / module).open("a", encoding="utf-8") as file:
        file.write(f"\n{line}\n")
    broken = lint_imports(tmp_path, contract)
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert "1 broken" in broken.stdout
