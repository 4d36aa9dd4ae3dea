"""JSON pointers (RFC 6901): built for findings, parsed and applied by `repack`'s fixes.

Parsing follows the RFC to the letter, because a fix that writes to the wrong place is worse
than one held back: an array index is "0" or digits without a leading zero ("01" is no index),
"-" names the position past an array's end (only a new value can go there), and "~1" is
unescaped before "~0" ("~01" is "~1", never "/").
"""

from __future__ import annotations

import copy
import re
from typing import Any

_INDEX = re.compile(r"0|[1-9][0-9]*")
APPEND = "-"  # the array position past the last element


class PointerError(ValueError):
    """The pointer is malformed, or names no value (or no place for one) in the document."""


def json_pointer(*parts: object) -> str:
    """The pointer to a value inside a JSON document: json_pointer("inputs", 0) == "/inputs/0"."""
    return "".join("/" + escape(str(part)) for part in parts)


def escape(token: str) -> str:
    """One reference token as it stands in a pointer ("~" first, so "/" never becomes "~01")."""
    return token.replace("~", "~0").replace("/", "~1")


def parse(pointer: str) -> list[str]:
    """The reference tokens of a pointer, unescaped: "/a~1b/0" -> ["a/b", "0"]; "" -> []."""
    if pointer and not pointer.startswith("/"):
        raise PointerError(f"{pointer!r} is not a JSON pointer")
    tokens = pointer.split("/")[1:]
    if any(re.search(r"~(?![01])", token) for token in tokens):
        raise PointerError(f"{pointer!r} has a '~' that is not '~0' or '~1'")
    return [token.replace("~1", "/").replace("~0", "~") for token in tokens]


def array_index(token: str, array: list) -> int | None:
    """The position `token` names in `array`, or None ("01", "-1", "+1" and "-" name none)."""
    if _INDEX.fullmatch(token) and int(token) < len(array):
        return int(token)
    return None


def _child(node: Any, token: str, pointer: str) -> Any:
    if isinstance(node, dict) and token in node:
        return node[token]
    if isinstance(node, list):
        index = array_index(token, node)
        if index is not None:
            return node[index]
    raise PointerError(f"{pointer} does not exist")


def resolve(document: Any, pointer: str) -> Any:
    """The value `pointer` names in `document`; PointerError if there is none."""
    node = document
    for token in parse(pointer):
        node = _child(node, token, pointer)
    return node


def set_value(document: Any, pointer: str, value: Any) -> Any:
    """`document` with (a copy of) `value` set at `pointer`, changed in place and returned
    (the whole new value for the root pointer ""). The parent must exist; in an array the
    last token must name an existing element, or be "-" to append."""
    tokens = parse(pointer)
    if not tokens:
        return copy.deepcopy(value)
    parent = document
    for token in tokens[:-1]:
        parent = _child(parent, token, pointer)
    last = tokens[-1]
    if isinstance(parent, dict):
        parent[last] = copy.deepcopy(value)
        return document
    if isinstance(parent, list):
        if last == APPEND:
            parent.append(copy.deepcopy(value))
            return document
        index = array_index(last, parent)
        if index is not None:
            parent[index] = copy.deepcopy(value)
            return document
    raise PointerError(f"the parent of {pointer} cannot hold {last!r}")
