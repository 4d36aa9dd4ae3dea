"""Operator attributes as MXNet 1.9.1 parses them (dmlc parameter strings).

Graph JSON stores every operator parameter as a string: tuples "(3, 3)", "[3,3]" or "3",
booleans "True"/"1", ints, floats, enums, and "None" for an unset optional. A value MXNet would
refuse raises `AttrError`; the engine reports it as MXNet reports a graph it cannot load.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, overload


class AttrError(ValueError):
    """An attribute value MXNet's parameter parser refuses; the message says why."""


def _number(text: str, key: str, kind: type) -> Any:
    """`kind(text)` as dmlc reads it (an int may carry a Python 2 "L" suffix), or AttrError."""
    value = text.strip()
    try:
        return kind(value.rstrip("Ll") if kind is int else value)
    except ValueError:
        raise AttrError(
            f"Invalid Parameter format for {key} expect {kind.__name__} but value='{text}'"
        ) from None


def _int(text: str, key: str) -> int:
    return _number(text, key, int)


def parse_int(attrs: Mapping[str, str], key: str, default: int | None = None) -> int:
    """An int parameter; without a default it is required."""
    text = attrs.get(key)
    if text is None:
        if default is None:
            raise AttrError(f"Required parameter {key} of int is not presented")
        return default
    return _int(text, key)


def parse_optional_int(attrs: Mapping[str, str], key: str) -> int | None:
    text = attrs.get(key)
    if text is None or text.strip() == "None":
        return None
    return _int(text, key)


def parse_float(attrs: Mapping[str, str], key: str, default: float = 0.0) -> float:
    text = attrs.get(key)
    return default if text is None else _number(text, key, float)


def parse_bool(attrs: Mapping[str, str], key: str, default: bool = False) -> bool:
    text = attrs.get(key)
    if text is None:
        return default
    value = text.strip()
    if value in ("True", "true", "1"):
        return True
    if value in ("False", "false", "0"):
        return False
    raise AttrError(f"Invalid Parameter format for {key} expect boolean but value='{text}'")


@overload
def parse_enum(
    attrs: Mapping[str, str], key: str, choices: tuple[str, ...], default: str
) -> str: ...


@overload
def parse_enum(
    attrs: Mapping[str, str], key: str, choices: tuple[str, ...], default: None
) -> str | None: ...


def parse_enum(
    attrs: Mapping[str, str], key: str, choices: tuple[str, ...], default: str | None
) -> str | None:
    text = attrs.get(key)
    if text is None:
        return default
    value = text.strip()
    if value == "None" and default is None:
        return None
    if value not in choices:
        raise AttrError(f"Invalid Input: '{text}', valid values are: {{{', '.join(choices)}}}")
    return value


def parse_tuple_text(text: str, key: str, floats: bool = False) -> tuple | None:
    """A dmlc Tuple: "(1, 2)", "[1,2]", "(1,)", "()", or a bare number; None for "None"."""
    value = text.strip()
    if value == "None":
        return None
    if value and value[0] in "([":
        close = ")" if value[0] == "(" else "]"
        if not value.endswith(close):
            raise AttrError(f"Invalid Parameter format for {key} expect Shape but value='{text}'")
        body = value[1:-1].strip()
        parts = [p.strip() for p in body.split(",")] if body else []
        if parts and parts[-1] == "":
            parts.pop()
    else:
        parts = [value]
    try:
        if floats:
            return tuple(float(p) for p in parts)
        return tuple(int(p.rstrip("Ll")) for p in parts)
    except ValueError:
        raise AttrError(
            f"Invalid Parameter format for {key} expect Shape but value='{text}'"
        ) from None


def parse_tuple(attrs: Mapping[str, str], key: str, default: tuple | None = ()) -> tuple | None:
    text = attrs.get(key)
    if text is None:
        return default
    return parse_tuple_text(text, key)


def parse_axis_or_tuple(attrs: Mapping[str, str], key: str) -> tuple | None:
    """Reductions' `axis`: unset or "None" means all axes, "()" no axes, "1" or "(1, 2)"."""
    text = attrs.get(key)
    if text is None:
        return None
    return parse_tuple_text(text, key)
