"""MXNet version numbers in the forms archives carry them (formats.md §1.2, §4.3)."""

from __future__ import annotations

from importlib import metadata
from typing import Any

from packaging.version import InvalidVersion, Version


def version_from_int(number: int) -> Version:
    """MXNet's MAJOR*10000 + MINOR*100 + PATCH: 10901 -> 1.9.1, 1000 -> 0.10.0."""
    return Version(f"{number // 10000}.{number // 100 % 100}.{number % 100}")


def int_from_version(version: Version) -> int:
    major, minor, patch = (list(version.release) + [0, 0])[:3]
    return major * 10000 + minor * 100 + patch


def parse_engine_version(value: Any) -> Version | None:
    """`Engine.MXNet` as any MMS release wrote it: a number (0.12), a string ("1.1.0"),
    or MXNet's typed form `["int", 10100]`. None when it is none of these."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        value = repr(value)
    if isinstance(value, list) and len(value) == 2 and value[0] == "int":
        number = value[1]
        if isinstance(number, int) and not isinstance(number, bool) and 0 <= number < 10**7:
            return version_from_int(number)
        return None
    if isinstance(value, str):
        try:
            return Version(value.strip())
        except InvalidVersion:
            return None
    return None


def installed_mxnet() -> Version | None:
    """The installed mxnet's version, read from its metadata: no import, so no start-up cost."""
    try:
        return Version(metadata.version("mxnet"))
    except (metadata.PackageNotFoundError, InvalidVersion):
        return None
