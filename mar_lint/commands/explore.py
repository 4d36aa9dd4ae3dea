"""`mar-lint explore`: see inside an archive or model folder, print one member, unpack it
safely, or draw its network.

Exit status: 0 when the archive could be read (broken or not: what is wrong is shown), 1
when it cannot be read at all (MAR001), when the member asked for cannot be read, when
`--extract` left members out or `--graph` had no graph to draw; 2 for usage errors and when
Graphviz is needed but missing.
"""

from __future__ import annotations

import difflib
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.text import Text

from mar_lint import explore as shown
from mar_lint.archive import Member
from mar_lint.commands.check import (
    ENGINE_OPTION,
    TargetType,
    load_rules,
    remote_options,
    remote_session,
    resolve_settings,
    resolve_targets,
)
from mar_lint.extract import extract
from mar_lint.graphviz import (
    DOT_SUFFIXES,
    RENDERED_SUFFIXES,
    GraphvizError,
    graph_to_dot,
    write_graph,
)
from mar_lint.limits import memory_backstop, memory_error_message
from mar_lint.reporters.json_report import strict_dumps
from mar_lint.runner import ArchiveReport, Checker


@contextmanager
def progress_bar(
    view: shown.ExploreView, console: Console, total: int, enabled: bool
) -> Iterator[None]:
    """A transient bar of the bytes read, on interactive terminals and for long reads only."""
    if not enabled or total < shown.PROGRESS_MIN_BYTES:
        yield
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(binary_units=True),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("reading", total=total)

        def on_read(member: Member, count: int) -> None:
            name = shown.terminal_safe(member.basename)[:40]
            progress.update(task, advance=count, description=f"reading {name}")

        view.on_read = on_read
        try:
            yield
        finally:
            view.on_read = None


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
@click.option(
    "--extract",
    "extract_dir",
    metavar="DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="Unpack into DIR safely (escaping paths, links and bombs are refused).",
)
@click.option("--force", is_flag=True, help="With --extract: overwrite existing files.")
@click.option(
    "--flatten",
    is_flag=True,
    help="With --extract: lay files out as MMS does (base names only, last one wins).",
)
@click.option(
    "--graph",
    "graph_file",
    metavar="FILE",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Draw the network: FILE.dot, or .svg/.png/.pdf with Graphviz installed.",
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
    if (force or flatten) and extract_dir is None:
        raise click.UsageError("--force and --flatten go with --extract DIR")
    if graph_file is not None and graph_file.suffix.lower() not in (
        DOT_SUFFIXES + RENDERED_SUFFIXES
    ):
        raise click.BadParameter(
            f"use a {', '.join(DOT_SUFFIXES + RENDERED_SUFFIXES)} file name", param_hint="--graph"
        )
    registry = load_rules()
    settings = resolve_settings(registry, None, engine=engine, **remote)
    if isinstance(archive, str):
        with remote_session(settings, verify_crc) as session:
            found = resolve_targets([archive], session)
        if len(found) != 1:
            raise click.BadParameter(
                f"{archive} names {len(found)} archives; explore one", param_hint="ARCHIVE"
            )
        archive = found[0]  # type: ignore[assignment]
    as_json = output_format == "json"
    console = Console(file=sys.stdout, highlight=False)
    interactive = not as_json and sys.stdout.isatty() and console.is_interactive
    actions = Actions(console, as_json, interactive)
    limit = settings.limits.memory
    try:
        with memory_backstop(limit), Checker(registry, settings) as checker:
            with shown.ExploreView(archive, settings, checker.sandbox) as view:
                actions.document = shown.header(view)
                if view.unreadable or not (member_name or extract_dir or graph_file):
                    actions.overview(view, lambda: checker.check(archive, view))
                if not view.unreadable:
                    if member_name is not None:
                        actions.member(view, member_name)
                    if extract_dir is not None:
                        actions.extract(view, extract_dir, force, flatten)
                    if graph_file is not None:
                        actions.graph(view, graph_file)
    except MemoryError:
        # The backstop: what was gathered is dropped, and the user is told why (MAR904).
        actions.document = {"path": str(archive), "error": "MAR904 " + memory_error_message(limit)}
        actions.fail()
        if not as_json:
            click.echo(f"mar-lint: MAR904 {memory_error_message(limit)}", err=True)
    if as_json:
        sys.stdout.write(strict_dumps(actions.document) + "\n")
    sys.exit(actions.status)


class Actions:
    """What explore was asked to do, each adding its part to one document (the JSON output)
    and, for people, printing it; `status` is the exit status so far."""

    def __init__(self, console: Console, as_json: bool, interactive: bool) -> None:
        self.console = console
        self.as_json = as_json
        self.interactive = interactive
        self.document: dict[str, Any] = {}
        self.status = 0

    def fail(self, status: int = 1) -> None:
        self.status = max(self.status, status)

    def overview(self, view: shown.ExploreView, run_check: Callable[[], ArchiveReport]) -> None:
        with progress_bar(view, self.console, view.readable_bytes(), self.interactive):
            self.document, report = shown.overview(view, run_check)
        if not self.as_json:
            shown.render_overview(self.document, report, self.console)
        if view.unreadable:
            self.fail()

    def member(self, view: shown.ExploreView, name: str) -> None:
        member = shown.find_member(view, name)
        if member is None:
            close = difflib.get_close_matches(name, [m.name for m in view.members], n=3)
            hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
            raise click.BadParameter(
                f"no member {name!r} in the archive{hint}", param_hint="--member"
            )
        with progress_bar(view, self.console, member.size, self.interactive):
            content = shown.member_content(view, member)
        self.document["member"] = content
        if content["error"]:
            self.fail()
        if not self.as_json:
            shown.render_member(content, self.console)

    def extract(self, view: shown.ExploreView, target: Path, force: bool, flatten: bool) -> None:
        with progress_bar(view, self.console, view.readable_bytes(), self.interactive):
            try:
                result = extract(view, target, force=force, flatten=flatten)
            except OSError as exc:
                raise click.BadParameter(
                    f"cannot create {target}: {exc.strerror or exc}", param_hint="--extract"
                ) from exc
        self.document["extract"] = shown.extract_json(result)
        if not result.complete:
            self.fail()
        if not self.as_json:
            shown.render_extract(result, self.console)

    def graph(self, view: shown.ExploreView, target: Path) -> None:
        doc, why_not = shown.drawable_graph(view)
        entry: dict[str, Any] = {"path": str(target), "written": None, "error": why_not}
        entry["shapes"] = None
        self.document["graph_file"] = entry
        if doc is None:
            self.fail()
            if not self.as_json:
                self.console.print(shown.problem_text(f"no graph to draw: {why_not}"))
            return
        outputs, shape_problem = shown.node_output_shapes(view)
        entry["shapes"] = shape_problem or "inferred"
        title = view.symbol.member.name  # type: ignore[union-attr]
        dot_text = graph_to_dot(doc, title, outputs, shown.variables_to_draw(view, doc))
        try:
            write_graph(dot_text, target)
        except GraphvizError as exc:
            fallback = target.with_suffix(".dot")
            write_graph(dot_text, fallback)
            entry.update(written=str(fallback), error=f"{exc}; wrote {fallback} instead")
            click.echo(
                f"mar-lint: {exc}; wrote {fallback} instead. Install Graphviz (Debian: "
                f"`apt-get install graphviz`) or convert it with "
                f"`dot -T{target.suffix[1:].lower()} {fallback} -o {target}`.",
                err=True,
            )
            self.fail(2)
            return
        entry["written"] = str(target)
        if not self.as_json:
            line = Text("wrote ", "green")
            line.append(shown.terminal_safe(str(target)), "bold")
            if shape_problem:
                line.append(f" (without shapes: {shown.terminal_safe(shape_problem)})", "yellow")
            self.console.print(line)
