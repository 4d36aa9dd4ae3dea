#!/usr/bin/env bash
# CI: a bounded long fuzzing run (the everyday `pytest` runs 80 cases): check, explore
# --format json and explore over MAR_LINT_FUZZ_CASES mutated archives and model folders
# (default 400: about 45 s on 2 cores at load average 4) from
# MAR_LINT_FUZZ_SEED. Failing cases are saved to MAR_LINT_FUZZ_SAVE (default: a temporary
# folder named in the failure).
set -euo pipefail
cd "$(dirname "$0")/.."
export MAR_LINT_FUZZ_CASES="${MAR_LINT_FUZZ_CASES:-400}"
export MAR_LINT_FUZZ_SEED="${MAR_LINT_FUZZ_SEED:-1105}"
.venv/bin/python -m pytest -m fuzz_long tests/test_fuzz.py -q -s
