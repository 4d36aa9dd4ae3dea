#!/usr/bin/env bash
# CI: ship what is tested. Build the sdist and, from it, the wheel (an isolated build, as
# pip and PyPI users get it), check the wheel's contents, install the wheel (not editable)
# into a fresh venv and run it from outside the checkout on the broken sample: exit 1 and
# exactly the codes in tests/fixtures/digits-broken.codes; `--version` is the wheel's version.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

.venv/bin/python -m build --outdir "$work/dist" . >"$work/build.log" 2>&1 || {
    cat "$work/build.log"
    exit 1
}
# setuptools' deprecation and "package absent from packages" warnings are failures here.
if grep -E "(Warning|WARNING|deprecated)" "$work/build.log" | grep -v "byte-compiling is disabled"; then
    echo "wheel.sh: the build warned (above)" >&2
    exit 1
fi
wheel=$(ls "$work"/dist/*.whl)
.venv/bin/check-wheel-contents "$wheel"

python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet "$wheel[mxnet]"
cd "$work"  # never the checkout: the wheel's files must be what runs
"$work/venv/bin/python" -c 'import mar_lint, sys; sys.exit(mar_lint.__file__.startswith(sys.argv[1]))' "$repo"

version=$("$work/venv/bin/python" -c 'import importlib.metadata as m; print(m.version("mar-lint"))')
[ "$("$work/venv/bin/mar-lint" --version)" = "mar-lint, version $version" ] || {
    echo "wheel.sh: mar-lint --version does not say $version" >&2
    exit 1
}

status=0
"$work/venv/bin/mar-lint" check --format json "$repo/tests/fixtures/digits-broken.model" \
    >"$work/report.json" || status=$?
if [ "$status" -ne 1 ]; then
    echo "wheel.sh: mar-lint check exited $status, expected 1" >&2
    cat "$work/report.json"
    exit 1
fi
python3 - "$work/report.json" "$repo/tests/fixtures/digits-broken.codes" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
found = sorted({f["code"] for a in report["archives"] for f in a["findings"]})
expected = sorted(open(sys.argv[2]).read().split())
if found != expected:
    sys.exit(f"wheel.sh: the installed wheel reports {found}, expected {expected}")
print(f"wheel.sh: {' '.join(found)} as expected (mar-lint {report['tool']['version']})")
PY
