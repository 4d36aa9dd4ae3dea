"""Rule documentation cannot drift: every rule's docstring is in ruff's shape (why it matters,
an example, the fix), says whether `mar-lint repack` fixes it as the code does, and
`mar-lint rule CODE` prints all of it; the README's rules table is exactly the registry (code,
name, severity, consequence, fix, summary), and every built-in rule says what MMS does with
an archive it flags."""

from __future__ import annotations

import ast
import importlib.util
import inspect
import json
import os
import pty
import re
import shutil
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import pytest

from mar_lint.registry import Rule, load_registry
from mar_lint.rule_docs import is_own, parse_rule_doc, readme_table

ROOT = Path(__file__).parents[1]
README = ROOT / "README.md"
MAR_LINT = Path(sys.executable).with_name("mar-lint")  # the console script a user runs
TABLE = re.compile(r"<!-- rules-table[^>]*-->\n(.*?)<!-- end rules-table -->", re.DOTALL)


def own_rules() -> list[Rule]:
    """mar-lint's rules, built-in and engine ones: not those of plugins installed here."""
    return [r for r in load_registry().rules if is_own(r)]


@pytest.mark.parametrize("rule", own_rules(), ids=lambda r: r.code)
def test_rule_explains_why_and_how_to_fix(rule):
    doc = parse_rule_doc(rule.doc)
    assert len(doc.why.split()) >= 8, f"{rule.code}: the docstring must say why it matters"
    assert doc.fix, f"{rule.code}: the docstring needs a 'Fix:' paragraph saying how to fix it"
    assert rule.summary and not rule.summary.endswith("."), f"{rule.code}: one-line summary"


@pytest.mark.parametrize("rule", own_rules(), ids=lambda r: r.code)
def test_rule_doc_is_in_ruffs_shape(rule):
    """Why it matters, an Example with the offending input as an indented block, the Fix."""
    assert rule.doc.startswith("Why it matters: "), f"{rule.code}: start with 'Why it matters:'"
    doc = parse_rule_doc(rule.doc)
    assert doc.example, f"{rule.code}: the docstring needs an 'Example:' paragraph"
    assert "\n\n    " in doc.example, f"{rule.code}: the example's input, indented 4 spaces"
    order = [rule.doc.index(f"\n{label}:") for label in ("Example", "Fix")]
    assert order == sorted(order), f"{rule.code}: Why it matters, then Example, then Fix"
    if "\nRepack:" in rule.doc:
        assert doc.fix_safety != "none", f"{rule.code}: 'Repack:' starts with safe or unsafe"


def fix_safeties(function: types.FunctionType, seen: set[object]) -> set[str]:
    """The safety of every `Fix(...)` the function builds, itself or through the functions
    of mar-lint (and its rules) that it calls."""
    seen.add(function)
    found: set[str] = set()
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call)):
        name = call.func.id if isinstance(call.func, ast.Name) else None
        if name == "Fix":
            safe = next((k.value for k in call.keywords if k.arg == "safe"), None)
            safe = safe or (call.args[2] if len(call.args) > 2 else ast.Constant(True))
            if isinstance(safe, ast.Constant):
                found.add("safe" if safe.value else "unsafe")
            else:  # decided per finding
                found |= {"safe", "unsafe"}
            continue
        callee = function.__globals__.get(name) if name else None
        if (
            isinstance(callee, types.FunctionType)
            and callee.__module__.startswith(("mar_lint", "mar_lint_rules"))
            and callee not in seen
        ):
            found |= fix_safeties(callee, seen)
    return found


@pytest.mark.parametrize("rule", [r for r in own_rules() if r.check], ids=lambda r: r.code)
def test_doc_says_what_repack_does_as_the_code_does(rule):
    built = fix_safeties(rule.check, set())
    expected = {frozenset(): "none", frozenset({"safe"}): "safe", frozenset({"unsafe"}): "unsafe"}
    wanted = expected.get(frozenset(built), "safe and unsafe")
    assert parse_rule_doc(rule.doc).fix_safety == wanted, (
        f"{rule.code} builds {sorted(built) or 'no'} fixes: its docstring's 'Repack:' paragraph "
        f"must start with {wanted!r}" + (" (or be left out)" if wanted == "none" else "")
    )


def test_mar_lint_rule_shows_why_example_and_fix():
    """`mar-lint rule MAR205`, run as a user runs it: the console script, output to a pipe."""
    run = subprocess.run([str(MAR_LINT), "rule", "MAR205"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("MAR205 output-shape (error; serves wrong answers)\n")
    assert "the signature's outputs differ from the graph's inferred outputs" in run.stdout
    assert "Fix availability: `mar-lint repack --unsafe-fixes` fixes it (unsafe)." in run.stdout
    why, example, fix = (
        run.stdout.index(f"## {s}\n") for s in ("Why it matters", "Example", "Fix")
    )
    assert why < example < fix
    assert "MMS never checks them against the graph" in " ".join(run.stdout[why:example].split())
    assert (
        '"outputs": [{"data_name": "softmax", "data_shape": [0, 1000]}]'
        in (run.stdout[example:fix])
    )
    assert "\x1b[" not in run.stdout  # plain text in a pipe


def test_mar_lint_rule_on_a_terminal_is_rich():
    """On a terminal the page is rich markdown: styled, the example still there."""
    leader, follower = pty.openpty()
    env = {**os.environ, "COLUMNS": "100", "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    with subprocess.Popen(
        [str(MAR_LINT), "rule", "MAR205"], stdout=follower, stderr=subprocess.PIPE, env=env
    ) as child:
        os.close(follower)
        shown = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal closed: the child is done
                break
            if not chunk:
                break
            shown += chunk
        assert child.wait(timeout=60) == 0, child.stderr.read() if child.stderr else ""
    os.close(leader)
    text = shown.decode()
    assert "\x1b[" in text, "no styling on a terminal"
    plain = re.sub(r"\x1b\[[0-9;]*m", "", text)
    assert "MAR205" in plain and "Why it matters" in plain and "Example" in plain
    assert '"data_shape": [0, 1000]' in plain


def test_mar_lint_rule_json_carries_the_sections():
    run = subprocess.run(
        [str(MAR_LINT), "rule", "mar305", "--format", "json"], capture_output=True, text=True
    )
    entry = json.loads(run.stdout)
    assert entry["code"] == "MAR305" and entry["fix_safety"] == "unsafe"
    assert "MMS never opens the params file" in entry["why"]
    assert '"Parameters": "resnet-0126.params"' in entry["example"]
    assert entry["fix"].startswith("Keep the pair") and "Model-Name" in entry["repack"]
    none = json.loads(
        subprocess.run(
            [str(MAR_LINT), "rule", "MAR001", "--format", "json"], capture_output=True, text=True
        ).stdout
    )
    assert (none["fix_safety"], none["fix_availability"]) == ("none", "no automatic fix")


def test_readme_rules_table_is_the_registry():
    found = TABLE.search(README.read_text(encoding="utf-8"))
    assert found, "README.md lost its <!-- rules-table --> ... <!-- end rules-table --> markers"
    expected = readme_table(own_rules())
    assert found.group(1) == expected, (
        "README rules table differs from the registry: run `python scripts/rules_table.py`; "
        "it writes:\n" + expected
    )


@pytest.mark.parametrize("rule", own_rules(), ids=lambda r: r.code)
def test_every_built_in_rule_states_its_consequence(rule):
    # The engine's own codes (9xx) are about mar-lint, not about what MMS does.
    assert (rule.consequence is None) == (rule.check is None), rule.code


def test_a_built_in_code_cannot_leave_its_consequence_out():
    from mar_lint.registry import rule as declare

    def check(view):
        """Why it matters, in enough words to pass.\n\nFix: this."""
        return iter(())

    with pytest.raises(ValueError, match="must state its consequence"):
        declare("MAR999", "no-consequence", "error", "a rule")(check)
    plugin = declare("ACME999", "no-consequence", "error", "a rule")(check)
    assert plugin.consequence is not None and plugin.consequence.value == "unchecked-risk"


def test_a_docstring_without_labels_still_reads():
    """A plugin's older docstring: all "why" up to its Fix paragraph, no example."""
    doc = parse_rule_doc("Our URLs are lower-case, so a mixed case name is lost.\n\nFix: lower it.")
    assert (doc.why, doc.example, doc.fix) == (
        "Our URLs are lower-case, so a mixed case name is lost.",
        "",
        "Lower it.",
    )
    assert doc.fix_safety == "none"
    wrapped = parse_rule_doc("Why it matters: a prose line that wraps\nFix: here is no label.")
    assert (wrapped.why, wrapped.fix) == ("A prose line that wraps\nFix: here is no label.", "")


SCAFFOLD = ROOT / "scripts" / "new_rule.py"


def scaffold(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCAFFOLD), *args], capture_output=True, text=True, cwd=ROOT
    )


def test_scaffold_dry_run_prints_the_stubs_and_writes_nothing():
    before = {p: p.read_bytes() for p in [*ROOT.glob("rules/*.py"), *ROOT.glob("tests/test_*.py")]}
    run = scaffold("MAR299", "output-dtype", "--dry-run")
    assert run.returncode == 0, run.stderr
    assert "--- would append to rules/signature.py:" in run.stdout
    assert "--- would append to tests/test_signature.py:" in run.stdout
    assert '"MAR299",\n    "output-dtype",' in run.stdout and "def output_dtype(view" in run.stdout
    assert all(p.read_bytes() == data for p, data in before.items())
    taken = scaffold("MAR205", "output-shape", "--dry-run")
    assert taken.returncode == 2 and "MAR205 is already declared in rules/signature.py" in (
        taken.stderr
    )


def test_scaffolded_rule_loads_with_its_doc_in_shape(tmp_path):
    """In a copy of rules/ and the test module: the stub is a rule in ruff's doc shape, the
    test stub is Python, and both are ruff clean."""
    shutil.copytree(ROOT / "rules", tmp_path / "rules")
    (tmp_path / "tests").mkdir()
    shutil.copy(ROOT / "tests" / "test_weights.py", tmp_path / "tests")
    run = scaffold("MAR399", "weights-stub", "--root", str(tmp_path))
    assert run.returncode == 0, run.stderr
    assert "appended MAR399 to rules/weights.py" in run.stdout
    spec = importlib.util.spec_from_file_location("scaffolded", tmp_path / "rules/weights.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    [stub] = [r for r in vars(module).values() if isinstance(r, Rule) and r.code == "MAR399"]
    doc = parse_rule_doc(stub.doc)
    assert doc.why and "\n\n    " in doc.example and doc.fix and list(stub.check(None)) == []
    test_source = (tmp_path / "tests/test_weights.py").read_text()
    assert 'result.only("MAR399")' in test_source and ast.parse(test_source)
    ruff = Path(sys.executable).with_name("ruff")
    config = ["--config", str(ROOT / "pyproject.toml")]
    for command in (["check"], ["format", "--check"]):
        linted = subprocess.run(
            [str(ruff), *command, *config, "rules/weights.py", "tests/test_weights.py"],
            capture_output=True,
            text=True,
            cwd=tmp_path,
        )
        assert linted.returncode == 0, linted.stdout + linted.stderr
