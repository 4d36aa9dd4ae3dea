"""signature.json as MMS 0.x reads it: `inputs` and `outputs` lists of
`{"data_name": str, "data_shape": [int, ...]}` and `input_type`/`output_type` strings
(formats.md §1.4). What is malformed in one, and its well-formed entries."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from mar_lint.findings import json_pointer

TYPE_KEYS = ("input_type", "output_type")
ENTRY_KEYS = ("inputs", "outputs")
MIME_TYPES = ("image/jpeg", "application/json")  # the only two MMS 0.x accepts
MIME_ALIASES = {
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "jpeg": "image/jpeg",
    "jpg": "image/jpeg",
    "json": "application/json",
    "text/json": "application/json",
    "application/x-json": "application/json",
}


def is_dimension(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def shaped_entries(signature: dict[str, Any], key: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """The `inputs` or `outputs` entries that are objects with a `data_shape` list, with
    their index."""
    found = signature.get(key)
    for index, entry in enumerate(found if isinstance(found, list) else []):
        if isinstance(entry, dict) and isinstance(entry.get("data_shape"), list):
            yield index, entry


def canonical_mime(value: str) -> str | None:
    """The MIME type MMS accepts that `value` means (`image/jpg`, `json; charset=utf-8`)."""
    bare = value.split(";", 1)[0].strip().lower()
    return bare if bare in MIME_TYPES else MIME_ALIASES.get(bare)


def named_entries(signature: dict[str, Any], key: str) -> list[tuple[int, str]]:
    """(index, data_name) of the `inputs` or `outputs` entries that have a string name."""
    found = signature.get(key)
    return [
        (index, entry["data_name"])
        for index, entry in enumerate(found if isinstance(found, list) else [])
        if isinstance(entry, dict) and isinstance(entry.get("data_name"), str)
    ]


def shapes_agree(declared: list[object], inferred: tuple[int, ...]) -> bool:
    """A declared shape against an inferred one: the batch dimension and 0 are wildcards."""
    if len(declared) != len(inferred):
        return False
    return all(i == 0 or d == 0 or d == n for i, (d, n) in enumerate(zip(declared, inferred)))


def outputs_to_keep(entries: list[object], outputs: tuple[str, ...]) -> list[int]:
    """Of more output entries than the graph has heads, the ones to keep: those named after
    the graph's outputs (in the graph's order) when each has one, else the first ones."""
    by_name = {
        entry.get("data_name"): index
        for index, entry in reversed(list(enumerate(entries)))
        if isinstance(entry, dict)
    }
    named = [by_name.get(name, by_name.get(name.removesuffix("_output"))) for name in outputs]
    found = [index for index in named if index is not None]
    return found if len(set(found)) == len(outputs) else list(range(len(outputs)))


def structure_problems(signature: object) -> Iterator[tuple[str, str | None]]:
    """(what is wrong, its JSON pointer) for each part of the signature MMS cannot use."""
    if not isinstance(signature, dict):
        yield f"the signature is a JSON {type(signature).__name__}, not an object", None
        return
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


def _entry_problems(entry: Any, at: tuple[str, int]) -> Iterator[tuple[str, str | None]]:
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
