"""House rules the code keeps: rules never import each other (shared facts live on
`ModelView`), and the facts several rules and `explore` need are read in one place."""

from __future__ import annotations

import ast
from pathlib import Path

RULES = Path(__file__).parents[1] / "rules"


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
