"""Settings of one run, and where they come from: defaults < configuration file < command line.

The file is `.mar-lint.toml` (keys at the top level) or the `[tool.mar-lint]` table of
`pyproject.toml`, the nearest one found walking up from the working folder, or the file given
with `--config`. Every key and every code in it is checked: a typo is an error that names the
file and the key, never a silently ignored setting.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import sys
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Callable

from packaging.version import InvalidVersion, Version

from mar_lint.findings import Severity
from mar_lint.limits import Limits
from mar_lint.manifests import UnknownRelease, release_for

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python < 3.11
    import tomli as tomllib

CONFIG_FILE = ".mar-lint.toml"
PYPROJECT = "pyproject.toml"
TOOL_TABLE = "mar-lint"


# Who infers the graph's shapes: mar-lint's own engine, or MXNet in the sandbox.
ENGINES = ("native", "mxnet")


class ConfigError(Exception):
    """A configuration value is wrong; the message says where: "file:key: what is wrong"."""


@dataclass(frozen=True)
class PathIgnore:
    """Codes (or prefixes) not reported for archives whose path matches a glob."""

    pattern: str
    codes: tuple[str, ...]

    def matches(self, path: str) -> bool:
        # `*` crosses folders as in ruff's per-file-ignores; `**/` may also match no folder,
        # and a pattern without a folder matches the file name anywhere.
        patterns = {self.pattern, self.pattern.replace("**/", "")}
        name = PurePosixPath(path).name
        return any(
            fnmatch.fnmatchcase(path, p) or ("/" not in p and fnmatch.fnmatchcase(name, p))
            for p in patterns
        )


@dataclass(frozen=True)
class Settings:
    # Codes or code prefixes to run; the empty prefix selects every rule, plugins' included.
    select: tuple[str, ...] = ("",)
    ignore: tuple[str, ...] = ()
    per_path_ignores: tuple[PathIgnore, ...] = ()
    severities: Mapping[str, Severity] = field(default_factory=dict)  # code -> severity override
    fail_on: Severity = Severity.ERROR  # the lowest severity that makes the run fail
    mms_version: str | None = None  # target MMS release; None: detect it from the manifest
    mxnet_version: str | None = None  # target MXNet; None: the installed mxnet, if any
    engine: str = "native"  # graph shapes from the native engine, or "mxnet" (the sandbox)
    limits: Limits = field(default_factory=Limits)
    root: str | None = None  # the folder per-path patterns are relative to (the config file's)

    def selects(self, code: str) -> bool:
        """ruff's rule: the longest matching prefix wins; select wins a tie."""
        chosen = max((len(p) for p in self.select if code.startswith(p)), default=-1)
        dropped = max((len(p) for p in self.ignore if code.startswith(p)), default=-1)
        return chosen >= 0 and chosen >= dropped

    def ignored_at(self, path: str | Path) -> tuple[str, ...]:
        """The codes and prefixes per-path ignores drop for the archive at `path`."""
        if not self.per_path_ignores:
            return ()
        where = Path(path).absolute()
        base = Path(self.root) if self.root else Path.cwd()
        try:
            relative = where.relative_to(base).as_posix()
        except ValueError:
            relative = where.as_posix()
        return tuple(
            c for entry in self.per_path_ignores if entry.matches(relative) for c in entry.codes
        )

    def severity_of(self, code: str, default: Severity) -> Severity:
        return self.severities.get(code, default)

    def fails(self, severity: Severity) -> bool:
        return severity.rank >= self.fail_on.rank


def code_problem(code: str, known: Collection[str]) -> str | None:
    """Why `code` is not a rule code or prefix of one, or None when it is."""
    if any(k.startswith(code) for k in known):
        return None
    return f"{code!r} matches no rule (see `mar-lint rules`)"


def mms_version_problem(value: str) -> str | None:
    try:
        release_for(value)
    except UnknownRelease as exc:
        return str(exc)
    return None


def mxnet_version_problem(value: str) -> str | None:
    try:
        Version(value)
    except InvalidVersion:
        return f"{value!r} is not a version"
    return None


def find_config_file(start: Path) -> Path | None:
    """The nearest `.mar-lint.toml`, or `pyproject.toml` with a `[tool.mar-lint]` table, at or
    above `start`; in one folder `.mar-lint.toml` wins."""
    for folder in (start, *start.parents):
        own = folder / CONFIG_FILE
        if own.is_file():
            return own
        pyproject = folder / PYPROJECT
        if pyproject.is_file() and TOOL_TABLE in _read_toml(pyproject).get("tool", {}):
            return pyproject
    return None


def load_settings(config: Path | None, start: Path, known_codes: Collection[str]) -> Settings:
    """Defaults overlaid with the configuration file: `config`, or the one found from `start`."""
    path = config if config is not None else find_config_file(start)
    if path is None:
        return Settings()
    document = _read_toml(path)
    if path.name == PYPROJECT:
        table = document.get("tool", {}).get(TOOL_TABLE)
        if table is None:
            raise ConfigError(f"{path}: no [tool.{TOOL_TABLE}] table")
    else:
        table = document
    return _FileReader(path, known_codes).settings(table)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc


LIMIT_FIELDS = {f.name.replace("_", "-"): f for f in dataclasses.fields(Limits)}
SEVERITY_NAMES = ", ".join(s.value for s in Severity)


class _FileReader:
    """Turns one file's table into Settings, with "file:key: what is wrong" for each mistake."""

    def __init__(self, path: Path, known_codes: Collection[str]) -> None:
        self.path = path
        self.known_codes = known_codes

    def error(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.path}:{key}: {problem}")

    def settings(self, table: dict[str, Any]) -> Settings:
        readers: dict[str, Callable[[str, Any], dict[str, Any]]] = {
            "select": lambda k, v: {"select": self.codes(k, v)},
            "extend-select": lambda k, v: {"extend_select": self.codes(k, v)},
            "ignore": lambda k, v: {"ignore": self.codes(k, v)},
            "per-path-ignores": self.per_path_ignores,
            "severity": self.severities,
            "fail-on": lambda k, v: {"fail_on": self.severity(k, v)},
            "limits": self.limits,
            "mms-version": lambda k, v: {"mms_version": self.version(k, v, mms_version_problem)},
            "mxnet-version": lambda k, v: {
                "mxnet_version": self.version(k, v, mxnet_version_problem)
            },
            "engine": lambda k, v: {"engine": self.engine(k, v)},
        }
        values: dict[str, Any] = {"root": str(self.path.parent.absolute())}
        for key, value in table.items():
            if key not in readers:
                raise self.error(key, f"unknown key (known: {', '.join(sorted(readers))})")
            values.update(readers[key](key, value))
        extend = values.pop("extend_select", ())
        values["select"] = values.get("select", Settings.select) + extend
        return Settings(**values)

    def codes(self, key: str, value: Any) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.error(key, f"must be a list of rule codes or prefixes, not {value!r}")
        codes = tuple(v.strip().upper() for v in value)
        for code in codes:
            problem = code_problem(code, self.known_codes)
            if problem:
                raise self.error(key, problem)
        return codes

    def per_path_ignores(self, key: str, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.error(
                key, 'must be a table of glob = [codes], like "legacy/*.model" = ["MAR1"]'
            )
        entries = tuple(
            PathIgnore(pattern, self.codes(f"{key}.{pattern!r}", codes))
            for pattern, codes in value.items()
        )
        return {"per_path_ignores": entries}

    def severities(self, key: str, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.error(key, 'must be a table of code = severity, like MAR203 = "warning"')
        overrides = {}
        for code, level in value.items():
            where = f"{key}.{code}"
            if code.upper() not in self.known_codes:
                raise self.error(where, f"{code!r} is not a rule code (see `mar-lint rules`)")
            overrides[code.upper()] = self.severity(where, level)
        return {"severities": overrides}

    def severity(self, key: str, value: Any) -> Severity:
        try:
            return Severity(value)
        except ValueError:
            raise self.error(key, f"must be one of {SEVERITY_NAMES}, not {value!r}") from None

    def limits(self, key: str, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.error(key, "must be a table, like [limits] max-members = 20000")
        chosen: dict[str, Any] = {}  # each value checked against its field's type above
        for name, number in value.items():
            where = f"{key}.{name}"
            limit = LIMIT_FIELDS.get(name)
            if limit is None:
                raise self.error(where, f"unknown limit (known: {', '.join(LIMIT_FIELDS)})")
            kinds = (int, float) if limit.type in (float, "float") else (int,)
            if isinstance(number, bool) or not isinstance(number, kinds) or number <= 0:
                wanted = "number" if float in kinds else "whole number"
                raise self.error(where, f"must be a positive {wanted}, not {number!r}")
            chosen[limit.name] = number
        return {"limits": dataclasses.replace(Limits(), **chosen)}

    def engine(self, key: str, value: Any) -> str:
        if value not in ENGINES:
            raise self.error(key, f"must be one of {', '.join(ENGINES)}, not {value!r}")
        return str(value)

    def version(self, key: str, value: Any, problem_of: Callable[[str], str | None]) -> str:
        if not isinstance(value, str):
            raise self.error(key, f'must be a string, like "0.4", not {value!r}')
        problem = problem_of(value)
        if problem:
            raise self.error(key, problem)
        return value
