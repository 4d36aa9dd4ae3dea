"""`explore` for people: the gathered document (`gather`) drawn with rich.

Archive text reaches the terminal only through `terminal_safe` and `Text` objects, never
as markup.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from rich.console import Console, Group, JustifyMethod, RenderableType
from rich.panel import Panel
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from mar_lint.archive import Member
from mar_lint.console import (
    finding_text,
    problem_text,
    safe_text,
    terminal_safe,
    totals_text,
)
from mar_lint.explore.reading import PROGRESS_MIN_BYTES, ExploreView
from mar_lint.extract import ExtractResult
from mar_lint.findings import Finding
from mar_lint.graphviz import format_shape
from mar_lint.model import LABELS_FILE
from mar_lint.remote import size_text
from mar_lint.runner import ArchiveReport
from mar_lint.text import plural

SHOWN_TEXT_BYTES = 256 * 1024  # the overview shows at most this much of the manifest
SHOWN_OPERATORS = 12

Column = tuple[str, JustifyMethod]  # a heading, and how to justify the column


class Screen:
    """`explore` for people on one stream: each action's part of the document, rendered."""

    def __init__(self, stream: TextIO) -> None:
        self.console = Console(file=stream, highlight=False)
        self.interactive = stream.isatty() and self.console.is_interactive

    def overview(self, document: dict[str, Any], report: ArchiveReport) -> None:
        render_overview(document, report, self.console)

    def member(self, content: dict[str, Any]) -> None:
        render_member(content, self.console)

    def extract(self, result: ExtractResult) -> None:
        render_extract(result, self.console)

    def no_graph(self, why_not: str) -> None:
        self.console.print(problem_text(f"no graph to draw: {why_not}"))

    def graph_written(self, target: Path, shape_problem: str | None) -> None:
        line = Text("wrote ", "green")
        line.append(terminal_safe(str(target)), "bold")
        if shape_problem:
            line.append(f" (without shapes: {terminal_safe(shape_problem)})", "yellow")
        self.console.print(line)

    @contextmanager
    def reading(self, view: ExploreView, total: int) -> Iterator[None]:
        """A transient bar of the bytes `view` reads, on interactive terminals and for long
        reads only."""
        if not self.interactive or total < PROGRESS_MIN_BYTES:
            yield
            return
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(binary_units=True),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=self.console, transient=True) as progress:
            task = progress.add_task("reading", total=total)

            def on_read(member: Member, count: int) -> None:
                name = terminal_safe(member.basename)[:40]
                progress.update(task, advance=count, description=f"reading {name}")

            view.on_read = on_read
            try:
                yield
            finally:
                view.on_read = None


def _size(count: int) -> str:
    """`size_text`, with a count of bytes short enough for the member tree ("512 B")."""
    return f"{count:,} B" if count < 1024 else size_text(count)


def _json_text(value: Any) -> str:
    return terminal_safe(json.dumps(value, ensure_ascii=False))


def _table(columns: Sequence[str | Column], rows: Iterable[Sequence[Any]]) -> Table:
    """A borderless table; a column is a heading, or a heading and how to justify it."""
    table = Table(box=None, pad_edge=False)
    for column in columns:
        heading, justify = column if isinstance(column, tuple) else (column, "left")
        table.add_column(heading, justify=justify, overflow="fold")
    for row in rows:
        table.add_row(*row)
    return table


def _unreadable(section: dict[str, Any], default_name: str) -> Text | None:
    """What kept a section's member from being read, or None when it was read."""
    if not section["error"]:
        return None
    return problem_text(f"{section['member'] or default_name}: {section['error']}")


def _section(title: str, body: RenderableType) -> Panel:
    return Panel(body, title=Text(title, "bold"), title_align="left", expand=True)


def render_members(rows: list[dict[str, Any]], root_name: str) -> Tree:
    tree = Tree(Text(terminal_safe(root_name), "bold"))
    folders: dict[tuple[str, ...], Tree] = {(): tree}
    for row in rows:
        parts = tuple(p for p in row["name"].split("/") if p)
        is_folder = row["kind"] == "folder"
        parent = ()
        for depth in range(1, len(parts) + is_folder):  # a folder entry's own branch too
            key = parts[:depth]
            if key not in folders:
                folders[key] = folders[parent].add(Text(terminal_safe(key[-1]) + "/", "blue"))
            parent = key
        if not is_folder:
            folders[parent].add(_member_line(row, parts[-1] if parts else row["name"]))
    return tree


def _member_line(row: dict[str, Any], name: str) -> Text:
    line = Text(terminal_safe(name) or "(no name)")
    details = f"  {_size(row['size'])}"
    if row["compression"] != "stored":
        ratio = f" {row['ratio']:,.1f}:1" if row["ratio"] else ""
        details += f" ({row['compression']}{ratio})"
    line.append(details, "dim")
    integrity = row["integrity"]
    if integrity == "ok":
        line.append("  ok", "green")
    elif integrity == "not read":
        line.append("  not read", "dim")
    else:
        line.append(f"  {terminal_safe(integrity)}", "red")
    for flag, text in (
        (row["kind"] in ("link", "special"), row["kind"]),
        (row["duplicate"], "duplicate name"),
        (row["unsafe_path"], f"unsafe path: {row['unsafe_path']}"),
    ):
        if flag:
            line.append(f"  [{terminal_safe(text)}]", "bold red")
    return line


def render_manifest(section: dict[str, Any]) -> RenderableType:
    if unreadable := _unreadable(section, "MANIFEST.json"):
        return unreadable
    text = terminal_safe(json.dumps(section["value"], indent=2, ensure_ascii=False))
    body: list[RenderableType] = []
    if section["mms_release"]:
        body.append(Text(f"MMS {section['mms_release']} ({section['mms_release_reason']})", "cyan"))
    if len(text) > SHOWN_TEXT_BYTES:
        text = text[:SHOWN_TEXT_BYTES]
        body.append(Text(f"(first {SHOWN_TEXT_BYTES:,} characters)", "dim"))
    body.append(Syntax(text, "json", theme="ansi_dark", background_color="default"))
    return Group(*body)


def _by_direction(section: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """("input", entry) for each of a section's inputs, then ("output", entry)."""
    for direction in ("input", "output"):
        for entry in section[f"{direction}s"]:
            yield direction, entry


def render_signature(section: dict[str, Any]) -> RenderableType:
    if unreadable := _unreadable(section, "signature.json"):
        return unreadable
    rows = (
        (
            Text(direction, "dim"),
            Text(_json_text(entry["data_name"]), "bold"),
            Text(_json_text(entry["data_shape"])),
            safe_text(section[f"{direction}_type"]),
        )
        for direction, entry in _by_direction(section)
    )
    return _table(("", "data_name", "data_shape", "type"), rows)


def render_graph(section: dict[str, Any], params: dict[str, Any] | None) -> RenderableType:
    parts: list[RenderableType] = []
    if section["error"]:
        parts.append(problem_text(f"{section['member'] or 'graph'}: {section['error']}"))
    if section["node_count"] is not None:
        parts += [_graph_facts(section), _operator_histogram(section["operators"])]
    mxnet = section["mxnet"]
    if mxnet and mxnet["error"]:
        parts.append(problem_text(f"MXNet {mxnet['version'] or ''}: {mxnet['error']}"))
    if section["inputs"] or section["outputs"]:
        rows = (
            (
                Text(direction, "dim"),
                Text(terminal_safe(entry["name"]), "bold"),
                Text(format_shape(entry["shape"])),
            )
            for direction, entry in _by_direction(section)
        )
        parts.append(_table(("", "name", "inferred shape"), rows))
    if params is not None:
        parts.append(_params_summary(params))
    return Group(*parts)


def _graph_facts(section: dict[str, Any]) -> Text:
    facts = Text(f"{section['node_count']:,} nodes, {sum(section['operators'].values()):,} ")
    facts.append(f"operators of {len(section['operators'])} kinds")
    if section["saved_with"]:
        facts.append(f"; saved by MXNet {section['saved_with']}")
    if section["legacy_layout"]:
        facts.append(" (pre-1.0 layout)", "yellow")
    return facts


def _operator_histogram(operators: dict[str, int]) -> Table:
    """The most used operators (the gathered counts come most used first), with bars."""
    ops = list(operators.items())
    histogram = Table(box=None, pad_edge=False, show_header=False)
    histogram.add_column("operator")
    histogram.add_column("count", justify="right")
    histogram.add_column("bar")
    top = max((count for _, count in ops), default=1)
    for op, count in ops[:SHOWN_OPERATORS]:
        histogram.add_row(safe_text(op), str(count), Text("#" * max(1, 30 * count // top), "blue"))
    if len(ops) > SHOWN_OPERATORS:
        histogram.add_row(Text(f"... {len(ops) - SHOWN_OPERATORS} more", "dim"), "", "")
    return histogram


def render_service(section: dict[str, Any]) -> RenderableType:
    if unreadable := _unreadable(section, "service"):
        return unreadable
    tree = Tree(Text(terminal_safe(section["member"]), "bold"))
    if section["docstring"]:
        tree.add(Text(terminal_safe(section["docstring"]), "italic"))
    for cls in section["classes"]:
        bases = ", ".join(cls["bases"])
        branch = tree.add(Text(f"class {cls['name']}({terminal_safe(bases)})", "bold"))
        for method in cls["methods"]:
            branch.add(Text(f"def {method['name']}", "green"))
    for function in section["functions"]:
        tree.add(Text(f"def {function['name']}", "green"))
    if section["imports"]:
        tree.add(Text("imports " + terminal_safe(", ".join(section["imports"])), "dim"))
    release = f"MMS {section['mms_release']}"
    if section["chosen"]:
        line = Text(f"{release} instantiates {terminal_safe(section['chosen'])}: ", "cyan")
        line.append(
            ", ".join(
                f"{method} from {terminal_safe(provider)}" if provider else f"its own {method}"
                for method, provider in section["runs"].items()
            )
        )
        tree.add(line)
    if section["selection_problem"]:
        tree.add(problem_text(f"{release}: {section['selection_problem']}"))
    return tree


def render_labels(section: dict[str, Any]) -> RenderableType:
    if unreadable := _unreadable(section, LABELS_FILE):
        return unreadable
    line = Text(f"{section['count']:,} labels: ", "bold")
    more = ", ..." if section["count"] > len(section["first"]) else ""
    line.append(terminal_safe(", ".join(section["first"])) + more)
    if section["blank"]:
        line.append(f" ({section['blank']:,} blank, as MMS reads them)", "yellow")
    return line


def render_check(section: dict[str, Any], findings: Sequence[Finding]) -> RenderableType:
    line = totals_text(section["summary"], Text())
    return Group(line, *(finding_text(f) for f in findings))


def render_overview(document: dict[str, Any], report: ArchiveReport, console: Console) -> None:
    title = Text(terminal_safe(document["path"]), "bold underline")
    title.append(f"  ({document['kind']})", "dim")
    console.print(title)
    if document["unreadable"]:
        console.print(problem_text(document["unreadable"]))
    else:
        totals = document["totals"]
        summary = f"{totals['files']:,} files, {_size(totals['size'])}"
        if document["kind"] == "zip":
            summary += f" ({_size(totals['compressed_size'])} compressed)"
        console.print(_section(f"Members: {summary}", render_members(document["members"], ".")))
        console.print(_section("Manifest", render_manifest(document["manifest"])))
        console.print(_section("Signature", render_signature(document["signature"])))
        console.print(_section("Graph", render_graph(document["graph"], document["params"])))
        console.print(_section("Service", render_service(document["service"])))
        console.print(_section("Labels", render_labels(document["labels"])))
    console.print(_section("Check", render_check(document["check"], report.findings)))


def render_member(content: dict[str, Any], console: Console) -> None:
    title = Text(terminal_safe(content["name"]), "bold underline")
    title.append(f"  {_size(content['size'])}, {content.get('kind')}", "dim")
    console.print(title)
    kind = content.get("kind")
    if content["error"] and kind != "params":
        console.print(problem_text(content["error"]))
        return
    if content.get("note"):
        console.print(Text(terminal_safe(content["note"]), "yellow"))
    if kind == "json":
        text = terminal_safe(json.dumps(content["value"], indent=2, ensure_ascii=False))
        console.print(Syntax(text, "json", theme="ansi_dark", background_color="default"))
    elif kind == "python":
        console.print(
            Syntax(
                terminal_safe(content["text"]),
                "python",
                theme="ansi_dark",
                line_numbers=True,
                background_color="default",
            )
        )
    elif kind == "text":
        console.print(Text(terminal_safe(content["text"])))
    elif kind == "params":
        console.print(_tensor_table(content))
    else:
        console.print(Text(hex_view(bytes.fromhex(content["hex"]))))
    if content.get("truncated"):
        console.print(Text("(truncated: the member is longer)", "dim"))


def _tensor_table(content: dict[str, Any]) -> RenderableType:
    rows = (
        (
            safe_text(tensor["name"]),
            Text(format_shape(tensor["shape"])),
            safe_text(tensor["dtype"]),
            f"{tensor['bytes']:,}",
        )
        for tensor in content["list"]
    )
    table = _table(("name", "shape", "dtype", ("bytes", "right")), rows)
    parts: list[RenderableType] = [table, _params_summary(content)]
    if content["error"]:
        parts.insert(0, problem_text(content["error"]))
    return Group(*parts)


def _params_summary(params: dict[str, Any]) -> Text:
    if params["error"]:
        return problem_text(f"weights {params['member'] or ''}: {params['error']}")
    line = Text(f"weights: {params['tensors']:,} tensors, {params['elements']:,} parameters, ")
    line.append(_size(params["bytes"]))
    by_dtype = ", ".join(f"{dtype} {_size(n)}" for dtype, n in params["bytes_by_dtype"].items())
    if by_dtype:
        line.append(f" ({by_dtype})", "dim")
    return line


def hex_view(data: bytes) -> str:
    """`hexdump -C` style: offset, 16 bytes in hex, the printable ASCII."""
    lines = []
    for offset in range(0, len(data), 16):
        row = data[offset : offset + 16]
        hexed = " ".join(f"{b:02x}" for b in row)
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in row)
        lines.append(f"{offset:08x}  {hexed:<47}  |{text}|")
    return "\n".join(lines)


def render_extract(result: ExtractResult, console: Console) -> None:
    line = Text(
        f"wrote {plural(len(result.written), 'file')} to ", "green" if result.written else ""
    )
    line.append(terminal_safe(result.target), "bold")
    console.print(line)
    for skipped in result.skipped:
        entry = Text("  skipped ", "yellow")
        entry.append(terminal_safe(skipped.name) or "(no name)", "bold")
        entry.append(f": {terminal_safe(skipped.reason)}")
        console.print(entry)
