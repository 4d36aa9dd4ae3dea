"""Words for messages: short listings and plurals, shared by rules, reporters and explore."""

from __future__ import annotations

from collections.abc import Sequence

MAX_LISTED = 6  # names quoted in one message; the rest are counted


def listed(names: Sequence[str], limit: int = MAX_LISTED) -> str:
    """'a, b, c' with at most `limit` names shown and the rest counted ('... and 3 more')."""
    shown = ", ".join(names[:limit])
    rest = len(names) - limit
    return f"{shown} and {rest} more" if rest > 0 else shown


def plural(count: int, word: str) -> str:
    """'1 entry', '2 entries', '3 arrays'."""
    if count == 1:
        return f"{count} {word}"
    return f"{count} {word[:-1]}ies" if word.endswith("y") else f"{count} {word}s"
