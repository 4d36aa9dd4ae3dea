#!/usr/bin/env bash
# CI step: mar-lint against the real MMS 0.x loader (tests/test_mms_oracle.py).
# Assumes .venv exists with '.[mxnet,test]' (as .ci/run leaves it); adds the loader's own
# dependencies (the `oracle` extra) when missing. The tests install the MMS wheels
# (0.1.5, 0.3, 0.4) into ~/.cache/mar-lint-tests themselves and skip when offline.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! .venv/bin/python -c 'import PIL, flask, flask_cors, psutil, requests' 2>/dev/null; then
    .venv/bin/pip install --quiet -e '.[mxnet,test,oracle]'
fi
.venv/bin/python -m pytest -m mms_oracle -q
