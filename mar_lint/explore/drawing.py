"""`explore --graph`: the network as Graphviz DOT text, from the facts the view holds (the
graph document, its data inputs, and every node's inferred output shapes)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mar_lint.graphviz import graph_to_dot
from mar_lint.model import ModelView, is_label
from mar_lint.sandbox import MXNetUnavailable


@dataclass(frozen=True)
class Drawing:
    """The DOT text of a graph, and why its shapes are missing, if they are."""

    dot_text: str
    shape_problem: str | None


def variables_to_draw(view: ModelView, doc: dict[str, Any]) -> set[str]:
    """Graph variables drawn as nodes: data inputs and labels; weights fold into layers."""
    try:
        data_inputs = view.data_inputs
    except MXNetUnavailable:
        data_inputs = None
    names = set(data_inputs or ()) | set(view.input_shapes)
    return names | {n["name"] for n in doc["nodes"] if n["op"] == "null" and is_label(n["name"])}


def draw_graph(view: ModelView) -> Drawing | str:
    """The graph as DOT text, or why there is none to draw."""
    if view.unreadable:
        return view.unreadable
    doc = view.symbol.parsed
    if doc is None:
        member = view.symbol.member
        name = member.name if member else "the graph (-symbol.json)"
        return f"{name}: {view.symbol.error}"
    shapes = view.node_shapes
    if shapes is None:  # structural problems: the findings name them
        return f"{doc.member.name} has structural problems (run `mar-lint check`)"
    dot_text = graph_to_dot(
        doc.value, doc.member.name, shapes.outputs, variables_to_draw(view, doc.value)
    )
    return Drawing(dot_text, shapes.problem)
