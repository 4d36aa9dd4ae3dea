"""What `mar-lint explore` shows, gathered from a `ModelView` as plain data: the JSON
document `explore --format json` prints (its contract), and what `render` draws for people.

Nothing here imports rich: a script asking for JSON pays for none of it.
"""

from __future__ import annotations

import ast
import math
from collections import Counter
from collections.abc import Callable
from typing import Any, BinaryIO, cast

from mar_lint import __version__
from mar_lint.archive import Member, MemberError, unsafe_path_reason
from mar_lint.extract import ExtractResult
from mar_lint.graph_structure import summarize_graph
from mar_lint.json_output import finding_json
from mar_lint.model import GraphAnalysis, ModelView
from mar_lint.params import ParamsError, ParamsIndex, read_params_index
from mar_lint.runner import ArchiveReport, summarize
from mar_lint.sandbox import MXNetUnavailable

FIRST_LABELS = 5
REQUEST_METHODS = ("_preprocess", "_inference", "_postprocess")  # what MMS runs per request
HEX_BYTES = 256
PARAMS_MAGIC = (0x112).to_bytes(8, "little")


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
    """The graph: its structure from the JSON, then its inputs and outputs with the shapes
    the view infers (the native engine, or MXNet in the sandbox)."""
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
    _add_inferred_shapes(section, view)
    return section


def _add_inferred_shapes(section: dict[str, Any], view: ModelView) -> None:
    """The `mxnet` entry of a graph section, and its inputs and outputs with their shapes."""
    try:
        analysis = view.graph
        data_inputs = view.data_inputs
    except MXNetUnavailable as exc:
        section["mxnet"] = {"version": None, "error": str(exc)}
        return
    if analysis is None:  # operators MXNet 1.9.1 does not register or attributes it refuses
        section["error"] = (
            f"the graph has {len(view.operator_issues)} operator problem(s) that MXNet refuses "
            "(see the findings)"
        )
        return
    error = analysis.failure or analysis.load_error or analysis.infer_error
    section["mxnet"] = {
        "version": analysis.mxnet_version or None,
        "error": error,
        "engine": analysis.engine,
    }
    if analysis.loaded:
        names = data_inputs if data_inputs is not None else tuple(view.input_shapes)
        section["inputs"], section["outputs"] = _graph_ends(analysis, names)


def _graph_ends(
    analysis: GraphAnalysis, input_names: tuple[str, ...]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    inputs = [
        {"name": name, "shape": _as_list(analysis.arg_shapes.get(name))}
        for name in input_names
        if name in analysis.arguments
    ]
    shapes = list(analysis.output_shapes) + [None] * len(analysis.outputs)
    outputs = [
        {"name": name, "shape": _as_list(shape)} for name, shape in zip(analysis.outputs, shapes)
    ]
    return inputs, outputs


def _as_list(shape: tuple[int, ...] | None) -> list[int] | None:
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
            section["elements"] += 0 if tensor.shape is None else math.prod(tensor.shape)
            section["list"].append(
                {
                    "name": tensor.name,
                    "shape": _as_list(tensor.shape),
                    "dtype": tensor.dtype,
                    "storage": tensor.storage,
                    "bytes": tensor.nbytes,
                }
            )
        section.update(
            tensors=len(index.tensors), bytes=sum(by_dtype.values()), bytes_by_dtype=dict(by_dtype)
        )
    return section


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


def member_kind(view: ModelView, member: Member) -> tuple[str, bytes | None]:
    """How `--member` shows the member, and the first bytes read to tell (None when its name
    tells)."""
    name = member.name.lower()
    for suffix, kind in ((".json", "json"), (".py", "python"), (".params", "params")):
        if name.endswith(suffix):
            return kind, None
    head = _head(view, member, HEX_BYTES)
    if head.startswith(PARAMS_MAGIC):
        return "params", head
    if b"\x00" in head:
        return "binary", head
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.reason != "unexpected end of data":  # a character cut by the window is text
            return "binary", head
    return "text", head


def member_content(view: ModelView, member: Member) -> dict[str, Any]:
    """One member for `--member`: JSON parsed, source and text as text, params as a tensor
    table, anything else as the hex of its first bytes; `error` says what went wrong."""
    content: dict[str, Any] = {"name": member.name, "size": member.size, "error": None}
    refusal = view.refusal(member)
    if refusal:
        return dict(content, kind="refused", error=f"{member.name} {refusal}")
    try:
        kind, head = member_kind(view, member)
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
                # Every stream is a binary file; `view.stream` promises only IO[bytes].
                index: ParamsIndex | ParamsError = read_params_index(
                    cast(BinaryIO, handle), member.size
                )
        elif kind in ("python", "text"):
            limit = view.limits.max_text_bytes
            data = _head(view, member, limit)
            text = data.decode("utf-8", "replace")
            return dict(content, text=text, truncated=member.size > limit)
        else:
            assert head is not None  # a binary member is told by its head
            return dict(content, hex=head.hex(), truncated=member.size > HEX_BYTES)
    except ParamsError as exc:
        index = exc
    except MemberError as exc:
        return dict(content, kind=content.get("kind", "unreadable"), error=str(exc))
    return {**content, **tensors_of(index, member)}


def extract_json(result: ExtractResult) -> dict[str, Any]:
    return {
        "target": result.target,
        "written": result.written,
        "skipped": [{"name": s.name, "reason": s.reason} for s in result.skipped],
    }


def find_member(view: ModelView, name: str) -> Member | None:
    """The member called `name`, as stored or relative to the model root (last copy wins)."""
    return view.get(name) or view.in_root(name)
