"""signature.json as MMS 0.x reads it: `inputs` and `outputs` lists of
`{"data_name": str, "data_shape": [int, ...]}` and `input_type`/`output_type` strings
(formats.md §1.4). What is malformed in one, and its well-formed entries."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from mar_lint.findings import json_pointer

TYPE_KEYS = ("input_type", "output_type")
ENTRY_KEYS = ("inputs", "outputs")


def is_dimension(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def shaped_entries(signature: dict[str, Any], key: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """The `inputs` or `outputs` entries that are objects with a `data_shape` list, with
    their index."""
    found = signature.get(key)
    for index, entry in enumerate(found if isinstance(found, list) else []):
        if isinstance(entry, dict) and isinstance(entry.get("data_shape"), list):
            yield index, entry


def structure_problems(signature: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(what is wrong, its JSON pointer) for each part of the signature MMS cannot use."""
    for key in TYPE_KEYS:
        if not isinstance(signature.get(key), str):
            state = "is missing" if key not in signature else "is not a string"
            yield f"`{key}` {state}", json_pointer(key)
    for key in ENTRY_KEYS:
        found = signature.get(key)
        if not isinstance(found, list) or not found:
            state = "is missing" if key not in signature else "is not a non-empty list"
            yield f"`{key}` {state}", json_pointer(key)
            continue
        for index, entry in enumerate(found):
            for message, location in _entry_problems(entry, (key, index)):
                yield f"{key}[{index}]: {message}", location


def _entry_problems(entry: Any, at: tuple[str, int]) -> Iterator[tuple[str, str]]:
    if not isinstance(entry, dict):
        yield f"is a JSON {type(entry).__name__}, not an object", json_pointer(*at)
        return
    if not isinstance(entry.get("data_name"), str) or not entry["data_name"]:
        yield "`data_name` must be a non-empty string", json_pointer(*at, "data_name")
    shape = entry.get("data_shape")
    if not isinstance(shape, list) or not shape:
        yield "`data_shape` must be a non-empty list of dimensions", json_pointer(*at, "data_shape")
        return
    for position, dim in enumerate(shape):
        if not is_dimension(dim):
            yield (
                f"dimension {position} is {dim!r}; dimensions are integers >= 0",
                json_pointer(*at, "data_shape", position),
            )
