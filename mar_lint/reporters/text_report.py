"""The default output: findings grouped by archive, for people. Plain when not on a terminal
or when NO_COLOR is set (rich honours both)."""

from __future__ import annotations

from typing import TextIO

from rich.console import Console
from rich.text import Text

from mar_lint.console import finding_text, terminal_safe, totals_text
from mar_lint.registry import Registry
from mar_lint.runner import ArchiveReport, summarize
from mar_lint.text import plural


def render(
    reports: list[ArchiveReport], registry: Registry, stream: TextIO, *, quiet: bool = False
) -> None:
    """`quiet`: only the findings, under their archives; no clean archives, no summary."""
    console = Console(file=stream, highlight=False, soft_wrap=not stream.isatty())
    for report in reports:
        if quiet and not report.findings:
            continue
        title = Text(terminal_safe(report.path), "bold underline")
        if report.mms_release:
            title.append(f"  (MMS {report.mms_release} manifest)", "dim")
        console.print(title)
        if not report.findings:
            console.print(Text("  no problems found", "green"))
        for finding in report.findings:
            console.print(finding_text(finding))
    if quiet:
        return
    totals = summarize(reports)
    heading = Text(f"\nChecked {plural(totals['archives'], 'archive')}: ", "bold")
    console.print(totals_text(totals, heading))
