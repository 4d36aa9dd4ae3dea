"""`--statistics`: how often each code was reported, most frequent first (like ruff's).

    3  MAR203  batch-dimension    error    [*]

`[*]` marks codes whose findings `mar-lint repack` can fix. Plain text, whatever the format.
"""

from __future__ import annotations

from collections import Counter
from typing import TextIO

from mar_lint.findings import Finding
from mar_lint.runner import ArchiveReport


def render(reports: list[ArchiveReport], stream: TextIO) -> None:
    findings = [f for report in reports for f in report.findings]
    counts = Counter(f.code for f in findings)
    first: dict[str, Finding] = {}
    fixable: set[str] = set()
    for finding in findings:
        first.setdefault(finding.code, finding)
        if finding.fixable:
            fixable.add(finding.code)
    width = len(str(max(counts.values(), default=0)))
    for code, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        finding = first[code]
        mark = "  [*]" if code in fixable else ""
        line = f"{count:>{width}}  {code:<7} {finding.name:<24} {finding.severity.value:<8}{mark}"
        stream.write(line.rstrip() + "\n")
