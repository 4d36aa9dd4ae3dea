#!/usr/bin/env bash
# CI: the integration steps the everyday `pytest` leaves out: the real `pre-commit try-repo`
# with this repository's hooks, and a wheel built from a scratch copy with a new subpackage.
# They need the package registry; offline, they skip with the reason (shown by -rs).
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/python -m pytest -m integration -rs -q
