"""Rewrite the rules table in README.md from the registry: `python scripts/rules_table.py`.

tests/test_docs.py fails while the table and the registry differ; `--check` does the same
here (exit 1) without writing.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from mar_lint.registry import load_registry
from mar_lint.rule_docs import is_own, readme_table

README = Path(__file__).resolve().parents[1] / "README.md"
TABLE = re.compile(r"(<!-- rules-table[^>]*-->\n)(.*?)(<!-- end rules-table -->)", re.DOTALL)


def main(argv: list[str]) -> int:
    text = README.read_text(encoding="utf-8")
    found = TABLE.search(text)
    if found is None:
        print("README.md has no <!-- rules-table --> markers", file=sys.stderr)
        return 2
    table = readme_table(r for r in load_registry().rules if is_own(r))
    if found.group(2) == table:
        return 0
    if "--check" in argv:
        print("README.md's rules table differs from the registry", file=sys.stderr)
        return 1
    README.write_text(text[: found.start(2)] + table + text[found.end(2) :], encoding="utf-8")
    print("README.md: rules table rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
