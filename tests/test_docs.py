"""Rule documentation cannot drift: every rule explains why it matters and how to fix it, and
the README's rules table is exactly the registry (code, name, severity, consequence, summary),
and every built-in rule says what MMS does with an archive it flags."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mar_lint.registry import Rule, load_registry
from mar_lint.reporters.sarif import split_doc

README = Path(__file__).parents[1] / "README.md"
TABLE = re.compile(r"<!-- rules-table[^>]*-->\n(.*?)<!-- end rules-table -->", re.DOTALL)
HEADER = "| code | name | severity | consequence | what it reports |\n|---|---|---|---|---|\n"


def own_rules() -> list[Rule]:
    """mar-lint's rules, built-in and engine ones: not those of plugins installed here."""
    return [
        r for r in load_registry().rules if r.origin == "mar-lint" or "(mar_lint_rules." in r.origin
    ]


def table_row(rule: Rule) -> str:
    cells = (
        rule.code,
        rule.name,
        rule.severity.value,
        rule.consequence_text,
        rule.summary.replace("|", "\\|"),
    )
    return "| " + " | ".join(cells) + " |\n"


@pytest.mark.parametrize("rule", own_rules(), ids=lambda r: r.code)
def test_rule_explains_why_and_how_to_fix(rule):
    why, fix = split_doc(rule.doc)
    assert len(why.split()) >= 8, f"{rule.code}: the docstring must say why it matters"
    assert fix, f"{rule.code}: the docstring needs a 'Fix:' paragraph saying how to fix it"
    assert rule.summary and not rule.summary.endswith("."), f"{rule.code}: one-line summary"


def test_readme_rules_table_is_the_registry():
    found = TABLE.search(README.read_text(encoding="utf-8"))
    assert found, "README.md lost its <!-- rules-table --> ... <!-- end rules-table --> markers"
    expected = HEADER + "".join(table_row(rule) for rule in own_rules())
    assert found.group(1) == expected, (
        "README rules table differs from the registry; use:\n" + expected
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
