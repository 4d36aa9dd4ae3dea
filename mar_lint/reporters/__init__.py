"""Reporters turn findings into output; nothing else formats findings.

Each reporter is a function `(reports, registry, stream) -> None`. Machine formats (json,
sarif, github, junit) write plain text to the stream; only the text reporter goes through rich.
Each is imported when it is used: a run pays only for the format it prints.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Callable, TextIO

if TYPE_CHECKING:
    from mar_lint.registry import Registry
    from mar_lint.runner import ArchiveReport

Reporter = Callable[["list[ArchiveReport]", "Registry", TextIO], None]

# format name -> the module (under mar_lint.reporters) whose `render` writes it
FORMATS = {
    "text": "text_report",
    "json": "json_report",
    "sarif": "sarif",
    "github": "github",
    "junit": "junit",
}


def reporter(name: str) -> Reporter:
    return importlib.import_module(f"mar_lint.reporters.{FORMATS[name]}").render
