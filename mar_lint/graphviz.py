"""Draw an MXNet graph: Graphviz DOT text from the symbol JSON, and SVG/PNG/PDF through
Graphviz's own `dot` program when it is installed.

Layers are boxes labelled with their name, operator, weights and output shapes; data inputs
are ovals; weights and auxiliary states are folded into the layer that uses them, as
`mx.viz.plot_network` does, so the picture stays readable. Every edge carries the shape of
the tensor it moves, when MXNet could infer it.
"""

from __future__ import annotations

import posixpath
import shutil
import subprocess
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

from mar_lint.files import atomic_write

Shape = Sequence[int]

DOT_SUFFIXES = (".dot", ".gv")
RENDERED_SUFFIXES = (".svg", ".png", ".pdf")
DOT_TIMEOUT = 120.0  # seconds; `dot` is slow on graphs of thousands of nodes, never this slow


class GraphvizError(Exception):
    """Graphviz's `dot` is not installed, failed, or took too long."""


def format_shape(shape: Shape | None) -> str:
    if shape is None:
        return "?"
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def _quote(text: str) -> str:
    """A DOT double-quoted string; lines joined with DOT's own `\\n`."""
    lines = []
    for line in text.split("\n"):
        clean = "".join(c if c.isprintable() else "?" for c in line)
        lines.append(clean.replace("\\", "\\\\").replace('"', '\\"'))
    return '"' + "\\n".join(lines) + '"'


def _short_name(variable: str, layer: str) -> str:
    """`resnetv10_conv0_weight` used by `resnetv10_conv0_fwd` -> `weight`."""
    common = posixpath.commonprefix([variable, layer])
    cut = common.rfind("_") + 1
    return variable[cut:] or variable


def graph_to_dot(
    doc: Mapping,
    title: str,
    node_outputs: Mapping[str, Sequence[Shape | None]],
    shown_variables: Collection[str],
) -> str:
    """DOT text for a structurally valid graph (`check_graph_structure(doc) == []`).

    `node_outputs` maps a node name to the inferred shapes of its outputs (empty when
    unknown); variables not in `shown_variables` are folded into the layers that use them.
    """
    nodes = doc["nodes"]
    shown = {
        i for i, node in enumerate(nodes) if node["op"] != "null" or node["name"] in shown_variables
    }
    lines = [
        f"digraph {_quote(title)} {{",
        "  rankdir=TB;",
        '  node [shape=box, style="rounded,filled", fillcolor="#eef3fb", fontname="Helvetica"];',
        '  edge [fontname="Helvetica", fontsize=10];',
    ]
    lines += (_node_line(i, nodes, node_outputs, shown) for i in sorted(shown))
    for i in sorted(shown):
        for entry in nodes[i].get("inputs", ()):
            if entry[0] in shown:
                shapes = node_outputs.get(nodes[entry[0]]["name"], ())
                shape = shapes[entry[1]] if entry[1] < len(shapes) else None
                edge_label = f" [label={_quote(format_shape(shape))}]" if shape else ""
                lines.append(f"  n{entry[0]} -> n{i}{edge_label};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _node_line(
    i: int,
    nodes: Sequence[Mapping],
    node_outputs: Mapping[str, Sequence[Shape | None]],
    shown: Collection[int],
) -> str:
    """Node `i`: an oval for a variable; a box for a layer, listing the variables folded
    into it (with their shapes) and its output shapes."""
    node = nodes[i]
    outputs = node_outputs.get(node["name"], ())
    if node["op"] == "null":
        label = f"{node['name']}\n{format_shape(outputs[0] if outputs else None)}"
        return f'  n{i} [label={_quote(label)}, shape=oval, fillcolor="#fff4d6"];'
    lines = [node["name"], node["op"]]
    for entry in node["inputs"]:
        if entry[0] not in shown:
            source = nodes[entry[0]]
            shapes = node_outputs.get(source["name"], ())
            lines.append(
                f"{_short_name(source['name'], node['name'])} "
                f"{format_shape(shapes[0] if shapes else None)}"
            )
    if outputs:
        lines.append("out " + " ".join(format_shape(s) for s in outputs))
    return f"  n{i} [label={_quote(chr(10).join(lines))}];"


def write_graph(dot_text: str, target: Path) -> None:
    """Write DOT text to `target`, or render it with Graphviz for .svg/.png/.pdf targets.

    Raises GraphvizError when rendering is asked for and `dot` is missing or fails."""
    suffix = target.suffix.lower()
    if suffix in DOT_SUFFIXES:
        _replace_with(target, dot_text.encode())
        return
    program = shutil.which("dot")
    if program is None:
        raise GraphvizError("Graphviz's `dot` program is not on PATH")
    try:
        done = subprocess.run(
            [program, f"-T{suffix[1:]}"],
            input=dot_text.encode(),
            capture_output=True,
            timeout=DOT_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise GraphvizError(f"`dot` took more than {DOT_TIMEOUT:g} s") from exc
    except OSError as exc:
        raise GraphvizError(f"cannot run `dot`: {exc}") from exc
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GraphvizError(f"`dot` failed: {message[-1] if message else done.returncode}")
    _replace_with(target, done.stdout)


def _replace_with(target: Path, data: bytes) -> None:
    """Write via a temporary file beside the target, so a failure leaves no half file."""
    with atomic_write(target) as out:
        out.write(data)
