#!/usr/bin/env bash
# CI: the house's guards (issue 13). `lint-imports` checks the layer contracts in
# pyproject.toml ([tool.importlinter]: the engine never imports the rules, the commands or the
# reporters; rule modules never import each other); mypy checks mar_lint/ and rules/ with the
# settings in [tool.mypy] (warn_unused_ignores on). Runs from the repository root with the
# `.venv` CI builds (`pip install -e '.[mxnet,test]'`): the editable install is what lets
# import-linter find `rules/` under its installed name, `mar_lint_rules`.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/lint-imports
.venv/bin/mypy
