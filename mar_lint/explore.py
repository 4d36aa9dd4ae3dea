"""What `mar-lint explore` shows: gathered from a `ModelView` as plain data (what
`--format json` prints), then rendered for people with rich.

Everything shown comes from the archive, so everything is hostile: text is cleaned of control
and bidirectional characters before it reaches a terminal, rich markup is never built from it
(Text objects only), every read is bounded by the limits, and the service file is outlined
with `ast`, never imported.
"""

from __future__ import annotations

import ast
import io
import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from mar_lint import __version__
from mar_lint.archive import Member, MemberError, unsafe_path_reason
from mar_lint.config import Settings
from mar_lint.extract import ExtractResult
from mar_lint.findings import Severity
from mar_lint.graph_structure import summarize_graph
from mar_lint.graphviz import format_shape
from mar_lint.limits import MiB
from mar_lint.model import LABELS_FILE, ModelView, is_label
from mar_lint.params import ParamsError, ParamsIndex, read_params_index
from mar_lint.reporters.json_report import finding_json
from mar_lint.reporters.text_report import STYLES, finding_text, terminal_safe
from mar_lint.runner import ArchiveReport, summarize
from mar_lint.sandbox import MXNetUnavailable, Sandbox, SandboxFailure

FIRST_LABELS = 5
REQUEST_METHODS = ("_preprocess", "_inference", "_postprocess")  # what MMS runs per request
HEX_BYTES = 256
SHOWN_TEXT_BYTES = 256 * 1024  # the overview shows at most this much of the manifest
SHOWN_OPERATORS = 12
PARAMS_MAGIC = (0x112).to_bytes(8, "little")
PROGRESS_MIN_BYTES = 16 * MiB  # reads shorter than this finish before a bar is worth drawing


# -- hostile text ----------------------------------------------------------------------------


# -- reading with a progress report ----------------------------------------------------------


class _CountingStream(io.BufferedIOBase):
    def __init__(
        self, raw: IO[bytes], member: Member, on_read: Callable[[Member, int], None]
    ) -> None:
        super().__init__()
        self._raw, self._member, self._on_read = raw, member, on_read

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        data = self._raw.read(-1 if size is None else size)
        self._on_read(self._member, len(data))
        return data

    read1 = read  # type: ignore[assignment]

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()


class ExploreView(ModelView):
    """A ModelView that reports every byte it reads to `on_read` (for a progress bar)."""

    def __init__(self, path: Path, settings: Settings, sandbox: Sandbox) -> None:
        super().__init__(path, settings, sandbox)
        self.on_read: Callable[[Member, int], None] | None = None

    def stream(self, member: Member) -> IO[bytes]:
        handle = super().stream(member)
        if self.on_read is None:
            return handle
        return _CountingStream(handle, member, self.on_read)  # type: ignore[return-value]

    def readable_bytes(self) -> int:
        """What reading every member mar-lint would read costs: the progress bar's total."""
        return sum(m.size for m in self.files if self.refusal(m) is None)


# -- gathering -------------------------------------------------------------------------------


def member_rows(view: ModelView) -> list[dict[str, Any]]:
    counts = Counter(m.name for m in view.members)
    rows = []
    for m in view.members:
        if m.is_dir:
            kind, integrity = "folder", None
        elif m.is_symlink or m.special:
            kind, integrity = "link" if m.is_symlink else "special", "refused: not a regular file"
        else:
            kind = "file"
            refusal = view.refusal(m)
            result = view.read_results.get(m.index, "not read")
            integrity = f"refused: {refusal}" if refusal else result or "ok"
        rows.append(
            {
                "name": m.name,
                "kind": kind,
                "size": m.size,
                "compressed_size": m.compressed_size,
                "compression": m.compression,
                "ratio": round(m.size / m.compressed_size, 2) if m.compressed_size else None,
                "encrypted": m.encrypted,
                "integrity": integrity,
                "unsafe_path": unsafe_path_reason(m.name),
                "duplicate": counts[m.name] > 1,
            }
        )
    return rows


def _json_section(doc_member: Member | None, error: str | None) -> dict[str, Any]:
    return {"member": doc_member.name if doc_member else None, "error": error}


def manifest_section(view: ModelView) -> dict[str, Any]:
    doc = view.manifest
    section = _json_section(doc.member, doc.error)
    section["value"] = doc.value if doc.ok else None
    release = view.mms_release
    section["mms_release"], section["mms_release_reason"] = release or (None, None)
    return section


def signature_section(view: ModelView) -> dict[str, Any]:
    doc = view.signature
    section = _json_section(doc.member, doc.error)
    value = doc.value if doc.ok else None
    if doc.ok and not isinstance(value, dict):
        section["error"] = "not a JSON object"
    value = value if isinstance(value, dict) else {}
    for key in ("input_type", "output_type"):
        section[key] = value.get(key)
    for key in ("inputs", "outputs"):
        entries = value.get(key)
        section[key] = [
            {"data_name": e.get("data_name"), "data_shape": e.get("data_shape")}
            for e in (entries if isinstance(entries, list) else [])
            if isinstance(e, dict)
        ]
    return section


def graph_section(view: ModelView) -> dict[str, Any]:
    doc = view.symbol
    section = _json_section(doc.member, doc.error)
    section.update(
        node_count=None,
        operators={},
        variables=0,
        saved_with=None,
        legacy_layout=None,
        inputs=[],
        outputs=[],
        mxnet=None,
    )
    if doc.ok and view.graph_issues:
        section["error"] = (
            f"the graph has {len(view.graph_issues)} structural problem(s) that keep it "
            "from MXNet (see the findings)"
        )
    if not doc.ok or view.graph_issues:
        return section
    summary = summarize_graph(doc.value)
    section.update(
        node_count=summary.node_count,
        operators=summary.operators,
        variables=len(summary.variables),
        saved_with=str(view.saved_mxnet_version) if view.saved_mxnet_version else None,
        legacy_layout=summary.legacy_layout,
        outputs=[{"name": name, "shape": None} for name in summary.outputs],
    )
    try:
        analysis = view.graph
        data_inputs = view.data_inputs
    except MXNetUnavailable as exc:
        section["mxnet"] = {"version": None, "error": str(exc)}
        return section
    if analysis is None:  # operators MXNet 1.9.1 does not register or attributes it refuses
        section["error"] = (
            f"the graph has {len(view.operator_issues)} operator problem(s) that MXNet refuses "
            "(see the findings)"
        )
        return section
    error = analysis.failure or analysis.load_error or analysis.infer_error
    section["mxnet"] = {
        "version": analysis.mxnet_version or None,
        "error": error,
        "engine": analysis.engine,
    }
    if not analysis.loaded:
        return section
    names = data_inputs if data_inputs is not None else tuple(view.input_shapes)
    section["inputs"] = [
        {"name": name, "shape": _listed(analysis.arg_shapes.get(name))}
        for name in names
        if name in analysis.arguments
    ]
    shapes = list(analysis.output_shapes) + [None] * len(analysis.outputs)
    section["outputs"] = [
        {"name": name, "shape": _listed(shape)} for name, shape in zip(analysis.outputs, shapes)
    ]
    return section


def _listed(shape: tuple[int, ...] | None) -> list[int] | None:
    return None if shape is None else list(shape)


def params_section(view: ModelView) -> dict[str, Any]:
    member = view.model_file("Parameters")
    return tensors_of(view.params, member)


def tensors_of(index: ParamsIndex | ParamsError | None, member: Member | None) -> dict[str, Any]:
    section: dict[str, Any] = {"member": member.name if member else None, "error": None}
    section.update(tensors=0, elements=0, bytes=0, bytes_by_dtype={}, list=[])
    if index is None:
        section["error"] = "missing"
    elif isinstance(index, ParamsError):
        section["error"] = f"{index} (at byte {index.offset:,})"
    else:
        by_dtype: Counter[str] = Counter()
        for tensor in index.tensors:
            by_dtype[tensor.dtype or "none"] += tensor.nbytes
            section["elements"] += _elements(tensor.shape)
            section["list"].append(
                {
                    "name": tensor.name,
                    "shape": None if tensor.shape is None else list(tensor.shape),
                    "dtype": tensor.dtype,
                    "storage": tensor.storage,
                    "bytes": tensor.nbytes,
                }
            )
        section.update(
            tensors=len(index.tensors), bytes=sum(by_dtype.values()), bytes_by_dtype=dict(by_dtype)
        )
    return section


def _elements(shape: tuple[int, ...] | None) -> int:
    if shape is None:
        return 0
    count = 1
    for dim in shape:
        count *= dim
    return count


def outline_module(tree: ast.Module) -> dict[str, Any]:
    """Classes (bases, methods), functions and imports of a parsed module."""
    docstring = ast.get_docstring(tree)
    outline: dict[str, Any] = {
        "docstring": docstring.strip().splitlines()[0] if docstring else None,
        "imports": [],
        "classes": [],
        "functions": [],
    }
    for node in tree.body:
        if isinstance(node, ast.Import):
            outline["imports"] += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            outline["imports"].append("." * node.level + (node.module or ""))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            outline["functions"].append({"name": node.name, "line": node.lineno})
        elif isinstance(node, ast.ClassDef):
            methods = [
                {"name": item.name, "line": item.lineno}
                for item in node.body
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))
            ]
            bases = [_source_of(base) for base in node.bases]
            outline["classes"].append(
                {"name": node.name, "line": node.lineno, "bases": bases, "methods": methods}
            )
    return outline


def _source_of(expression: ast.expr) -> str:
    try:
        text = ast.unparse(expression)
    except (RecursionError, ValueError):
        return "..."
    return text if len(text) <= 120 else text[:117] + "..."


def service_section(view: ModelView) -> dict[str, Any]:
    """The service file as the rules see it (`ModelView.service`): its outline, the class
    the target MMS release instantiates, and whose request methods that class runs."""
    service = view.service
    section: dict[str, Any] = {
        "member": service.member_name if service else None,
        "error": None,
        "docstring": None,
        "imports": [],
        "classes": [],
        "functions": [],
        "mms_release": view.target_release,
        "chosen": None,
        "selection_problem": None,
        "runs": {},
    }
    if service is None:
        section["error"] = "missing"
    elif service.tree is None:
        section["error"] = service.unreadable or service.error
    else:
        section.update(outline_module(service.tree))
    selection = view.service_selection
    if selection is not None:
        section["selection_problem"] = selection.problem
        if selection.chosen is not None:
            section["chosen"] = selection.chosen.name
            # None: the service's own code (or a class mar-lint cannot see) defines it
            section["runs"] = {method: selection.provider(method) for method in REQUEST_METHODS}
    return section


def labels_section(view: ModelView) -> dict[str, Any]:
    """synset.txt as MMS reads it (`ModelView.labels`, the reader MAR601 uses)."""
    labels = view.labels
    section: dict[str, Any] = {"member": labels.member_name, "error": labels.error}
    section.update(count=len(labels.labels), blank=labels.labels.count(""))
    section["first"] = list(labels.labels[:FIRST_LABELS])
    if labels.member_name is None:
        section["error"] = "missing"
    return section


def check_section(report: ArchiveReport) -> dict[str, Any]:
    return {
        "mms_release": report.mms_release,
        "summary": summarize([report]),
        "findings": [finding_json(f) for f in report.findings],
    }


def header(view: ModelView) -> dict[str, Any]:
    return {
        "tool": {"name": "mar-lint", "version": __version__},
        "path": str(view.path),
        "kind": view.kind,
        "unreadable": view.unreadable,
    }


def overview(
    view: ModelView, run_check: Callable[[], ArchiveReport]
) -> tuple[dict[str, Any], ArchiveReport]:
    """Everything `explore` shows about an archive. `run_check` runs the rules on this very
    view, after the sections are gathered, so the integrity pass only reads what nothing
    else has read, and the member list then says how every member fared."""
    document = header(view)
    sections: dict[str, Any] = dict.fromkeys(
        ("manifest", "signature", "graph", "params", "service", "labels")
    )
    if not view.unreadable:
        sections.update(
            manifest=manifest_section(view),
            signature=signature_section(view),
            graph=graph_section(view),
            params=params_section(view),
            service=service_section(view),
            labels=labels_section(view),
        )
    report = run_check()
    files = view.files
    document.update(
        root=view.root,
        totals={
            "members": len(view.members),
            "files": len(files),
            "size": sum(m.size for m in files),
            "compressed_size": sum(m.compressed_size for m in files),
        },
        members=member_rows(view),
        **sections,
        check=check_section(report),
    )
    return document, report


# -- one member ------------------------------------------------------------------------------


def _head(view: ModelView, member: Member, count: int) -> bytes:
    with view.stream(member) as handle:
        return handle.read(count)


def member_kind(view: ModelView, member: Member) -> str:
    name = member.name.lower()
    for suffix, kind in ((".json", "json"), (".py", "python"), (".params", "params")):
        if name.endswith(suffix):
            return kind
    head = _head(view, member, HEX_BYTES)
    if head.startswith(PARAMS_MAGIC):
        return "params"
    if b"\x00" in head:
        return "binary"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.reason != "unexpected end of data":  # a character cut by the window is text
            return "binary"
    return "text"


def member_content(view: ModelView, member: Member) -> dict[str, Any]:
    """One member for `--member`: JSON parsed, source and text as text, params as a tensor
    table, anything else as the hex of its first bytes; `error` says what went wrong."""
    content: dict[str, Any] = {"name": member.name, "size": member.size, "error": None}
    refusal = view.refusal(member)
    if refusal:
        return dict(content, kind="refused", error=f"{member.name} {refusal}")
    try:
        kind = member_kind(view, member)
        content["kind"] = kind
        if kind == "json":
            doc = view.json(member)
            if doc.ok:
                return dict(content, value=doc.value)
            # Broken JSON is what people most need to see: show its text.
            content.update(kind="text", note=f"not shown as JSON: {doc.error}")
            kind = "text"
        if kind == "params":
            with view.stream(member) as handle:
                index: ParamsIndex | ParamsError = read_params_index(handle, member.size)
        elif kind in ("python", "text"):
            limit = view.limits.max_text_bytes
            data = _head(view, member, limit)
            text = data.decode("utf-8", "replace")
            return dict(content, text=text, truncated=member.size > limit)
        else:
            head = _head(view, member, HEX_BYTES)
            return dict(content, hex=head.hex(), truncated=member.size > HEX_BYTES)
    except ParamsError as exc:
        index = exc
    except MemberError as exc:
        return dict(content, kind=content.get("kind", "unreadable"), error=str(exc))
    return {**content, **tensors_of(index, member)}


# -- rendering -------------------------------------------------------------------------------


def _size(count: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count:,} {unit}" if unit == "B" else f"{count:,.1f} {unit}"
        count /= 1024  # type: ignore[assignment]
    return ""


def _safe(value: Any) -> Text:
    return Text(terminal_safe(str(value)))


def _json_text(value: Any) -> str:
    return terminal_safe(json.dumps(value, ensure_ascii=False))


def problem_text(text: str) -> Text:
    return Text(terminal_safe(text), "red")


def _section(title: str, body: RenderableType) -> Panel:
    return Panel(body, title=Text(title, "bold"), title_align="left", expand=True)


def render_members(rows: list[dict[str, Any]], root_name: str) -> Tree:
    tree = Tree(Text(terminal_safe(root_name), "bold"))
    folders: dict[tuple[str, ...], Tree] = {(): tree}
    for row in rows:
        parts = tuple(p for p in row["name"].split("/") if p)
        parent = ()
        for depth in range(1, len(parts)):
            key = parts[:depth]
            if key not in folders:
                folders[key] = folders[parent].add(Text(terminal_safe(key[-1]) + "/", "blue"))
            parent = key
        if row["kind"] == "folder":
            if parts and parts not in folders:
                folders[parts] = folders[parent].add(Text(terminal_safe(parts[-1]) + "/", "blue"))
            continue
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
    if section["error"]:
        return problem_text(f"{section['member'] or 'MANIFEST.json'}: {section['error']}")
    text = terminal_safe(json.dumps(section["value"], indent=2, ensure_ascii=False))
    body: list[RenderableType] = []
    if section["mms_release"]:
        body.append(Text(f"MMS {section['mms_release']} ({section['mms_release_reason']})", "cyan"))
    if len(text) > SHOWN_TEXT_BYTES:
        text = text[:SHOWN_TEXT_BYTES]
        body.append(Text(f"(first {SHOWN_TEXT_BYTES:,} characters)", "dim"))
    body.append(Syntax(text, "json", theme="ansi_dark", background_color="default"))
    return Group(*body)


def render_signature(section: dict[str, Any]) -> RenderableType:
    if section["error"]:
        return problem_text(f"{section['member'] or 'signature.json'}: {section['error']}")
    table = Table(box=None, pad_edge=False)
    for column in ("", "data_name", "data_shape", "type"):
        table.add_column(column, overflow="fold")
    for direction in ("inputs", "outputs"):
        kind = section["input_type" if direction == "inputs" else "output_type"]
        for entry in section[direction]:
            table.add_row(
                Text(direction[:-1], "dim"),
                Text(_json_text(entry["data_name"]), "bold"),
                Text(_json_text(entry["data_shape"])),
                _safe(kind),
            )
    return table


def render_graph(section: dict[str, Any], params: dict[str, Any] | None) -> RenderableType:
    parts: list[RenderableType] = []
    if section["error"]:
        parts.append(problem_text(f"{section['member'] or 'graph'}: {section['error']}"))
    if section["node_count"] is not None:
        facts = Text(f"{section['node_count']:,} nodes, {sum(section['operators'].values()):,} ")
        facts.append(f"operators of {len(section['operators'])} kinds")
        if section["saved_with"]:
            facts.append(f"; saved by MXNet {section['saved_with']}")
        if section["legacy_layout"]:
            facts.append(" (pre-1.0 layout)", "yellow")
        parts.append(facts)
        ops = list(section["operators"].items())
        histogram = Table(box=None, pad_edge=False, show_header=False)
        histogram.add_column("operator")
        histogram.add_column("count", justify="right")
        histogram.add_column("bar")
        top = max((count for _, count in ops), default=1)
        for op, count in ops[:SHOWN_OPERATORS]:
            histogram.add_row(_safe(op), str(count), Text("#" * max(1, 30 * count // top), "blue"))
        if len(ops) > SHOWN_OPERATORS:
            histogram.add_row(Text(f"... {len(ops) - SHOWN_OPERATORS} more", "dim"), "", "")
        parts.append(histogram)
    mxnet = section["mxnet"]
    if mxnet and mxnet["error"]:
        parts.append(problem_text(f"MXNet {mxnet['version'] or ''}: {mxnet['error']}"))
    if section["inputs"] or section["outputs"]:
        io_table = Table(box=None, pad_edge=False)
        io_table.add_column("")
        io_table.add_column("name", overflow="fold")
        io_table.add_column("inferred shape")
        for direction in ("inputs", "outputs"):
            for entry in section[direction]:
                io_table.add_row(
                    Text(direction[:-1], "dim"),
                    Text(terminal_safe(entry["name"]), "bold"),
                    Text(format_shape(entry["shape"])),
                )
        parts.append(io_table)
    if params is not None:
        parts.append(_params_summary(params))
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


def render_service(section: dict[str, Any]) -> RenderableType:
    if section["error"]:
        return problem_text(f"{section['member'] or 'service'}: {section['error']}")
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
    if section["error"]:
        return problem_text(f"{section['member'] or LABELS_FILE}: {section['error']}")
    line = Text(f"{section['count']:,} labels: ", "bold")
    more = ", ..." if section["count"] > len(section["first"]) else ""
    line.append(terminal_safe(", ".join(section["first"])) + more)
    if section["blank"]:
        line.append(f" ({section['blank']:,} blank, as MMS reads them)", "yellow")
    return line


def render_check(section: dict[str, Any], findings: list[Any]) -> RenderableType:
    totals = section["summary"]
    line = Text(
        f"{totals['errors']} error(s)", STYLES[Severity.ERROR] if totals["errors"] else "green"
    )
    line.append(f", {totals['warnings']} warning(s), {totals['info']} info")
    if totals["fixable"]:
        line.append(f"; {totals['fixable']} fixable with `mar-lint repack`")
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
    table = Table(box=None, pad_edge=False)
    for column, justify in (("name", "left"), ("shape", "left"), ("dtype", "left")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    table.add_column("bytes", justify="right")
    for tensor in content["list"]:
        shape = None if tensor["shape"] is None else tuple(tensor["shape"])
        table.add_row(
            _safe(tensor["name"]),
            Text(format_shape(shape)),
            _safe(tensor["dtype"]),
            f"{tensor['bytes']:,}",
        )
    parts: list[RenderableType] = [table, _params_summary(content)]
    if content["error"]:
        parts.insert(0, problem_text(content["error"]))
    return Group(*parts)


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
    line = Text(f"wrote {len(result.written):,} file(s) to ", "green" if result.written else "")
    line.append(terminal_safe(result.target), "bold")
    console.print(line)
    for skipped in result.skipped:
        entry = Text("  skipped ", "yellow")
        entry.append(terminal_safe(skipped.name) or "(no name)", "bold")
        entry.append(f": {terminal_safe(skipped.reason)}")
        console.print(entry)


def extract_json(result: ExtractResult) -> dict[str, Any]:
    return {
        "target": result.target,
        "written": result.written,
        "skipped": [{"name": s.name, "reason": s.reason} for s in result.skipped],
    }


def variables_to_draw(view: ModelView, doc: dict) -> set[str]:
    """Graph variables drawn as nodes: data inputs and labels; weights fold into layers."""
    try:
        data_inputs = view.data_inputs
    except MXNetUnavailable:
        data_inputs = None
    names = set(data_inputs or ()) | set(view.input_shapes)
    return names | {n["name"] for n in doc["nodes"] if n["op"] == "null" and is_label(n["name"])}


def node_output_shapes(view: ModelView) -> tuple[dict[str, list[Any]], str | None]:
    """Node name -> inferred shapes of its outputs, from the native engine or MXNet in the
    sandbox (as the settings say), and why there are none when there are none."""
    member = view.symbol.member
    assert member is not None
    if view.settings.engine == "native":
        from mar_lint.shapes.infer import infer

        inference = infer(view.symbol.value, view.input_shapes)
        if not inference.unmodelled:
            shown: dict[str, list[Any]] = {}
            for node, _output, shape in inference.internals:
                shown.setdefault(node, []).append(list(shape))
            return shown, inference.load_error or inference.infer_error
    text = view.read(member, view.limits.max_json_bytes).decode("utf-8", "replace")
    shapes = {name: list(shape) for name, shape in view.input_shapes.items()}
    try:
        answer = view.sandbox.run("internals", symbol_json=text, input_shapes=shapes)
    except (SandboxFailure, MXNetUnavailable) as exc:
        return {}, f"no shapes: MXNet {exc}"
    outputs: dict[str, list[Any]] = {}
    for entry in answer.get("outputs", ()):
        outputs.setdefault(entry["node"], []).append(entry["shape"])
    return outputs, answer.get("load_error") or answer.get("infer_error")


def drawable_graph(view: ModelView) -> tuple[dict | None, str | None]:
    """The graph document if it can be drawn, else why not."""
    if view.unreadable:
        return None, view.unreadable
    doc = view.symbol
    if not doc.ok:
        name = doc.member.name if doc.member else "the graph (-symbol.json)"
        return None, f"{name}: {doc.error}"
    if view.graph_issues:
        return None, f"{doc.member.name} has structural problems (run `mar-lint check`)"  # type: ignore[union-attr]
    return doc.value, None


def find_member(view: ModelView, name: str) -> Member | None:
    """The member called `name`, as stored or relative to the model root (last copy wins)."""
    return view.get(name) or view.in_root(name)
