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
# The rule API's promise to plugin authors: the example plugins type-check strictly against
# ModelView with no `# type: ignore` (tests/test_model_view.py counts the ignores in rules/).
.venv/bin/mypy --strict --follow-imports=silent \
    tests/fixtures/example_plugin/acme_mar_rules.py \
    tests/fixtures/twin_plugin/twin_naming.py tests/fixtures/twin_plugin/twin_release.py
