"""`--format github`: GitHub Actions workflow commands, one annotation per finding.

`::error file=models/x.model,title=MAR203 batch-dimension::signature.json:/inputs/0: ...`
A zip member has no line numbers, so the annotation is on the archive file and the message
starts with the member and JSON pointer. Chosen automatically when `GITHUB_ACTIONS` is set.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TextIO

from mar_lint.findings import Finding, Severity
from mar_lint.registry import Registry
from mar_lint.runner import ArchiveReport, summarize

COMMANDS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def escape_data(text: str) -> str:
    """The message part: GitHub decodes %25, %0D and %0A (actions/toolkit `escapeData`)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A `key=value` property: also `:` and `,`, which end a value (`escapeProperty`)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def workspace_path(path: str) -> str:
    """Annotations attach to repository-relative paths: make absolute ones relative to the
    checkout (`GITHUB_WORKSPACE`) when they lie inside it."""
    workspace = os.environ.get("GITHUB_WORKSPACE")
    if workspace and Path(path).is_absolute():
        try:
            return Path(path).relative_to(workspace).as_posix()
        except ValueError:
            pass
    return path


def annotation(finding: Finding, path: str) -> str:
    where = ":".join(part for part in (finding.member, finding.location) if part)
    message = f"{where}: {finding.message}" if where else finding.message
    if finding.fix is not None:
        message += f"\nfix: {finding.fix.summary}"
    elif finding.hint:
        message += f"\nhint: {finding.hint}"
    properties = (
        f"file={escape_property(path)},title={escape_property(f'{finding.code} {finding.name}')}"
    )
    return f"::{COMMANDS[finding.severity]} {properties}::{escape_data(message)}"


def render(reports: list[ArchiveReport], registry: Registry, stream: TextIO) -> None:
    for report in reports:
        for finding in report.findings:
            stream.write(annotation(finding, workspace_path(report.path)) + "\n")
    totals = summarize(reports)
    stream.write(
        f"mar-lint: checked {totals['archives']} archive(s): {totals['errors']} error(s), "
        f"{totals['warnings']} warning(s), {totals['info']} info\n"
    )
