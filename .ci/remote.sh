#!/usr/bin/env bash
# CI step for remote archives: installs the `remote` and `remote-test` extras (fsspec, aiohttp,
# s3fs; moto's S3 server) into .venv and runs the remote tests against real servers on
# 127.0.0.1 (an HTTP file server and moto, both started and stopped by the tests).
# Assumes .venv exists with '.[mxnet,test]' installed.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/pip install --quiet -e '.[mxnet,test,remote,remote-test]'
.venv/bin/python -m pytest tests/test_remote.py -q
