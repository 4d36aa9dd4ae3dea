"""Rich output shared by the text reporter and `explore`: archive text made safe for a
terminal, the severity colours, a finding as rich `Text`, a problem line, the totals line.

Everything here builds `Text` objects, never markup strings: archive text quotes shapes like
[1, 3, 224, 224], and rich would read them as markup.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from rich.text import Text

from mar_lint.findings import Finding, Severity
from mar_lint.text import plural

STYLES = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}


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


def safe_text(value: Any, style: str = "") -> Text:
    """Any value as terminal-safe `Text`."""
    return Text(terminal_safe(str(value)), style)


def problem_text(text: str) -> Text:
    """What went wrong, in red."""
    return safe_text(text, "red")


def finding_text(finding: Finding) -> Text:
    """A finding as people read it: severity, code and name, where, the message, the fix."""
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


def totals_text(totals: dict[str, int], text: Text) -> Text:
    """`text` followed by the counts of `mar_lint.runner.summarize` (errors, warnings, info)
    and what `mar-lint repack` fixes, with and without `--unsafe-fixes`."""
    text.append(
        plural(totals["errors"], "error"), STYLES[Severity.ERROR] if totals["errors"] else "green"
    )
    text.append(f", {plural(totals['warnings'], 'warning')}, {totals['info']} info")
    if totals["fixable_safe"]:
        text.append(f"; {totals['fixable_safe']} fixable with `mar-lint repack`")
    if totals["fixable"] > totals["fixable_safe"]:
        unsafe = totals["fixable"] - totals["fixable_safe"]
        text.append(f"; {unsafe} more with `mar-lint repack --unsafe-fixes`")
    return text
