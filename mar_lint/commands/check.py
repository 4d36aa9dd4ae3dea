"""`mar-lint check`: lint archives and model folders."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

import click
from packaging.version import InvalidVersion, Version

from mar_lint.archive import MANIFEST
from mar_lint.config import Settings
from mar_lint.findings import Severity
from mar_lint.manifests import UnknownRelease, release_for
from mar_lint.registry import Registry, load_registry
from mar_lint.reporters import REPORTERS
from mar_lint.runner import Checker

ARCHIVE_SUFFIXES = (".model", ".mar")


def find_targets(paths: Iterable[Path]) -> Iterator[Path]:
    """Archives and model folders to check: a file is an archive whatever its name; a folder
    holding MANIFEST.json is a model folder; any other folder is searched for both."""
    for path in paths:
        if path.is_file() or (path / MANIFEST).is_file():
            yield path
            continue
        for top, dirs, files in os.walk(path):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            if MANIFEST in files and Path(top) != path:
                dirs[:] = []
                yield Path(top)
                continue
            yield from (Path(top, f) for f in sorted(files) if f.endswith(ARCHIVE_SUFFIXES))


def split_codes(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(
        code.strip().upper() for value in values for code in value.split(",") if code.strip()
    )


def check_codes(registry: Registry, option: str, codes: tuple[str, ...]) -> None:
    for code in codes:
        if not any(r.code.startswith(code) for r in registry.rules):
            raise click.BadParameter(
                f"{code!r} matches no rule (see `mar-lint rules`)", param_hint=option
            )


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--format",
    "output_format",
    type=click.Choice(sorted(REPORTERS)),
    default="text",
    show_default=True,
)
@click.option(
    "--select",
    multiple=True,
    help="Codes or prefixes to check (MAR2, MAR203); repeat or comma-separate.",
)
@click.option("--ignore", multiple=True, help="Codes or prefixes to leave out.")
@click.option(
    "--mms-version", help="Target MMS release (default: the one the manifest was written for)."
)
@click.option("--mxnet-version", help="Target MXNet release (default: the installed mxnet).")
def check(
    paths: tuple[Path, ...],
    output_format: str,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    mms_version: str | None,
    mxnet_version: str | None,
) -> None:
    """Check archives (.model files) and model folders; folders are searched for both."""
    registry = load_registry()
    selected, ignored = split_codes(select) or ("MAR",), split_codes(ignore)
    check_codes(registry, "--select", selected)
    check_codes(registry, "--ignore", ignored)
    if mms_version:
        try:
            release_for(mms_version)
        except UnknownRelease as exc:
            raise click.BadParameter(str(exc), param_hint="--mms-version") from exc
    if mxnet_version:
        try:
            Version(mxnet_version)
        except InvalidVersion as exc:
            raise click.BadParameter(
                f"{mxnet_version!r} is not a version", param_hint="--mxnet-version"
            ) from exc
    targets = list(dict.fromkeys(find_targets(paths)))
    if not targets:
        raise click.UsageError(
            f"no {' or '.join(ARCHIVE_SUFFIXES)} archives or model folders found"
        )
    settings = Settings(
        select=selected, ignore=ignored, mms_version=mms_version, mxnet_version=mxnet_version
    )
    with Checker(registry, settings) as checker:
        reports = [checker.check(target) for target in targets]
    REPORTERS[output_format](reports, registry, sys.stdout)
    failed = any(f.severity is Severity.ERROR for r in reports for f in r.findings)
    sys.exit(1 if failed else 0)
