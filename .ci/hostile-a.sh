#!/usr/bin/env bash
# CI step (issue 15, part A): the real `pre-commit try-repo` on a repository whose root holds
# a json.py, a json/ package or a numpy.py next to a model folder; the planted module must
# never run. Marked `integration` (deselected by the README's test command); skips itself
# when PyPI is unreachable. Assumes .venv with '.[mxnet,test]' (see .ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/python -m pytest -q -m integration tests/test_import_isolation.py
