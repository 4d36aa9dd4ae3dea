"""`--format json`: exactly one JSON document on the stream, nothing else."""

from __future__ import annotations

from typing import TextIO

from mar_lint import __version__
from mar_lint.json_output import finding_json, strict_dumps
from mar_lint.registry import Registry
from mar_lint.runner import ArchiveReport, summarize


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
    stream.write(strict_dumps(document) + "\n")
