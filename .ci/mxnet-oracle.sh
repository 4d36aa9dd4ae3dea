#!/usr/bin/env bash
# CI: the differential tests against real MXNet 1.9.1 (Python 3.11, `.venv` with
# `.[mxnet,test]`): the native shape engine on every fixture graph, every gluon vision zoo
# export and a seeded operator grid; the operator registry. MXNet runs in child processes.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/python -m pytest -q -m mxnet_oracle
