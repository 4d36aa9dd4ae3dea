#!/usr/bin/env bash
# The rule API's promise to plugin authors: the example plugin type-checks strictly against
# ModelView with no `# type: ignore` (tests/test_model_view.py counts the ignores in rules/).
set -euo pipefail
.venv/bin/mypy --strict --follow-imports=silent \
    tests/fixtures/example_plugin/acme_mar_rules.py \
    tests/fixtures/twin_plugin/twin_naming.py tests/fixtures/twin_plugin/twin_release.py
