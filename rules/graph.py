"""The MXNet graph: is it a graph MXNet loads, and can its shapes be inferred?"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from mar_lint.findings import Consequence, Problem
from mar_lint.graph_structure import GraphIssue
from mar_lint.model import ModelView, known_shape
from mar_lint.registry import rule

if TYPE_CHECKING:
    from mar_lint.shapes.op_registry import AttrIssue

MAX_STRUCTURE_PROBLEMS = 20


@rule(
    "MAR301",
    "symbol-invalid",
    "error",
    "the graph JSON does not parse, is not an MXNet graph, or MXNet refuses to load it",
    needs_mxnet=True,
    consequence=Consequence.REFUSED,
)
def symbol_invalid(view: ModelView) -> Iterator[Problem]:
    """Why it matters: MMS loads `<prefix>-symbol.json` with MXNet when the model is registered;
    a graph that MXNet refuses (unknown operator, bad attribute, unknown key) stops the worker.
    Some malformed graphs are worse: MXNet 1.9.1 loads them and then crashes the process.
    mar-lint checks the structure, and every operator and attribute against MXNet 1.9.1's own
    operator registry, in Python first, and runs MXNet only in a sandboxed child process.
    Graphs from old MXNet releases that MXNet upgrades on load are valid.

    Example: a node whose operator MXNet does not have:

        {"op": "Convolution3D", "name": "conv0", "attrs": {"kernel": "(3, 3, 3)",
         "num_filter": "64"}, "inputs": [[0, 0, 0], [1, 0, 0]]}

    Fix: export the graph again from the model (`HybridBlock.export` or
    `mx.model.save_checkpoint`) with the MXNet release the server runs.
    """
    document = view.symbol
    if document.member is None:
        if "Symbol" not in view.references and not view.gluon_imperative:
            yield Problem("the archive has no <prefix>-symbol.json graph")
        return
    member = document.member.name
    if document.error:
        yield Problem(f"the graph cannot be read: {document.error}", member=member)
        return
    yield from _capped(view.graph_issues, member, "not a valid MXNet graph", "structural problems")
    yield from _capped(
        view.operator_issues, member, "MXNet refuses the graph", "operators MXNet refuses"
    )
    graph = view.graph
    if graph is not None and graph.failure:
        yield Problem(f"{graph.failure} while loading the graph", member=member)
    elif graph is not None and graph.load_error:
        yield Problem(
            f"MXNet {graph.mxnet_version} refuses the graph: {graph.load_error}", member=member
        )


def _capped(
    issues: Sequence[GraphIssue | AttrIssue], member: str, prefix: str, rest: str
) -> Iterator[Problem]:
    for issue in issues[:MAX_STRUCTURE_PROBLEMS]:
        yield Problem(f"{prefix}: {issue.message}", member=member, location=issue.location)
    if len(issues) > MAX_STRUCTURE_PROBLEMS:
        yield Problem(f"... and {len(issues) - MAX_STRUCTURE_PROBLEMS} more {rest}", member=member)


@rule(
    "MAR302",
    "shape-inference",
    "error",
    "MXNet cannot infer the graph's shapes from the signature's inputs",
    needs_mxnet=True,
    consequence=Consequence.REFUSED,
)
def shape_inference(view: ModelView) -> Iterator[Problem]:
    """Why it matters: MMS binds the graph with the signature's input shapes (batch and 0
    dimensions bound as 1). When MXNet cannot infer every shape from them, binding fails and
    the model does not load, typically with "Incompatible attr in node ... expected
    (4096,9216), got (4096,57600)" (MMS issue #52): the signature's image size is not the one
    the network was built for.

    Example: a network whose dense layers were sized for 224x224 images (AlexNet, VGG),
    given a larger input:

        "inputs": [{"data_name": "data", "data_shape": [0, 3, 448, 448]}]

    Fix: give each input the shape the network was trained with (`[0, 3, 224, 224]` for most
    ImageNet models).
    """
    if not view.input_shapes:
        return  # no usable input shape: MAR201 says why
    graph = view.graph
    if graph is None or not graph.loaded:
        return
    member = graph.member.name
    shapes = ", ".join(f"{name}={list(shape)}" for name, shape in graph.input_shapes.items())
    if graph.infer_error:
        yield Problem(
            f"MXNet cannot infer shapes from {shapes}: {graph.infer_error}", member=member
        )
        return
    fed = set(view.data_inputs or ()) <= set(graph.input_shapes)
    unknown = [n for n, s in zip(graph.outputs, graph.output_shapes) if not known_shape(s)]
    if unknown and fed:
        yield Problem(
            f"MXNet cannot infer the shape of {', '.join(unknown)} from {shapes}", member=member
        )
