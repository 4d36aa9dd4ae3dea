#!/usr/bin/env bash
# The operator registry against real MXNet 1.9.1: mxnet_ops.json regenerated from the
# installed MXNet must be byte-identical, and the attribute checks must refuse exactly the
# graphs MXNet refuses (tests/test_op_registry_oracle.py). Needs .venv with .[mxnet,test].
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/python -m pytest -q -m mxnet_oracle tests/test_op_registry_oracle.py
