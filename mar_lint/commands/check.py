"""`mar-lint check`: lint archives and model folders."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import sys
from collections.abc import Collection, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import click

from mar_lint.archive import MANIFEST, walk_bounded
from mar_lint.config import (
    ENGINES,
    ConfigError,
    Settings,
    code_problem,
    load_settings,
    mms_version_problem,
    mxnet_version_problem,
)
from mar_lint.crc_pass import early_crc_pass
from mar_lint.findings import Severity
from mar_lint.remote import (
    ARCHIVE_SUFFIXES,
    Remote,
    RemoteArchive,
    RemoteOptions,
    Unreachable,
    is_remote,
)
from mar_lint.reporters import FORMATS, reporter

if TYPE_CHECKING:
    # Imported when a command runs: `check` first sees to the early read of the weights.
    from mar_lint.registry import Registry

# The files the pre-commit hook passes besides archives (.pre-commit-hooks.yaml `files:`).
MODEL_FILE = re.compile(r"^(MANIFEST\.json|signature\.json|.*-symbol\.json|.*\.params)$")
SEVERITIES = [s.value for s in Severity]
MAX_SEARCH_DEPTH = 64  # folders below a path given on the command line searched for archives


class ConfigurationError(click.ClickException):
    """A bad configuration file is a usage error: exit 2, like a bad option."""

    exit_code = 2


class UnreachableTarget(click.ClickException):
    """A remote target that cannot be reached is a usage error, like a missing path: exit 2."""

    exit_code = 2


class RulesNotLoaded(click.ClickException):
    """The built-in rules did not load: exit 2 and check nothing, never "no problems found"."""

    exit_code = 2


class TargetType(click.ParamType):
    """A local path that exists, or an `http://`, `https://` or `s3://` URL (kept as text)."""

    name = "path|url"

    def convert(self, value: Any, param: Any, ctx: Any) -> Path | str:
        if isinstance(value, str) and is_remote(value):
            return value
        return click.Path(exists=True, path_type=Path).convert(value, param, ctx)


class ByteSize(click.ParamType):
    """A byte count: 1048576, 512KiB, 64MiB, 1GiB (or KB/MB/GB, also powers of 1024)."""

    name = "size"
    _UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}

    def convert(self, value: Any, param: Any, ctx: Any) -> int:
        if isinstance(value, int):
            return value
        found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmg]?)(?:i?b)?\s*", str(value), re.IGNORECASE)
        if not found or float(found[1]) <= 0:
            self.fail(f"{value!r} is not a size like 64MiB", param, ctx)
        return int(float(found[1]) * self._UNITS[found[2].lower()])


def remote_options(command: Any) -> Any:
    """The options of commands that read remote archives."""
    for option in reversed(
        (
            click.option(
                "--verify-crc",
                is_flag=True,
                help="Remote archives: read every byte and check every CRC-32 "
                "(moves each archive once).",
            ),
            click.option(
                "--max-transfer",
                type=ByteSize(),
                help="Remote archives: move at most this much each [default: 64MiB].",
            ),
            click.option(
                "--timeout",
                type=click.FloatRange(min=0, min_open=True),
                help="Remote archives: seconds to wait for a connection or the next byte "
                "[default: 30].",
            ),
        )
    ):
        command = option(command)
    return command


def remote_session(settings: Settings, verify_crc: bool) -> Remote:
    limits = settings.limits
    return Remote(RemoteOptions(limits.max_transfer, limits.remote_timeout, verify_crc))


def resolve_targets(paths: Iterable[Path | str], remote: Remote) -> list[Path | RemoteArchive]:
    """What `paths` name, in order: local archives and model folders (see find_targets), and
    remote archives (a URL, or every archive under an S3 prefix). A remote target that cannot
    be reached is a usage error."""
    targets: list[Path | RemoteArchive] = []
    for path in paths:
        if isinstance(path, Path):
            targets.extend(find_targets([path]))
            continue
        try:
            targets.extend(remote.resolve(path))
        except Unreachable as exc:
            raise UnreachableTarget(str(exc)) from None
    return list(dict.fromkeys(targets))


def load_rules() -> Registry:
    """The registry the commands use; a usage-level error (exit 2) when it is incomplete."""
    from mar_lint.registry import RulesUnavailable, load_registry

    try:
        return load_registry()
    except RulesUnavailable as exc:
        raise RulesNotLoaded(
            f"{exc}. Nothing was checked. Reinstall mar-lint (`pip install mar-lint`, or "
            "`pip install -e .` in a source checkout) so its rules are registered."
        ) from exc


def model_folder_of(path: Path) -> Path | None:
    """The model folder a file belongs to, when it is one of a model folder's files: pre-commit
    passes `models/digits/signature.json`, and the whole folder is what gets checked. Only the
    folders named in a relative path are searched (never above the working folder), and only
    the parent of an absolute one."""
    if path.name.endswith(ARCHIVE_SUFFIXES):
        return None
    folders = path.parents if not path.is_absolute() else (path.parent,)
    return next((folder for folder in folders if (folder / MANIFEST).is_file()), None)


def is_loose_model_file(path: Path) -> bool:
    """A model's own file (raw MXNet export, manifest) lying outside any model folder: part of
    no model, so nothing to check, not an archive to fail as MAR001."""
    return bool(MODEL_FILE.search(path.name)) and model_folder_of(path) is None


def find_targets(paths: Iterable[Path]) -> Iterator[Path]:
    """Archives and model folders to check: a file is an archive whatever its name, unless it
    is a file of a model folder (then the folder is checked) or a loose model file (skipped);
    a folder holding MANIFEST.json is a model folder; any other folder is searched for both."""
    for path in paths:
        if path.is_file():
            if not is_loose_model_file(path):
                yield model_folder_of(path) or path
            continue
        if os.path.lexists(path / MANIFEST):  # a MANIFEST.json that is no file is MAR101's
            yield path
            continue
        # Iterative and bounded: a folder nested thousands deep must not raise RecursionError.
        for top, dirs, files in walk_bounded(path, MAX_SEARCH_DEPTH, skip_hidden=True):
            if dirs is None:
                continue
            if MANIFEST in files + dirs and Path(top) != path:
                dirs[:] = []
                yield Path(top)
                continue
            yield from (Path(top, f) for f in files if f.endswith(ARCHIVE_SUFFIXES))


def split_codes(values: tuple[str, ...], option: str, known: Collection[str]) -> tuple[str, ...]:
    codes = tuple(
        code.strip().upper() for value in values for code in value.split(",") if code.strip()
    )
    for code in codes:
        problem = code_problem(code, known)
        if problem:
            raise click.BadParameter(problem, param_hint=option)
    return codes


def resolve_settings(registry: Registry, config_file: Path | None, **options: Any) -> Settings:
    """Defaults < the configuration file (`config_file`, else the nearest one found upward
    from the working folder) < the command line's `options` (see command_line_settings)."""
    known = [r.code for r in registry.rules]
    try:
        file_settings = load_settings(config_file, Path.cwd(), known)
    except ConfigError as exc:
        raise ConfigurationError(str(exc)) from exc
    return command_line_settings(file_settings, known, **options)


def command_line_settings(
    file_settings: Settings, known: Collection[str], **options: Any
) -> Settings:
    """The file's settings overlaid with the command line's: `--select` replaces the file's
    `select` and `extend-select`, `--ignore` and `--extend-select` add to the file's lists, and
    every other option replaces the file's value. `options` are click's values (select,
    extend_select, ignore: tuples of strings; mms_version, mxnet_version, fail_on: str or
    None); a command without one of these options leaves it out."""
    changes: dict[str, Any] = {}
    select = split_codes(options.get("select", ()), "--select", known)
    extend_select = split_codes(options.get("extend_select", ()), "--extend-select", known)
    ignore = split_codes(options.get("ignore", ()), "--ignore", known)
    if select or extend_select:
        changes["select"] = (select or file_settings.select) + extend_select
    if ignore:
        changes["ignore"] = file_settings.ignore + ignore
    for option, problem_of in (
        ("mms_version", mms_version_problem),
        ("mxnet_version", mxnet_version_problem),
    ):
        value = options.get(option)
        problem = problem_of(value) if value else None
        if problem:
            raise click.BadParameter(problem, param_hint="--" + option.replace("_", "-"))
        if value:
            changes[option] = value
    if options.get("fail_on"):
        changes["fail_on"] = Severity(options["fail_on"])
    if options.get("engine"):
        changes["engine"] = options["engine"]
    limits = {
        name: options[option]
        for option, name in (("max_transfer", "max_transfer"), ("timeout", "remote_timeout"))
        if options.get(option) is not None
    }
    if limits:
        changes["limits"] = dataclasses.replace(file_settings.limits, **limits)
    return dataclasses.replace(file_settings, **changes)


# Shared by check, explore and repack.
ENGINE_OPTION = click.option(
    "--engine",
    type=click.Choice(ENGINES),
    help="Who infers the graph's shapes: mar-lint's own engine (MXNet 1.9.1's rules, no "
    "mxnet needed) or MXNet itself in a sandbox [default: native].",
)


@contextlib.contextmanager
def destination(output_file: Path | None) -> Iterator[TextIO]:
    if output_file is None:
        yield sys.stdout
        return
    with open(output_file, "w", encoding="utf-8") as stream:
        yield stream


@click.command()
@click.argument("paths", nargs=-1, required=True, type=TargetType())
@click.option(
    "--config",
    "config_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Configuration file (default: the nearest .mar-lint.toml or pyproject.toml "
    "with [tool.mar-lint]).",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(list(FORMATS)),
    help="Output format [default: text; github when GITHUB_ACTIONS is set].",
)
@click.option(
    "-o",
    "--output-file",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write the report to this file instead of stdout.",
)
@click.option(
    "--select",
    multiple=True,
    help="Codes or prefixes to check (MAR2, MAR203); repeat or comma-separate.",
)
@click.option("--extend-select", multiple=True, help="Codes or prefixes to check as well.")
@click.option("--ignore", multiple=True, help="Codes or prefixes to leave out.")
@click.option(
    "--mms-version", help="Target MMS release (default: the one the manifest was written for)."
)
@click.option("--mxnet-version", help="Target MXNet release (default: the installed mxnet).")
@ENGINE_OPTION
@click.option(
    "--fail-on",
    type=click.Choice(SEVERITIES),
    help="Lowest severity that makes the run exit 1 [default: error].",
)
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when findings would fail the run.")
@click.option(
    "--statistics",
    "statistics_wanted",
    is_flag=True,
    help="Also print how often each code was reported.",
)
@click.option(
    "-q", "--quiet", is_flag=True, help="Text format: only findings, no clean archives or summary."
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=0),
    default=1,
    show_default=True,
    help="Check archives in this many processes (0: one per CPU); remote ones in threads.",
)
@remote_options
def check(
    paths: tuple[Path | str, ...],
    config_file: Path | None,
    output_format: str | None,
    output_file: Path | None,
    exit_zero: bool,
    statistics_wanted: bool,
    quiet: bool,
    jobs: int,
    verify_crc: bool,
    **options: Any,
) -> None:
    """Check archives (.model files) and model folders; folders are searched for both.
    https://, http:// and s3:// archives are read in place; s3://bucket/prefix/ checks every
    archive under the prefix."""
    # Keeps the read of the weights mar_lint.launcher started on a guess, or starts it here,
    # before the rules and jsonschema import; stops it when the run may fork.
    click.get_current_context().with_resource(early_crc_pass(paths, jobs))
    registry = load_rules()
    settings = resolve_settings(registry, config_file, **options)
    with remote_session(settings, verify_crc) as remote:
        targets = resolve_targets(paths, remote)
        reports = _check_targets(registry, settings, targets, paths, output_format, jobs)
    if output_format is None:
        output_format = "github" if os.environ.get("GITHUB_ACTIONS") else "text"
    with destination(output_file) as stream:
        if output_format == "text":
            from mar_lint.reporters import text_report

            text_report.render(reports, registry, stream, quiet=quiet)
        else:
            reporter(output_format)(reports, registry, stream)
    if statistics_wanted:
        # Never inside a machine-readable document on stdout.
        machine_on_stdout = output_format != "text" and output_file is None
        from mar_lint.reporters import statistics

        statistics.render(reports, sys.stderr if machine_on_stdout else sys.stdout)
    failed = any(settings.fails(f.severity) for r in reports for f in r.findings)
    sys.exit(1 if failed and not exit_zero else 0)


def _check_targets(
    registry: Registry,
    settings: Settings,
    targets: list[Path | RemoteArchive],
    paths: tuple[Path | str, ...],
    output_format: str | None,
    jobs: int,
) -> list[Any]:
    if not targets and all(isinstance(path, Path) and path.is_file() for path in paths):
        # Only loose model files, as pre-commit passes them: nothing wrong, nothing to check.
        click.echo("mar-lint: nothing to check: the files are in no model folder", err=True)
        sys.exit(0)
    if not targets:
        raise click.UsageError(
            f"no {' or '.join(ARCHIVE_SUFFIXES)} archives or model folders found"
        )
    from mar_lint.runner import check_all

    remote = sum(isinstance(t, RemoteArchive) for t in targets)
    if remote < 2 or not sys.stderr.isatty():
        return check_all(registry, settings, targets, jobs)
    # A run over a listing can take a while: show it advancing (on a terminal only).
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    columns = (TextColumn("checking"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=Console(file=sys.stderr), transient=True) as progress:
        task = progress.add_task("checking", total=len(targets))
        return check_all(registry, settings, targets, jobs, lambda: progress.advance(task))
