"""Which MMS release a manifest targets, and that release's manifest schema (formats.md §1.3).

The schemas differ by release: 0.1.5 requires `License`, 0.2-0.4 a top-level `Model-Server`,
0.4 relaxes `Model.required`, and MMS 1.x migrates legacy manifests with its own demands.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

from packaging.version import InvalidVersion, Version

from mar_lint.findings import json_pointer

# Releases whose manifest schema we ship, oldest first; 0.2.0 and 0.3.0 share one schema.
RELEASES = ("0.1.5", "0.2.0", "0.3.0", "0.4.0", "1.0.0")


class UnknownRelease(ValueError):
    pass


def release_for(version: str) -> str:
    """The newest shipped schema release at or below an MMS version ("0.4" -> "0.4.0")."""
    try:
        wanted = Version(version)
    except InvalidVersion as exc:
        raise UnknownRelease(f"'{version}' is not a version number") from exc
    candidates = [r for r in RELEASES if Version(r) <= wanted]
    if not candidates:
        raise UnknownRelease(f"MMS {version} predates the first release with a manifest (0.1.5)")
    return candidates[-1]


def detect_release(manifest: dict[str, Any]) -> tuple[str, str]:
    """The release a legacy manifest was written for, and the evidence (formats.md §7).

    An explicit `Model-Server` wins over every guess; 0.1 is written by MMS 0.1.5, 0.2 and
    0.3 alike, so only then do `License` and `Model-Archive-Version` decide."""
    server = _declared_server(manifest.get("Model-Server"))
    if server is not None and server != Version("0.1"):
        try:
            return release_for(str(server)), f"`Model-Server` is {server}"
        except UnknownRelease:
            pass  # older than any release: the fields below decide
    if "License" in manifest:
        return "0.1.5", "it has `License`, which only MMS 0.1.5 writes"
    if manifest.get("Model-Archive-Version") == 0.2:
        return "0.4.0", "`Model-Archive-Version` 0.2 is written by MMS 0.4"
    return "0.3.0", "no `License` and `Model-Archive-Version` 0.1: written by MMS 0.2 or 0.3"


def _declared_server(value: Any) -> Version | None:
    """`Model-Server` as a version: MMS writes a number; a string ("0.4") fails the schema
    (MAR102 says so) but still says which release the author meant."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        return Version(str(value).strip())
    except InvalidVersion:
        return None


@functools.cache
def schema_for(release: str) -> dict[str, Any]:
    text = resources.files("mar_lint").joinpath(f"schemas/manifest-{release}.json").read_text()
    return json.loads(text)


@dataclass(frozen=True)
class SchemaError:
    pointer: str  # JSON pointer of the offending value in the manifest ("" is the root)
    message: str


def validate(manifest: Any, release: str) -> list[SchemaError]:
    """Draft 4 validation, as MMS's jsonschema 2.x ran its unversioned `$schema` URI."""
    import jsonschema  # a fifth of start-up: only when a manifest is validated

    validator = jsonschema.Draft4Validator(schema_for(release))
    errors = [
        SchemaError(json_pointer(*e.absolute_path), e.message)
        for e in validator.iter_errors(manifest)
    ]
    return sorted(errors, key=lambda e: (e.pointer, e.message))
