"""JSON that mar-lint writes, shared by the JSON and SARIF reporters and `explore --format
json`: strict JSON text, and a finding in the shape every JSON output gives it."""

from __future__ import annotations

import json
import math
from typing import Any

from mar_lint.findings import Finding


def strict_dumps(value: Any) -> str:
    """JSON text any parser accepts: Python's `NaN`, `Infinity` and `-Infinity` (an archive's
    JSON may hold them, and Python reads them) are not JSON, so they are written as the
    strings "NaN", "Infinity" and "-Infinity"."""
    try:
        return json.dumps(value, indent=2, allow_nan=False)
    except ValueError:
        return json.dumps(_finite(value), indent=2, allow_nan=False)


def _finite(value: Any) -> Any:
    # Recursion is bounded: archive JSON is refused past max-json-depth levels.
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


def finding_json(finding: Finding) -> dict[str, Any]:
    fix = finding.fix
    return {
        "code": finding.code,
        "name": finding.name,
        "severity": finding.severity.value,
        "member": finding.member,
        "location": finding.location,
        "message": finding.message,
        "hint": finding.hint,
        "fixable": fix is not None,
        "fix": None if fix is None else {"summary": fix.summary, "safe": fix.safe},
        "consequence": finding.consequence.value if finding.consequence else None,
    }
