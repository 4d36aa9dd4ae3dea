"""`--format json`: exactly one JSON document on the stream, nothing else."""

from __future__ import annotations

import json
from typing import Any, TextIO

from mar_lint import __version__
from mar_lint.findings import Finding
from mar_lint.registry import Registry
from mar_lint.runner import ArchiveReport, summarize


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


def render(reports: list[ArchiveReport], registry: Registry, stream: TextIO) -> None:
    document = {
        "tool": {"name": "mar-lint", "version": __version__},
        "archives": [
            {
                "path": report.path,
                "mms_release": report.mms_release,
                "findings": [finding_json(f) for f in report.findings],
            }
            for report in reports
        ],
        "summary": summarize(reports),
    }
    stream.write(json.dumps(document, indent=2) + "\n")
