"""`mar-lint explore`: see inside an archive or model folder, print one member, unpack it
safely, or draw its network.

Exit status: 0 when the archive could be read (broken or not: what is wrong is shown), 1
when it cannot be read at all (MAR001), when the member asked for cannot be read, when
`--extract` left members out or `--graph` had no graph to draw; 2 for usage errors and when
Graphviz is needed but missing.
"""

from __future__ import annotations

import contextlib
import difflib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from mar_lint.commands.check import (
    ENGINE_OPTION,
    TargetType,
    load_rules,
    remote_options,
    remote_session,
    resolve_settings,
    resolve_targets,
)
from mar_lint.config import Settings
from mar_lint.explore import drawing, gather
from mar_lint.explore.reading import ExploreView
from mar_lint.extract import extract
from mar_lint.graphviz import DOT_SUFFIXES, RENDERED_SUFFIXES, GraphvizError, write_graph
from mar_lint.json_output import strict_dumps
from mar_lint.limits import memory_backstop, memory_error_message
from mar_lint.remote import RemoteArchive
from mar_lint.runner import ArchiveReport, Checker

if TYPE_CHECKING:
    from mar_lint.explore.render import Screen

GRAPH_SUFFIXES = DOT_SUFFIXES + RENDERED_SUFFIXES


def _path_option(flag: str, help: str, **kind: bool) -> Callable[[Any], Any]:
    """An option naming a path: `flag` is the option and its metavar ("--extract DIR"), and
    the parameter is named after both (`extract_dir`); `kind` says file or folder."""
    option, metavar = flag.split()
    name = f"{option.lstrip('-')}_{metavar.lower()}"
    path_type = click.Path(path_type=Path, **kind)
    return click.option(option, name, metavar=metavar, type=path_type, help=help)


@click.command()
@click.argument("archive", type=TargetType())
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: one JSON document, for scripts.",
)
@click.option("--member", "member_name", metavar="NAME", help="Print one member.")
@_path_option(
    "--extract DIR",
    "Unpack into DIR safely (escaping paths, links and bombs are refused).",
    file_okay=False,
)
@click.option("--force", is_flag=True, help="With --extract: overwrite existing files.")
@click.option(
    "--flatten",
    is_flag=True,
    help="With --extract: lay files out as MMS does (base names only, last one wins).",
)
@_path_option(
    "--graph FILE",
    "Draw the network: FILE.dot, or .svg/.png/.pdf with Graphviz installed.",
    dir_okay=False,
)
@ENGINE_OPTION
@remote_options
def explore(
    archive: Path | str,
    output_format: str,
    member_name: str | None,
    extract_dir: Path | None,
    force: bool,
    flatten: bool,
    graph_file: Path | None,
    engine: str | None,
    verify_crc: bool,
    **remote: Any,
) -> None:
    """Show what is inside an archive or model folder (or an https://, http:// or s3://
    archive): members, manifest, signature, graph, weights, service outline, labels and the
    check summary."""
    _refuse_misuse(extract_dir, force or flatten, graph_file)
    registry = load_rules()
    settings = resolve_settings(registry, None, engine=engine, **remote)
    target = archive if isinstance(archive, Path) else _one_remote(archive, settings, verify_crc)
    as_json = output_format == "json"
    actions = Actions(None if as_json else _screen())
    limit = settings.limits.memory
    try:
        with memory_backstop(limit), Checker(registry, settings) as checker:
            view = ExploreView(target, settings, checker.sandbox)
            with view:
                actions.document = gather.header(view)
                if view.unreadable or not (member_name or extract_dir or graph_file):
                    actions.overview(view, lambda: checker.check(target, view))
                if not view.unreadable:
                    actions.asked_for(view, member_name, extract_dir, graph_file, force, flatten)
    except MemoryError:
        # The backstop: what was gathered is dropped, and the user is told why (MAR904).
        actions.document = {"path": str(target), "error": "MAR904 " + memory_error_message(limit)}
        actions.fail()
        if actions.screen:
            click.echo(f"mar-lint: MAR904 {memory_error_message(limit)}", err=True)
    if as_json:
        sys.stdout.write(strict_dumps(actions.document) + "\n")
    sys.exit(actions.status)


def _refuse_misuse(extract_dir: Path | None, extract_flags: bool, graph_file: Path | None) -> None:
    """Usage errors (exit 2) that click's option types cannot see."""
    if extract_flags and extract_dir is None:
        raise click.UsageError("--force and --flatten go with --extract DIR")
    if graph_file is not None and graph_file.suffix.lower() not in GRAPH_SUFFIXES:
        raise click.BadParameter(
            f"use a {', '.join(GRAPH_SUFFIXES)} file name", param_hint="--graph"
        )


def _screen() -> Screen:
    """Text output (rich is imported only for it: `--format json` never loads it)."""
    from mar_lint.explore.render import Screen

    return Screen(sys.stdout)


def _one_remote(url: str, settings: Settings, verify_crc: bool) -> RemoteArchive:
    """The one remote archive `url` names (an S3 prefix may name several: a usage error)."""
    with remote_session(settings, verify_crc) as session:
        found = resolve_targets([url], session)
    if len(found) != 1:
        raise click.BadParameter(
            f"{url} names {len(found)} archives; explore one", param_hint="ARCHIVE"
        )
    remote = found[0]
    assert isinstance(remote, RemoteArchive)  # a URL names remote archives only
    return remote


class Actions:
    """What explore was asked to do, each adding its part to one document (the JSON output)
    and, for people, showing it on `screen` (None for `--format json`); `status` is the
    exit status so far."""

    def __init__(self, screen: Screen | None) -> None:
        self.screen = screen
        self.document: dict[str, Any] = {}
        self.status = 0

    def fail(self, status: int = 1) -> None:
        self.status = max(self.status, status)

    def reading(self, view: ExploreView, total: int) -> contextlib.AbstractContextManager[object]:
        """A progress bar of the bytes read, when there is a screen to draw it on."""
        return contextlib.nullcontext() if self.screen is None else self.screen.reading(view, total)

    def overview(self, view: ExploreView, run_check: Callable[[], ArchiveReport]) -> None:
        with self.reading(view, view.readable_bytes()):
            self.document, report = gather.overview(view, run_check)
        if self.screen:
            self.screen.overview(self.document, report)
        if view.unreadable:
            self.fail()

    def asked_for(
        self,
        view: ExploreView,
        member_name: str | None,
        extract_dir: Path | None,
        graph_file: Path | None,
        force: bool,
        flatten: bool,
    ) -> None:
        """`--member`, `--extract` and `--graph`, in that order, each when asked for."""
        if member_name is not None:
            self.member(view, member_name)
        if extract_dir is not None:
            self.extract(view, extract_dir, force, flatten)
        if graph_file is not None:
            self.graph(view, graph_file)

    def member(self, view: ExploreView, name: str) -> None:
        member = gather.find_member(view, name)
        if member is None:
            close = difflib.get_close_matches(name, [m.name for m in view.members], n=3)
            hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
            raise click.BadParameter(
                f"no member {name!r} in the archive{hint}", param_hint="--member"
            )
        with self.reading(view, member.size):
            content = gather.member_content(view, member)
        self.document["member"] = content
        if content["error"]:
            self.fail()
        if self.screen:
            self.screen.member(content)

    def extract(self, view: ExploreView, target: Path, force: bool, flatten: bool) -> None:
        with self.reading(view, view.readable_bytes()):
            try:
                result = extract(view, target, force=force, flatten=flatten)
            except OSError as exc:
                raise click.BadParameter(
                    f"cannot create {target}: {exc.strerror or exc}", param_hint="--extract"
                ) from exc
        self.document["extract"] = gather.extract_json(result)
        if not result.complete:
            self.fail()
        if self.screen:
            self.screen.extract(result)

    def graph(self, view: ExploreView, target: Path) -> None:
        drawn = drawing.draw_graph(view)
        entry: dict[str, Any] = {"path": str(target), "written": None, "error": None}
        entry["shapes"] = None
        self.document["graph_file"] = entry
        if isinstance(drawn, str):
            entry["error"] = drawn
            self.fail()
            if self.screen:
                self.screen.no_graph(drawn)
            return
        entry["shapes"] = drawn.shape_problem or "inferred"
        try:
            write_graph(drawn.dot_text, target)
        except GraphvizError as exc:
            self._write_dot_instead(drawn.dot_text, target, exc)
            return
        entry["written"] = str(target)
        if self.screen:
            self.screen.graph_written(target, drawn.shape_problem)

    def _write_dot_instead(self, dot_text: str, target: Path, exc: GraphvizError) -> None:
        """Graphviz cannot render `target`: the DOT text goes beside it, and exit 2 says
        what to install."""
        fallback = target.with_suffix(".dot")
        write_graph(dot_text, fallback)
        written = {"written": str(fallback), "error": f"{exc}; wrote {fallback} instead"}
        self.document["graph_file"].update(written)
        click.echo(
            f"mar-lint: {exc}; wrote {fallback} instead. Install Graphviz (Debian: "
            f"`apt-get install graphviz`) or convert it with "
            f"`dot -T{target.suffix[1:].lower()} {fallback} -o {target}`.",
            err=True,
        )
        self.fail(2)
