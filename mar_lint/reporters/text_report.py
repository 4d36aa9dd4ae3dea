"""The default output: findings grouped by archive, for people. Plain when not on a terminal
or when NO_COLOR is set (rich honours both)."""

from __future__ import annotations

import unicodedata
from typing import TextIO

from rich.console import Console
from rich.text import Text

from mar_lint.findings import Finding, Severity
from mar_lint.registry import Registry
from mar_lint.runner import ArchiveReport, summarize
from mar_lint.text import plural


def terminal_safe(text: str) -> str:
    """`text` with control, format (bidi overrides) and separator characters escaped, so an
    archive cannot move the cursor, clear the screen or reorder what the user reads."""
    return "".join(
        c
        if c in "\n\t" or unicodedata.category(c) not in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp")
        else f"\\x{ord(c):02x}"
        if ord(c) < 0x100
        else f"\\u{ord(c):04x}"
        for c in text
    )


STYLES = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}


def finding_text(finding: Finding) -> Text:
    # Text objects, never markup strings: messages quote shapes like [1, 3, 224, 224].
    # Member names and messages quote the archive: never let it drive the terminal.
    where = terminal_safe(":".join(part for part in (finding.member, finding.location) if part))
    line = Text("  ")
    line.append(f"{finding.severity.value:<8}", STYLES[finding.severity])
    line.append(f"{finding.code} ", "bold")
    line.append(f"{finding.name}", "dim")
    if where:
        line.append(f"  {where}", "magenta")
    line.append(f"\n    {terminal_safe(finding.message)}")
    if finding.fix is not None:
        how = "mar-lint repack" if finding.fix.safe else "mar-lint repack --unsafe-fixes"
        line.append(f"\n    fix: {terminal_safe(finding.fix.summary)} ({how})", "green")
    elif finding.hint:
        line.append(f"\n    hint: {terminal_safe(finding.hint)}", "green")
    return line


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
    summary = Text(f"\nChecked {plural(totals['archives'], 'archive')}: ", "bold")
    summary.append(
        plural(totals["errors"], "error"), STYLES[Severity.ERROR] if totals["errors"] else "green"
    )
    summary.append(f", {plural(totals['warnings'], 'warning')}, {totals['info']} info")
    if totals["fixable_safe"]:
        summary.append(f"; {totals['fixable_safe']} fixable with `mar-lint repack`")
    if totals["fixable"] > totals["fixable_safe"]:
        unsafe = totals["fixable"] - totals["fixable_safe"]
        summary.append(f"; {unsafe} more with `mar-lint repack --unsafe-fixes`")
    console.print(summary)
