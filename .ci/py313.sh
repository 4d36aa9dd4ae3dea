#!/usr/bin/env bash
# CI: the everyday suite on the newest Python the machine has (3.13), without mxnet, which
# installs only on Python <= 3.11. Tests that need mxnet skip with a reason; the graph rules
# run on the native shape engine.
set -euo pipefail
cd "$(dirname "$0")/.."
PY313="${PY313:-$HOME/.pyenv/versions/3.13.0/bin/python}"
rm -rf .venv-py313
"$PY313" -m venv .venv-py313
.venv-py313/bin/pip install --quiet -e '.[test]'
if .venv-py313/bin/python -c 'import mxnet' 2>/dev/null; then
    echo "mxnet must not be importable here" >&2
    exit 1
fi
.venv-py313/bin/python -m pytest -q
