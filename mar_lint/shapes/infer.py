"""Read an MXNet symbol JSON of any era and infer its shapes and dtypes as MXNet 1.9.1 does.

The pass is NNVM's `InferShapeAttr` (src/executor/infer_graph_attr_pass.cc): nodes in
post-order from the heads, alternately forward and backward, each operator's shape function
filling in what it can, until the number of unknown dimensions stops falling; a node whose
shapes are all known is not visited again. So weights and auxiliary states get their shapes
from the operators that use them, and a data input can get its shape from a later layer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, TypeVar

from mar_lint.graph_structure import merged_attrs
from mar_lint.shapes import op_registry, ops_nn, ops_tensor  # noqa: F401 - they fill the op table
from mar_lint.shapes.attrs import AttrError, parse_tuple_text
from mar_lint.shapes.core import (
    ALIASES,
    DTYPE_NAMES,
    DTYPES,
    OPS,
    UNKNOWN_DTYPE,
    OpDef,
    Shape,
    ShapeError,
    known,
)

# Keys NNVM moves off operators onto variables or ignores when it upgrades an old graph.
_LEGACY_HIDDEN = ("ctx_group", "lr_mult", "wd_mult", "force_mirroring", "mirror_stage")


class GraphError(Exception):
    """The graph cannot be read the way MXNet reads it."""


@dataclass
class Node:
    name: str
    op: OpDef | None  # None for a variable
    op_name: str
    attrs: dict[str, str]
    params: Any = None
    inputs: list[tuple[int, int]] = field(default_factory=list)  # (node index, output)


@dataclass
class Graph:
    nodes: list[Node]  # post-order from the heads: every input comes before its user
    heads: list[tuple[int, int]]
    version: int
    unmodelled: tuple[str, ...] = ()  # op names the engine has no shape function for

    def num_outputs(self, node: Node) -> int:
        return 1 if node.op is None else len(node.op.outputs(node.params))


@dataclass
class Inference:
    """What `Symbol.list_*` and `infer_shape_partial`/`infer_type_partial` would say.

    Shapes are given as MXNet's Python API gives them: () when unknown, 0 for an unknown
    dimension."""

    arguments: tuple[str, ...] = ()
    auxiliary_states: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    arg_shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    aux_shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    output_shapes: tuple[tuple[int, ...], ...] = ()
    arg_dtypes: dict[str, str | None] = field(default_factory=dict)
    aux_dtypes: dict[str, str | None] = field(default_factory=dict)
    output_dtypes: tuple[str | None, ...] = ()
    # Every visible node output (node name, output name, shape), for drawing the graph.
    internals: list[tuple[str, str, tuple[int, ...]]] = field(default_factory=list)
    load_error: str | None = None
    infer_error: str | None = None  # shape inference failed
    type_error: str | None = None  # dtype inference failed (the shapes stand; dtypes unknown)
    unmodelled: tuple[str, ...] = ()


def canonical_op(name: str) -> str:
    return ALIASES.get(name, name)


def _version(doc: Mapping[str, Any]) -> int:
    attrs = doc.get("attrs")
    value = attrs.get("mxnet_version") if isinstance(attrs, dict) else None
    if isinstance(value, list) and len(value) == 2 and isinstance(value[1], int):
        return value[1]
    return 800  # MXNet assumes 0.8.0 without a version


def _node_attrs(raw: dict[str, Any]) -> dict[str, str]:
    """One dict of a node's attributes from every era's keys, as MXNet's loader merges them:
    `attr` and `attrs` fill one map (the later one wins), `param` only adds missing keys."""
    return {str(k): str(v) for k, v in merged_attrs(raw).items()}


def _op_params(attrs: Mapping[str, str]) -> dict[str, str]:
    """The attributes an operator's parameter parser sees: no `__hidden__` keys, and none of
    the per-input learning-rate keys old graphs kept on the operator."""
    return {
        k: v
        for k, v in attrs.items()
        if not (k.startswith("__") and k.endswith("__"))
        and k not in _LEGACY_HIDDEN
        and not k.endswith(("_lr_mult", "_wd_mult"))
    }


def _parsed(op: str, attrs: dict[str, str]) -> Any:
    """The operator's parsed parameters; nodes with equal attributes share one parse."""
    return _parse_cached(op, tuple(sorted(attrs.items())))


@lru_cache(maxsize=4096)  # bounded: attributes come from hostile graphs
def _parse_cached(op: str, items: tuple[tuple[str, str], ...]) -> Any:
    return OPS[op].parse(dict(items))


def _read_node(raw: Any) -> Node:
    """One node as MXNet's loader reads it: its op resolved (or checked against MXNet's
    registry when the engine does not model it) and its attributes parsed."""
    if not isinstance(raw, dict):
        raise GraphError("a node is not an object")
    op_name = str(raw.get("op", "null"))
    attrs = _node_attrs(raw)
    name = str(raw.get("name", ""))
    inputs = []
    for entry in raw.get("inputs") or ():
        if not isinstance(entry, list) or not 2 <= len(entry) <= 3:
            raise GraphError(f"invalid input entry of node {name}")
        inputs.append((int(entry[0]), int(entry[1])))
    if op_name == "null":
        return Node(name, None, op_name, attrs, None, inputs)
    op = OPS.get(canonical_op(op_name))
    node = Node(name, op, op_name, attrs, None, inputs)
    if op is None:
        from mar_lint.shapes import op_registry  # the registry loads only when needed

        if not op_registry.is_known(op_name):
            raise GraphError(
                f"Failed loading Op {name} of type {op_name}: Operator {op_name} is not registered"
            )
        return node
    try:
        node.params = _parsed(op.name, _op_params(attrs))
    except (AttrError, ShapeError, ValueError, OverflowError) as exc:
        raise GraphError(f"Failed loading Op {name} of type {op_name}: {exc}") from None
    return node


def read_graph(doc: Any) -> Graph:
    """The graph as MXNet 1.9.1 loads it: legacy op names resolved, attributes parsed, the
    auxiliary states pre-0.9 graphs did not store added, unreachable nodes dropped."""
    if not isinstance(doc, dict) or not isinstance(doc.get("nodes"), list):
        raise GraphError("not an MXNet graph")
    version = _version(doc)
    nodes = [_read_node(raw) for raw in doc["nodes"]]
    unmodelled = [n.op_name for n in nodes if n.op is None and n.op_name != "null"]
    for node in nodes:
        for source, _ in node.inputs:
            if not 0 <= source < len(nodes):
                raise GraphError(
                    f"Check failed: e.node_id < jgraph.nodes.size() (node {node.name})"
                )
    heads = [(int(h[0]), int(h[1])) for h in doc.get("heads") or ()]
    for source, _ in heads:
        if not 0 <= source < len(nodes):
            raise GraphError("a head names no node")
    if unmodelled:
        return Graph(nodes, heads, version, tuple(dict.fromkeys(unmodelled)))
    if version < 900:
        _add_missing_aux(nodes)
    order = _post_order(nodes, heads)
    remap = {old: new for new, old in enumerate(order)}
    ordered = []
    for old in order:
        node = nodes[old]
        node.inputs = [(remap[s], i) for s, i in node.inputs]
        ordered.append(node)
    graph = Graph(ordered, [(remap[s], i) for s, i in heads], version)
    for node in ordered:
        for source, index in node.inputs:
            if index >= graph.num_outputs(ordered[source]):
                raise GraphError(
                    f"input of {node.name} reads past {ordered[source].name}'s outputs"
                )
    for source, index in graph.heads:
        if index >= graph.num_outputs(ordered[source]):
            raise GraphError(f"a head reads past {ordered[source].name}'s outputs")
    return graph


def _add_missing_aux(nodes: list[Node]) -> None:
    """UpgradeJSON_000800_000900: graphs before 0.9 did not store auxiliary states; MXNet adds
    a variable `<op name>_<state>` for each."""
    for index in range(len(nodes)):
        node = nodes[index]
        if node.op is None:
            continue
        aux = node.op.aux(node.params)
        if not aux:  # only auxiliary states were left out (and variadic ops have none)
            continue
        names = node.op.inputs(node.params) + aux
        for missing in names[len(node.inputs) :]:
            nodes.append(Node(f"{node.name}_{missing}", None, "null", {}))
            node.inputs.append((len(nodes) - 1, 0))


def _post_order(nodes: list[Node], heads: list[tuple[int, int]]) -> list[int]:
    """NNVM's PostOrderDFSVisit from the heads (inputs in order), without recursion."""
    seen: set[int] = set()
    order: list[int] = []
    for head, _ in heads:
        if head in seen:
            continue
        seen.add(head)
        stack = [(head, 0)]
        while stack:
            current, child = stack[-1]
            inputs = nodes[current].inputs
            if child < len(inputs):
                stack[-1] = (current, child + 1)
                source = inputs[child][0]
                if source not in seen:
                    seen.add(source)
                    stack.append((source, 0))
            else:
                stack.pop()
                order.append(current)
    if len(order) != len(set(order)):  # pragma: no cover - the seen set prevents it
        raise GraphError("cycle")
    return order


def _check_acyclic(graph: Graph) -> None:
    for position, node in enumerate(graph.nodes):
        for source, _ in node.inputs:
            if source >= position:
                raise GraphError("the graph has a cycle")


@lru_cache(maxsize=4096)
def _parse_shape_attr(text: str) -> Shape:
    try:
        dims = parse_tuple_text(text, "__shape__")
    except AttrError:
        raise GraphError(f"Invalid attribute __shape__={text!r}") from None
    if not dims:
        return None
    return tuple(-1 if d == 0 else d for d in dims)


def infer(
    doc: Any,
    input_shapes: Mapping[str, tuple[int, ...]] | None = None,
    input_dtypes: Mapping[str, str] | None = None,
) -> Inference:
    """List the graph's arguments, auxiliary states and outputs, and infer their shapes and
    dtypes from `input_shapes`/`input_dtypes` (by argument name; other names are ignored)."""
    try:
        graph = read_graph(doc)
    except GraphError as exc:
        return Inference(load_error=str(exc))
    except (TypeError, ValueError, KeyError, IndexError, OverflowError) as exc:
        return Inference(load_error=f"not an MXNet graph: {exc}")
    if graph.unmodelled:
        return Inference(unmodelled=graph.unmodelled)
    return infer_graph(graph, input_shapes or {}, input_dtypes or {})


def infer_graph(
    graph: Graph, input_shapes: Mapping[str, tuple[int, ...]], input_dtypes: Mapping[str, str]
) -> Inference:
    """Infer `graph`'s shapes, then (a separate pass, as MXNet's `infer_type` is) its dtypes."""
    nodes = graph.nodes
    # Entry ids: each node's outputs, numbered in node order.
    first = []
    total = 0
    for node in nodes:
        first.append(total)
        total += graph.num_outputs(node)
    arguments, auxiliary = _variables(graph)
    result = Inference(
        arguments=tuple(nodes[i].name for i in arguments),
        auxiliary_states=tuple(nodes[i].name for i in auxiliary),
        outputs=tuple(_output_names(graph)),
    )
    shapes: list[Shape] = [None] * total
    dtypes = [UNKNOWN_DTYPE] * total
    for i in arguments:
        name = nodes[i].name
        if name in input_shapes:
            shapes[first[i]] = tuple(-1 if d == 0 else int(d) for d in input_shapes[name]) or None
        if name in input_dtypes:
            dtypes[first[i]] = DTYPES[input_dtypes[name]]
    try:
        _check_acyclic(graph)
        for i in (*arguments, *auxiliary):
            attrs = nodes[i].attrs
            if "__shape__" in attrs and not known(shapes[first[i]]):
                shapes[first[i]] = _parse_shape_attr(attrs["__shape__"])
            if "__dtype__" in attrs and dtypes[first[i]] == UNKNOWN_DTYPE:
                dtypes[first[i]] = int(attrs["__dtype__"])
        _fixed_point(graph, first, shapes, _shape_step, _unknown_dims)
    except _INFERENCE_ERRORS as exc:
        result.infer_error = _error_text(exc)
        return result
    try:  # MXNet's infer_type: its errors leave the shapes standing
        _fixed_point(graph, first, dtypes, _type_step, _unknown_dtype)
    except _INFERENCE_ERRORS as exc:
        result.type_error = _error_text(exc)
        dtypes = [UNKNOWN_DTYPE] * total
    _report(result, graph, first, shapes, dtypes, (arguments, auxiliary))
    return result


def _variables(graph: Graph) -> tuple[list[int], list[int]]:
    """The variables' node indices: arguments, then auxiliary states (inputs an operator
    mutates, FMutateInputs), each in node order."""
    mutable: set[int] = set()
    for node in graph.nodes:
        if node.op is not None and node.op.aux(node.params):
            n_args = len(node.op.inputs(node.params))
            for source, _ in node.inputs[n_args:]:
                mutable.add(source)
    variables = [i for i, node in enumerate(graph.nodes) if node.op is None]
    return [i for i in variables if i not in mutable], [i for i in variables if i in mutable]


def _output_names(graph: Graph) -> list[str]:
    """`list_outputs()`: a head's node name and its output's name."""
    names = []
    for source, index in graph.heads:
        node = graph.nodes[source]
        if node.op is None:
            names.append(node.name)
        else:
            names.append(f"{node.name}_{node.op.outputs(node.params)[index]}")
    return names


def _api_shape(shape: Shape) -> tuple[int, ...]:
    """A shape as MXNet's Python API gives it: () when unknown, 0 for an unknown dimension."""
    return () if shape is None else tuple(0 if d < 0 else d for d in shape)


def _report(
    result: Inference,
    graph: Graph,
    first: list[int],
    shapes: list[Shape],
    dtypes: list[int],
    variables: tuple[list[int], list[int]],
) -> None:
    """Fill `result` with the inferred shapes and dtypes, in the Python API's form."""
    nodes = graph.nodes
    arguments, auxiliary = variables
    result.arg_shapes = {nodes[i].name: _api_shape(shapes[first[i]]) for i in arguments}
    result.aux_shapes = {nodes[i].name: _api_shape(shapes[first[i]]) for i in auxiliary}
    result.output_shapes = tuple(_api_shape(shapes[first[s] + k]) for s, k in graph.heads)
    result.arg_dtypes = {nodes[i].name: DTYPE_NAMES.get(dtypes[first[i]]) for i in arguments}
    result.aux_dtypes = {nodes[i].name: DTYPE_NAMES.get(dtypes[first[i]]) for i in auxiliary}
    result.output_dtypes = tuple(DTYPE_NAMES.get(dtypes[first[s] + k]) for s, k in graph.heads)
    for i, node in enumerate(nodes):
        if node.op is None:
            result.internals.append((node.name, node.name, _api_shape(shapes[first[i]])))
            continue
        out_names = node.op.outputs(node.params)
        for k in range(node.op.visible(node.params)):
            label = f"{node.name}_{out_names[k]}"
            result.internals.append((node.name, label, _api_shape(shapes[first[i] + k])))


_INFERENCE_ERRORS = (
    ShapeError,
    GraphError,
    ValueError,
    TypeError,
    IndexError,
    OverflowError,
    ZeroDivisionError,
)


def _error_text(exc: Exception) -> str:
    """The message of a failed pass: MXNet's CHECK text, or the Python error that stood in."""
    if isinstance(exc, (ShapeError, GraphError)):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _unknown_dims(shape: Shape) -> int:
    if shape is None:
        return 1
    return sum(1 for d in shape if d < 0)


def _unknown_dtype(dtype: int) -> bool:
    return dtype == UNKNOWN_DTYPE


def _shape_step(op: OpDef, params: Any, ins: list[Shape], outs: list[Shape]) -> None:
    op.shape(params, ins, outs)
    for value in outs:
        if value is not None and min(value, default=0) < -1:
            # Building a TShape with such a dimension fails MXNet's own check.
            raise ShapeError(f"shape dim size must be >= -1, while received {min(value)}")


def _type_step(op: OpDef, params: Any, ins: list[int], outs: list[int]) -> None:
    op.dtype(params, ins, outs)


Value = TypeVar("Value", Shape, int)
Step = Callable[[OpDef, Any, list[Value], list[Value]], None]


def _fixed_point(
    graph: Graph,
    first: list[int],
    values: list[Value],
    step: Step[Value],
    unknown: Callable[[Value], int],
) -> None:
    """InferShapeAttr's loop over `values` (one per node output): forward and backward
    sweeps until the number of unknowns stops falling, then one more sweep."""
    nodes = graph.nodes
    finished = [False] * len(nodes)
    # Per node: the value slots of its inputs and its outputs, worked out once.
    in_slots = [[first[s] + k for s, k in node.inputs] for node in nodes]
    out_slots = [(first[i], first[i] + graph.num_outputs(n)) for i, n in enumerate(nodes)]
    num_unknown: int | None = None
    last_iter = False
    iteration = 0
    forward = range(len(nodes))
    backward = range(len(nodes) - 1, -1, -1)
    while True:
        for index in forward if iteration % 2 == 0 else backward:
            if not finished[index]:
                finished[index] = _visit(
                    nodes[index], in_slots[index], out_slots[index], values, step, unknown
                )
        last_num_unknown = num_unknown
        num_unknown = sum(unknown(v) for v in values)
        proceed = num_unknown > 0 and (last_num_unknown is None or last_num_unknown > num_unknown)
        if not proceed and not last_iter:
            proceed = not all(finished)
            last_iter = True
        iteration += 1
        if not proceed:
            return


def _visit(
    node: Node,
    in_slots: list[int],
    out_slots: tuple[int, int],
    values: list[Value],
    step: Step[Value],
    unknown: Callable[[Value], int],
) -> bool:
    """Run one node's inference function on its values in place; whether all are known."""
    start, end = out_slots
    if node.op is None:
        return not unknown(values[start])
    ins = [values[i] for i in in_slots]
    outs = values[start:end]
    try:
        step(node.op, node.params, ins, outs)
    except ShapeError as exc:
        raise ShapeError(f"Error in operator {node.name}: {exc}") from None
    for i, value in zip(in_slots, ins):
        values[i] = value
    values[start:end] = outs
    return not any(unknown(v) for v in ins) and not any(unknown(v) for v in outs)
