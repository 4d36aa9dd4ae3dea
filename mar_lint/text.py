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
    """'1 entry', '2 entries', '3 arrays', '2 fixes'."""
    if count == 1:
        return f"{count} {word}"
    if word.endswith("y") and word[-2:-1] not in tuple("aeiou"):
        return f"{count} {word[:-1]}ies"
    return f"{count} {word}es" if word.endswith(("s", "x", "ch", "sh")) else f"{count} {word}s"
