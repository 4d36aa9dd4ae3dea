"""What rules report, as plain data. Reporters turn these into text, JSON or SARIF."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Union

# Rules build the locations of findings with it; it lives with the parser fixes use.
from mar_lint.jsonpointer import json_pointer as json_pointer


class Severity(str, enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"info": 0, "warning": 1, "error": 2}[self.value]


class Consequence(str, enum.Enum):
    """What a finding predicts MMS does with the archive (mms-loader.md, "what this means for
    a linter"). The value is the machine form; `text` is what people read."""

    REFUSED = "refused"
    REQUESTS_FAIL = "requests-fail"
    WRONG_ANSWERS = "wrong-answers"
    UNCHECKED_RISK = "unchecked-risk"

    @property
    def text(self) -> str:
        return {
            "refused": "MMS refuses it",
            "requests-fail": "every request fails",
            "wrong-answers": "serves wrong answers",
            "unchecked-risk": "risk MMS does not check",
        }[self.value]


@dataclass(frozen=True)
class SetJson:
    """Set the value at a JSON pointer inside a JSON member (the pointer's parent must exist)."""

    member: str
    pointer: str
    value: Any


@dataclass(frozen=True)
class RemoveMember:
    """Drop a member; `index` picks one copy of a duplicated name (its archive position),
    None drops every copy."""

    member: str
    index: int | None = None


@dataclass(frozen=True)
class RenameMember:
    member: str
    new_name: str


Edit = Union[SetJson, RemoveMember, RenameMember]


@dataclass(frozen=True)
class Fix:
    """A change that resolves a problem without guessing.

    `safe` is False when the fix changes the model's contract or picks one of several
    candidates; such fixes are applied only on request (`--unsafe-fixes`).
    """

    summary: str
    edits: tuple[Edit, ...]
    safe: bool = True


@dataclass(frozen=True)
class Problem:
    """What a rule found. The engine stamps it with the rule's code, name and severity."""

    message: str
    member: str | None = None
    location: str | None = None
    severity: Severity | None = None  # None: the rule's default severity
    hint: str | None = None  # how to fix it, when a human has to
    fix: Fix | None = None
    consequence: Consequence | None = None  # None: the rule's own consequence


@dataclass(frozen=True)
class Finding:
    code: str
    name: str
    severity: Severity
    message: str
    member: str | None = None
    location: str | None = None
    hint: str | None = None
    fix: Fix | None = None
    consequence: Consequence | None = None  # None: a finding about mar-lint itself (9xx)

    @property
    def fixable(self) -> bool:
        return self.fix is not None
