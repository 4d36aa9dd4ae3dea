"""Reporters turn findings into output; nothing else formats findings.

Each reporter is a function `(reports, registry, stream) -> None`. Machine formats (json,
sarif, github, junit) write plain text to the stream; only the text reporter goes through rich.
"""

from __future__ import annotations

from typing import Callable, TextIO

from mar_lint.registry import Registry
from mar_lint.reporters import github, json_report, junit, sarif, text_report
from mar_lint.runner import ArchiveReport

Reporter = Callable[[list[ArchiveReport], Registry, TextIO], None]

REPORTERS: dict[str, Reporter] = {
    "text": text_report.render,
    "json": json_report.render,
    "sarif": sarif.render,
    "github": github.render,
    "junit": junit.render,
}
