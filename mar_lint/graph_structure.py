"""Structural validation of MXNet symbol JSON (`*-symbol.json`) without importing MXNet.

MXNet 1.9.1's loader (nnvm `LoadJSON`) checks key names, JSON types and node ids, but not
output indexes, cycles or sizes: a head whose `output_index` is past its node's outputs
segfaults the next `list_outputs()`, an input one does the same in `infer_shape` or reads
garbage, and a 2**40 `__shape__` is allocated before anything fails. So everything here is
checked in pure Python first; an empty result means the graph can go to MXNet (in a sandbox).

Behaviour verified against mxnet 1.9.1 with every malformed graph run in a subprocess; see
`tests/test_graph_structure.py`. The validator is iterative (no recursion over nodes or
subgraphs) and linear in the size of the document.

Whether an operator exists and its attributes parse is `mar_lint.shapes.op_registry`'s
business. What needs MXNet itself stays with the sandbox: how many inputs an operator takes and
what its parameters mean (a FullyConnected with a single input loads,
fails infer_shape, and crashes simple_bind). Only BatchNorm-like operators, whose missing
auxiliary inputs crash list_arguments(), and the location parameters of control-flow
operators are checked here.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass
from typing import Any, Callable, TypeGuard

from mar_lint.jsonpointer import escape

__all__ = [
    "GraphIssue",
    "GraphSummary",
    "attr_maps",
    "check_graph_structure",
    "merged_attrs",
    "saved_version",
    "summarize_graph",
]

# dmlc's JSONObjectReadHelper refuses any other key ("JSONReader: Unknown field ...").
_GRAPH_KEYS = frozenset({"nodes", "arg_nodes", "node_row_ptr", "heads", "attrs"})
_NODE_KEYS = frozenset(
    "op name inputs attrs attr param control_deps subgraphs backward_source_id".split()
)
_ATTR_MAPS = ("param", "attr", "attrs")  # all must be string -> string maps

_UINT32 = 2**32  # node ids, output indexes, versions and row pointers are uint32_t
_INT32 = 2**31  # backward_source_id and the "int" graph attribute are int
_MAX_NAME = 1024
_MAX_NDIM = 32
_MAX_DIM = 2**31 - 1  # a larger dimension wraps negative in MXNet's int32 shape APIs
# pip builds have no INT64_TENSOR_SIZE: tensors must stay below 2**31 - 1 elements
# (mxnet's own check: "Size of tensor you are trying to allocate is larger than 2^31").
_MAX_ELEMENTS = 2**31 - 2
_SHAPE_ATTRS = ("__shape__", "shape", "target_shape")
# nnvm reads subgraphs recursively: ~10,000 nested levels overflow its stack (SIGSEGV).
_MAX_SUBGRAPH_DEPTH = 100

# Graph attribute values are dmlc typed `any`s, [type, value]. These are the types libmxnet
# 1.9.1 registers (DMLC_JSON_ENABLE_ANY); any other type name is refused at load.
_ANY_TYPES: dict[str, Callable[[Any], bool]] = {
    "int": lambda v: _is_int(v) and -_INT32 <= v < _INT32,
    "size_t": lambda v: _is_int(v),
    "str": lambda v: isinstance(v, str),
    "list_int": lambda v: isinstance(v, list) and all(_is_int(x) for x in v),
    "list_str": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
    "list_shape": lambda v: (
        isinstance(v, list) and all(isinstance(s, list) and all(_is_int(x) for x in s) for s in v)
    ),
}

# Operators whose last inputs are auxiliary states (FMutateInputs), with their full input
# count. MXNet indexes those inputs without a bounds check when it lists arguments: a BatchNorm
# without inputs crashes list_arguments() (verified). Files older than 0.9.0 are exempt: the
# loader's upgrade pass adds the missing auxiliary inputs.
_AUX_INPUTS = {
    "BatchNorm": 5,
    "BatchNorm_v1": 5,
    "_contrib_BatchNormWithReLU": 5,
    "_contrib_SyncBatchNorm": 5,
    "_contrib_quantized_batch_norm": 5,
    "IdentityAttachKLSparseReg": 2,
}
_AUX_UPGRADE_VERSION = 900  # UpgradeJSON_000800_000900

# Operators whose output count is their num_outputs parameter: node_row_ptr is only what the
# exporter claims, while MXNet counts with this parameter when it loads the graph.
_NUM_OUTPUTS_OPS = frozenset({"SliceChannel", "amp_multicast", "_foreach", "_while_loop", "_cond"})
_CONTROL_FLOW = frozenset({"_foreach", "_while_loop", "_cond"})

# Operators that name their outputs themselves (FListOutputNames), as `list_outputs()` shows
# them in mxnet 1.9.1. Every other operator's outputs are "output" when it has one output and
# "output0", "output1", ... otherwise. A head index past this list also crashes list_outputs(),
# so for these operators the list length bounds the valid indexes too.
_NORM = ("output", "mean", "var")
_MIN_MAX = ("output", "min_output", "max_output")
_OUTPUT_NAMES: dict[str, tuple[str, ...]] = {
    "BatchNorm": _NORM,
    "BatchNorm_v1": _NORM,
    "InstanceNorm": _NORM,
    "_contrib_SyncBatchNorm": _NORM,
    "_contrib_BatchNormWithReLU": (*_NORM, "workspace"),
    "LayerNorm": ("output", "mean", "std"),
    "GroupNorm": ("output", "mean", "std"),
    "Dropout": ("output", "mask"),
    "LRN": ("output", "tmp_norm"),
    "Pooling": ("output", "workspace"),
    "ROIPooling": ("output", "maxidx"),
    "BilinearSampler": ("output", "tmp"),
    "Correlation": ("output", "tmp1", "tmp2"),
    "L2Normalization": ("output", "norm"),
    "GridGenerator": ("output", "grid_dst"),
    "SpatialTransformer": ("output", "grid_dst", "grid_src"),
    "RNN": ("output", "state_output", "statecell_output"),
    "make_loss": ("loss",),
    "_contrib_DeformablePSROIPooling": ("output", "top_count"),
    "_contrib_Proposal": ("output", "score"),
    "_contrib_MultiProposal": ("output", "score"),
    "_contrib_MultiBoxTarget": ("loc_target", "loc_mask", "cls_target"),
    "_contrib_calibrate_entropy": ("threshold", "divergence"),
    "_contrib_hawkesll": ("output", "out_state"),
    "_contrib_quantize_asym": ("output", "scale", "shift"),
    **{
        f"_contrib_quantized_{op}": _MIN_MAX
        for op in "conv fully_connected pooling act concat batch_norm elemwise_add elemwise_mul "
        "flatten".split()
    },
}


@dataclass(frozen=True)
class GraphIssue:
    message: str  # for end users: what is wrong, and with which node (name and index)
    location: str  # JSON pointer into the graph document ("" is the root)


@dataclass(frozen=True)
class GraphSummary:
    node_count: int  # nodes of the top-level graph
    # op name -> count over all graphs including subgraphs (every operator the graph needs),
    # variables excluded; sorted by count desc, then name
    operators: dict[str, int]
    variables: tuple[str, ...]  # top-level variable nodes ("op": "null") in node order
    outputs: tuple[str, ...]  # head names as Symbol.list_outputs() gives them
    saved_version: int | None
    legacy_layout: bool  # pre-1.0 node keys ("attr"/"param") present


def check_graph_structure(doc: object, *, max_nodes: int = 200_000) -> list[GraphIssue]:
    """Everything that makes MXNet 1.9.1 refuse, crash on, or misread this graph, found
    without MXNet. An empty list means the graph is safe to hand to MXNet's loader (in a
    sandbox)."""
    checker = StructureValidator(max_nodes, saved_version(doc))
    try:
        checker.check_document(doc)
    except Exception as exc:  # fail closed: a graph we could not check is not safe
        checker.add(
            "", f"the graph could not be validated ({type(exc).__name__}); treat it as unsafe"
        )
    return checker.issues


def saved_version(doc: object) -> int | None:
    """MXNet version integer (MAJOR*10000+MINOR*100+PATCH) from attrs.mxnet_version
    (["int", N]); None if absent/malformed."""
    attrs = doc.get("attrs") if isinstance(doc, dict) else None
    value = attrs.get("mxnet_version") if isinstance(attrs, dict) else None
    if (
        isinstance(value, list)
        and len(value) == 2
        and value[0] == "int"
        and _is_int(value[1])
        and 0 <= value[1] < _INT32
    ):
        return value[1]
    return None


def summarize_graph(doc: dict) -> GraphSummary:
    """Cheap facts about a graph for which check_graph_structure() returned []."""
    nodes = doc["nodes"]
    operators: Counter[str] = Counter()
    pending = deque([nodes])
    while pending:
        for node in pending.popleft():
            if node["op"] != "null":
                operators[node["op"]] += 1
            pending.extend(sub["nodes"] for sub in node.get("subgraphs", ()))
    counts = _row_ptr_counts(doc.get("node_row_ptr"), nodes) or _referenced_counts(doc)
    return GraphSummary(
        node_count=len(nodes),
        operators=dict(sorted(operators.items(), key=lambda item: (-item[1], item[0]))),
        variables=tuple(n["name"] for n in nodes if n["op"] == "null"),
        outputs=tuple(_output_name(nodes[h[0]], h[1], counts[h[0]]) for h in doc["heads"]),
        saved_version=saved_version(doc),
        legacy_layout=any("attr" in n or "param" in n for n in nodes),
    )


# --------------------------------------------------------------------------- helpers


def _is_int(value: object) -> TypeGuard[int]:
    return type(value) is int  # JSON integers only: bool is an int subclass in Python


def _describe(value: object) -> str:
    """A short rendering of any value for messages: never recurses, never calls str() on a
    huge int (Python refuses to print ints over 4,300 digits)."""
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, int):
        return str(value) if value.bit_length() <= 64 else "a huge integer"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return repr(value) if len(value) <= 40 else repr(value[:37]) + "..."
    if isinstance(value, list):
        return f"an array of {len(value)}"
    return "an object" if isinstance(value, dict) else type(value).__name__


def _join(pointer: str, token: object) -> str:
    text = token if isinstance(token, str) else _describe(token)
    return f"{pointer}/{escape(text)}"


def attr_maps(node: dict) -> list[str]:
    """The node keys whose maps MXNet keeps, highest precedence first: `attr` and `attrs`
    are read into the same map, so only the one that comes last survives; `param` only adds
    keys that are missing."""
    last = [k for k in node if k in ("attr", "attrs") and isinstance(node[k], dict)][-1:]
    return last + (["param"] if isinstance(node.get("param"), dict) else [])


def merged_attrs(node: dict) -> dict:
    merged: dict = {}
    for key in reversed(attr_maps(node)):
        merged.update(node[key])
    return merged


def _int_tuple(text: str) -> list[int] | None:
    """MXNet tuple text ("(1, 2, 3)", "[1,2]", "(4,)", "5", "None") as ints; None if it is
    not one."""
    body = text.strip()
    if body in ("None", ""):
        return []
    if body[:1] in "([" and body[-1:] in ")]":
        body = body[1:-1]
    parts = [p.strip().rstrip("L") for p in body.split(",")]  # "2L": Python 2 longs
    if parts and not parts[-1]:
        parts.pop()  # "(4,)"
    try:
        return [int(p) for p in parts]
    except ValueError:  # also digit strings too long for int()
        return None


def _shape_problem(key: str, text: str) -> str | None:
    """Why a shape attribute is absurd, or None."""
    dims = _int_tuple(text)
    if dims is None:
        # Op parameters are parsed (and refused) by MXNet at load; `__shape__` only when
        # shapes are inferred, so a broken one would get past loading.
        return "is not a shape MXNet can parse" if key == "__shape__" else None
    if len(dims) > _MAX_NDIM:
        return f"has {len(dims)} dimensions; more than {_MAX_NDIM} is not a real tensor"
    big = [d for d in dims if abs(d) > _MAX_DIM]
    if big:
        return (
            f"has dimension {_describe(big[0])}, beyond 2^31-1: MXNet truncates it to 32 "
            "bits or allocates it before failing"
        )
    elements = 1
    for dim in dims:
        elements *= max(dim, 1)
    if elements > _MAX_ELEMENTS:
        return (
            f"describes {elements} elements; MXNet 1.9.1 (built without "
            "INT64_TENSOR_SIZE) cannot index tensors of 2^31-1 elements or more"
        )
    return None


def _count_param(attrs: dict, key: str) -> int | None:
    value = attrs.get(key)
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 10:
        return int(value)
    return None


def _row_ptr_counts(row_ptr: object, nodes: list) -> list[int] | None:
    """Outputs per node from a well-formed node_row_ptr, else None."""
    if not (
        isinstance(row_ptr, list)
        and len(row_ptr) == len(nodes) + 1
        and all(_is_int(x) for x in row_ptr)
        and row_ptr[0] == 0
    ):
        return None
    counts = [b - a for a, b in zip(row_ptr, row_ptr[1:])]
    return None if any(c < 0 for c in counts) else counts


def _referenced_counts(doc: dict) -> list[int]:
    """Without node_row_ptr: each node has at least as many outputs as are referenced."""
    counts = [1] * len(doc["nodes"])
    entries = [e for n in doc["nodes"] for e in n["inputs"]] + list(doc["heads"])
    for entry in entries:
        counts[entry[0]] = max(counts[entry[0]], entry[1] + 1)
    return counts


def _output_name(node: dict, index: int, count: int) -> str:
    """Mirror of nnvm Symbol::ListOutputNames for one head."""
    if node["op"] == "null":
        return node["name"]
    names = _OUTPUT_NAMES.get(node["op"], ())
    if index < len(names):
        suffix = names[index]
    elif count > 1 or node["op"] == "SliceChannel":  # split names its only output "output0"
        suffix = f"output{index}"
    else:
        suffix = "output"
    return f"{node['name']}_{suffix}" if node["name"] else suffix


class _Node:
    __slots__ = ("name", "op")

    def __init__(self, name: str | None, op: str | None) -> None:
        self.name = name
        self.op = op  # None when the node is unusable (not an object, bad op)

    def label(self, index: int) -> str:
        return (
            f"node {_describe(self.name)} (#{index})" if self.name is not None else f"node #{index}"
        )


_BAD_NODE = _Node(None, None)


Subgraphs = list[tuple[object, str, int]]  # (graph, its pointer, its nesting depth) to check later
Site = tuple[
    str, int | None, str, int
]  # (graph pointer, owner node or None for heads, field, index)


class StructureValidator:
    """Checks one symbol document and records what MXNet would refuse, crash on or misread.

    Each `check_*` method records the issues it finds (`issues`); none raises on bad input.
    Messages and pointers are built only when an issue is found (a node's label once per node),
    so a clean 200,000-node graph costs little more than one pass over its nodes and edges."""

    def __init__(self, max_nodes: int, version: int | None) -> None:
        self.issues: list[GraphIssue] = []
        # loading a graph older than 0.9.0 (no version means 0.8.0) adds its aux inputs
        self.aux_inputs_added = version is None or version < _AUX_UPGRADE_VERSION
        self.budget = max_nodes  # nodes left, over the graph and all its subgraphs
        self.max_nodes = max_nodes

    def add(self, location: str, message: str) -> None:
        self.issues.append(GraphIssue(message, location))

    def check_document(self, doc: object) -> None:
        pending = deque([(doc, "", 0)])  # a queue, not recursion: subgraphs nest arbitrarily
        while pending:
            pending.extend(self.check_graph(*pending.popleft()))

    def check_graph(self, doc: object, ptr: str, depth: int) -> Subgraphs:
        """Check one graph; return its nodes' subgraphs for checking later."""
        if not isinstance(doc, dict):
            self.add(ptr, f"a graph must be a JSON object, not {_describe(doc)}")
            return []
        self.check_graph_keys(doc, ptr)
        nodes = doc.get("nodes")
        if not isinstance(nodes, list):
            if "nodes" in doc:
                self.add(f"{ptr}/nodes", f"'nodes' must be an array, not {_describe(nodes)}")
            return []
        if not self.take_budget(len(nodes), ptr):
            return []
        subgraphs: Subgraphs = []
        infos = [
            self.check_node(n, f"{ptr}/nodes/{i}", i, depth, subgraphs) for i, n in enumerate(nodes)
        ]
        self.check_duplicate_names(infos, ptr)
        counts = self.count_outputs(doc, nodes, infos, ptr)
        missing_row_ptr = "node_row_ptr" not in doc
        edges = self.check_edges(nodes, ptr, infos, counts, missing_row_ptr)
        self.check_cycles(edges, infos, ptr)
        heads = doc.get("heads", [])
        if not isinstance(heads, list):
            self.add(f"{ptr}/heads", f"'heads' must be an array, not {_describe(heads)}")
        else:
            for j, entry in enumerate(heads):
                self.check_entry(entry, (ptr, None, "heads", j), infos, counts, missing_row_ptr)
        if "arg_nodes" in doc:
            self.check_arg_nodes(doc["arg_nodes"], f"{ptr}/arg_nodes", infos)
        return subgraphs

    def check_graph_keys(self, doc: dict, ptr: str) -> None:
        """Unknown and missing graph keys, and the graph attributes."""
        for key in doc:
            if key not in _GRAPH_KEYS:
                self.add(
                    _join(ptr, key),
                    f"unknown key {_describe(key)}: MXNet refuses graph "
                    f"keys other than {', '.join(sorted(_GRAPH_KEYS))}",
                )
        for key in ("nodes", "arg_nodes", "heads"):
            if key not in doc:
                self.add(ptr, f"the graph has no {key!r}, which MXNet requires")
        if "attrs" in doc:
            self.check_graph_attrs(doc["attrs"], f"{ptr}/attrs")

    def take_budget(self, count: int, ptr: str) -> bool:
        """Count a graph's nodes against the budget; False (reported once) when over it."""
        if count > self.budget:
            if self.budget >= 0:  # report once
                self.add(
                    f"{ptr}/nodes",
                    f"the graph has more than {self.max_nodes} nodes "
                    "(counting subgraphs); too big to load safely",
                )
            self.budget = -1
            return False
        self.budget -= count
        return True

    def check_edges(
        self,
        nodes: list,
        ptr: str,
        infos: list[_Node],
        counts: list[int | None],
        missing_row_ptr: bool,
    ) -> list[tuple[int, int, str, int]]:
        """Check every input and control dependency; return the usable ones as edges
        (source, target, field, position)."""
        edges: list[tuple[int, int, str, int]] = []
        for i, node in enumerate(nodes):
            inputs = node.get("inputs") if isinstance(node, dict) else None
            for j, entry in enumerate(inputs if isinstance(inputs, list) else ()):
                site = (ptr, i, "inputs", j)
                target = self.check_entry(entry, site, infos, counts, missing_row_ptr)
                if target is not None:
                    edges.append((i, target, "inputs", j))
            deps = node.get("control_deps", []) if isinstance(node, dict) else []
            if not isinstance(deps, list):
                self.add(
                    f"{ptr}/nodes/{i}/control_deps",
                    f"'control_deps' of {infos[i].label(i)} must be an array of node ids, "
                    f"not {_describe(deps)}",
                )
                continue
            for j, dep in enumerate(deps):
                # A node depending on itself is ignored by MXNet (verified: loads, binds, runs);
                # longer control-dependency cycles break shape inference like input cycles.
                if self.check_node_id(dep, (ptr, i, "control_deps", j), infos) and dep != i:
                    edges.append((i, dep, "control_deps", j))
        return edges

    def check_node(self, node: object, ptr: str, i: int, depth: int, subgraphs: Subgraphs) -> _Node:
        """Check one node; return what later checks need of it (its name and op)."""
        if not isinstance(node, dict):
            self.add(ptr, f"node #{i} must be a JSON object, not {_describe(node)}")
            return _BAD_NODE
        op, name = node.get("op"), node.get("name")
        info = _Node(
            name if isinstance(name, str) else None, op if isinstance(op, str) and op else None
        )
        label = info.label(i)
        self.check_node_keys(node, ptr, label)
        self.check_op_and_name(node, ptr, i, label)
        self.check_inputs(node, ptr, info, label)
        if len(node) > 3:  # optional keys present (the common variable has only 3)
            self.check_attr_maps(node, ptr, label)
            self.check_optional_keys(node, ptr, label, depth, subgraphs)
        if info.op in _CONTROL_FLOW:
            self.check_control_flow(node, ptr, label)
        return info

    def check_node_keys(self, node: dict, ptr: str, label: str) -> None:
        for key in node:
            if key not in _NODE_KEYS:
                self.add(
                    _join(ptr, key),
                    f"{label} has unknown key {_describe(key)}: "
                    f"MXNet refuses node keys other than "
                    f"{', '.join(sorted(_NODE_KEYS))}",
                )
        for key in ("op", "name", "inputs"):
            if key not in node:
                self.add(ptr, f"{label} has no {key!r}, which MXNet requires")

    def check_op_and_name(self, node: dict, ptr: str, i: int, label: str) -> None:
        op, name = node.get("op"), node.get("name")
        if "op" in node and not isinstance(op, str):
            self.add(f"{ptr}/op", f"the op of {label} must be a string, not {_describe(op)}")
        elif op == "":
            self.add(f"{ptr}/op", f'{label} has an empty op name; variables use "null"')
        if "name" in node and not isinstance(name, str):
            self.add(
                f"{ptr}/name", f"the name of node #{i} must be a string, not {_describe(name)}"
            )
        elif isinstance(name, str) and len(name) > _MAX_NAME:
            self.add(
                f"{ptr}/name",
                f"the name of node #{i} is {len(name)} characters long; "
                f"names over {_MAX_NAME} characters are not plausible",
            )

    def check_inputs(self, node: dict, ptr: str, info: _Node, label: str) -> None:
        """The inputs array itself (its entries are checked with the graph's edges)."""
        inputs = node.get("inputs")
        if "inputs" in node and not isinstance(inputs, list):
            self.add(
                f"{ptr}/inputs", f"the inputs of {label} must be an array, not {_describe(inputs)}"
            )
        elif node.get("op") == "null" and inputs:
            self.add(
                f"{ptr}/inputs",
                f'{label} is a variable (op "null") but has '
                f"{len(inputs)} input(s); MXNet leaves it out of the "
                "arguments but still follows the inputs",
            )
        elif (
            info.op in _AUX_INPUTS
            and isinstance(inputs, list)
            and len(inputs) < _AUX_INPUTS[info.op]
            and not self.aux_inputs_added
        ):
            self.add(
                f"{ptr}/inputs",
                f"{label} has {len(inputs)} input(s), but "
                f"{info.op} takes {_AUX_INPUTS[info.op]} (the last ones "
                "are auxiliary states, which MXNet reads without "
                "checking)",
            )

    def check_attr_maps(self, node: dict, ptr: str, label: str) -> None:
        """`param`, `attr` and `attrs`: string -> string maps, and sane shapes in them."""
        present = [k for k in _ATTR_MAPS if k in node]
        if "attr" in present and "attrs" in present:
            self.add(
                ptr,
                f"{label} has both 'attr' and 'attrs'; MXNet reads both into one map "
                "and keeps only the one that comes last, dropping the other",
            )
        shapes = False
        for key in present:
            value = node[key]
            if not isinstance(value, dict):
                self.add(
                    f"{ptr}/{key}", f"{key!r} of {label} must be an object, not {_describe(value)}"
                )
                continue
            for k, v in value.items():
                if not (isinstance(k, str) and isinstance(v, str)):
                    self.add(
                        _join(f"{ptr}/{key}", k),
                        f"attribute {_describe(k)} of {label} must be a string, not {_describe(v)}",
                    )
            shapes = shapes or any(k in value for k in _SHAPE_ATTRS)
        if shapes:
            self.check_shapes(node, ptr, label)

    def check_shapes(self, node: dict, ptr: str, label: str) -> None:
        merged = merged_attrs(node)
        for key in _SHAPE_ATTRS:
            value = merged.get(key)
            problem = _shape_problem(key, value) if isinstance(value, str) else None
            if problem:
                self.add(
                    self.attr_pointer(node, ptr, key),
                    f"{key} {_describe(value)} of {label} {problem}",
                )

    def check_optional_keys(
        self, node: dict, ptr: str, label: str, depth: int, subgraphs: Subgraphs
    ) -> None:
        """`backward_source_id` and `subgraphs` (queued on `subgraphs` for checking later)."""
        bsid = node.get("backward_source_id", 0)
        if not (_is_int(bsid) and -_INT32 <= bsid < _INT32):
            self.add(
                f"{ptr}/backward_source_id",
                f"'backward_source_id' of {label} must be a 32-bit integer, not {_describe(bsid)}",
            )
        subs = node.get("subgraphs", [])
        if not isinstance(subs, list):
            self.add(
                f"{ptr}/subgraphs",
                f"'subgraphs' of {label} must be an array of graphs, not {_describe(subs)}",
            )
        elif subs and depth + 1 > _MAX_SUBGRAPH_DEPTH:
            self.add(
                f"{ptr}/subgraphs",
                f"subgraphs nest more than {_MAX_SUBGRAPH_DEPTH} "
                "levels deep; MXNet reads them recursively and "
                "overflows its stack",
            )
        else:
            subgraphs.extend((s, f"{ptr}/subgraphs/{k}", depth + 1) for k, s in enumerate(subs))

    @staticmethod
    def attr_pointer(node: dict, ptr: str, key: str) -> str:
        return _join(f"{ptr}/{next(k for k in attr_maps(node) if key in node[k])}", key)

    def check_control_flow(self, node: dict, ptr: str, label: str) -> None:
        """Location parameters of control-flow operators index the node's inputs unchecked
        (verified: _foreach with in_data_locs past its inputs, or num_out_data past
        num_outputs, crashes shape inference)."""
        attrs, inputs = merged_attrs(node), node.get("inputs")
        if not isinstance(inputs, list):
            return
        for key, text in attrs.items():
            named = isinstance(key, str) and key.endswith("_locs") and isinstance(text, str)
            locs = _int_tuple(text) if named else []
            if locs is None or any(not 0 <= x < len(inputs) for x in locs):
                self.add(
                    self.attr_pointer(node, ptr, key),
                    f"{key} {_describe(text)} of {label} must list input positions "
                    f"below {len(inputs)}",
                )
        data, total = _count_param(attrs, "num_out_data"), _count_param(attrs, "num_outputs")
        if data is not None and total is not None and data > total:
            self.add(
                self.attr_pointer(node, ptr, "num_out_data"),
                f"num_out_data {data} of {label} exceeds its num_outputs {total}",
            )

    def check_graph_attrs(self, attrs: object, ptr: str) -> None:
        if not isinstance(attrs, dict):
            self.add(ptr, f"graph 'attrs' must be an object, not {_describe(attrs)}")
            return
        for key, value in attrs.items():
            kind = value[0] if isinstance(value, list) and len(value) == 2 else None
            if key == "mxnet_version":
                if not (kind == "int" and _is_int(value[1]) and 0 <= value[1] < _INT32):
                    self.add(
                        _join(ptr, key),
                        f'mxnet_version must be ["int", N] with N = '
                        f"MAJOR*10000+MINOR*100+PATCH, not "
                        f"{_describe_any(value)}",
                    )
            elif not (isinstance(kind, str) and kind in _ANY_TYPES and _ANY_TYPES[kind](value[1])):
                self.add(
                    _join(ptr, key),
                    f"graph attribute {_describe(key)} must be [type, "
                    f"value] with type one of "
                    f"{', '.join(sorted(_ANY_TYPES))} and a matching "
                    f"value, not {_describe_any(value)}; MXNet refuses it",
                )

    def check_duplicate_names(self, infos: list[_Node], ptr: str) -> None:
        """Two variables with one name: MXNet binds arguments, weights and shapes by name and
        mixes them up. Operators may share names (published insightface graphs do): nothing
        is looked up by an operator's name, and renaming them changes no output."""
        first: dict[str, int] = {}
        for i, info in enumerate(infos):
            if info.name is None or info.op != "null":
                continue
            seen = first.setdefault(info.name, i)
            if seen != i:
                self.add(
                    f"{ptr}/nodes/{i}/name",
                    f"variable #{i} reuses the name {_describe(info.name)} of variable #{seen}; "
                    "MXNet binds arguments, weights and shapes by name and mixes them up",
                )

    def count_outputs(
        self, doc: dict, nodes: list, infos: list[_Node], ptr: str
    ) -> list[int | None]:
        """The number of outputs of each node, as far as it can be proven; None: unknown."""
        declared = None
        if "node_row_ptr" in doc:
            declared = self.check_row_ptr(doc["node_row_ptr"], f"{ptr}/node_row_ptr", nodes, infos)
        counts: list[int | None] = []
        for i, info in enumerate(infos):
            if info.op is None:
                counts.append(None)
            elif info.op == "null":
                counts.append(1)
            else:
                param = (
                    _count_param(merged_attrs(nodes[i]), "num_outputs")
                    if info.op in _NUM_OUTPUTS_OPS
                    else None
                )
                if declared is None:
                    counts.append(param)
                    continue
                names = _OUTPUT_NAMES.get(info.op)
                bounds = (declared[i], len(names) if names else None, param)
                counts.append(min(b for b in bounds if b is not None))
        return counts

    def check_row_ptr(
        self, row_ptr: object, ptr: str, nodes: list, infos: list[_Node]
    ) -> list[int] | None:
        if not isinstance(row_ptr, list):
            self.add(ptr, f"'node_row_ptr' must be an array, not {_describe(row_ptr)}")
            return None
        for k, value in enumerate(row_ptr):
            if not (_is_int(value) and 0 <= value < _UINT32):
                self.add(
                    f"{ptr}/{k}",
                    f"node_row_ptr entries must be unsigned 32-bit "
                    f"integers, not {_describe(value)}",
                )
                return None
        counts = _row_ptr_counts(row_ptr, nodes)
        if counts is None:
            self.add(
                ptr,
                f"node_row_ptr must have {len(nodes) + 1} entries (one more than "
                "there are nodes), start at 0 and never decrease; output indexes "
                "cannot be checked against it",
            )
            return None
        for i, (count, info) in enumerate(zip(counts, infos)):
            if info.op == "null" and count != 1:
                self.add(
                    f"{ptr}/{i + 1}",
                    f"node_row_ptr gives variable {info.label(i)} "
                    f"{count} outputs, but a variable has exactly 1; "
                    "node_row_ptr is corrupt",
                )
                return None
        return counts

    @staticmethod
    def describe_site(site: Site, infos: list[_Node]) -> tuple[str, str]:
        """JSON pointer and wording for an entry: (graph pointer, owner node, field, index)."""
        ptr, owner, field, j = site
        if owner is None:
            return f"{ptr}/{field}/{j}", f"head {j}"
        what = "input" if field == "inputs" else "control dependency"
        return f"{ptr}/nodes/{owner}/{field}/{j}", f"{what} {j} of {infos[owner].label(owner)}"

    def check_node_id(self, value: object, site: Site, infos: list[_Node]) -> bool:
        if _is_int(value) and 0 <= value < len(infos):
            return True
        where, what = self.describe_site(site, infos)
        if not _is_int(value):
            self.add(where, f"{what} must be a node id, not {_describe(value)}")
        else:
            self.add(
                where,
                f"{what} refers to node {_describe(value)}, but the graph has "
                f"{len(infos)} nodes (ids 0 to {len(infos) - 1})",
            )
        return False

    def check_entry(
        self,
        entry: object,
        site: Site,
        infos: list[_Node],
        counts: list[int | None],
        missing_row_ptr: bool,
    ) -> int | None:
        """Check a [node_id, output_index(, version)] entry; return its node id if usable."""
        if not (
            type(entry) is list
            and 2 <= len(entry) <= 3
            and type(entry[0]) is int
            and type(entry[1]) is int
            and (len(entry) == 2 or type(entry[2]) is int)
        ):
            where, what = self.describe_site(site, infos)
            self.add(
                where,
                f"{what} must be [node_id, output_index] or [node_id, "
                f"output_index, version] of integers{_entry_shape_problem(entry)}",
            )
            return None
        if not self.check_node_id(entry[0], site, infos):
            return None
        if len(entry) == 3 and not -_UINT32 < entry[2] < _UINT32:
            where, what = self.describe_site(site, infos)
            self.add(
                where,
                f"{what} has version {_describe(entry[2])}, which does not fit MXNet's 32 bits",
            )
        self.check_output_index(entry[0], entry[1], site, infos, counts, missing_row_ptr)
        return entry[0]

    def check_output_index(
        self,
        node: int,
        index: int,
        site: Site,
        infos: list[_Node],
        counts: list[int | None],
        missing_row_ptr: bool,
    ) -> None:
        count, target = counts[node], infos[node]
        if index < 0 or (count is not None and index >= count):
            where, what = self.describe_site(site, infos)
            have = f"which has {count} output(s)" if count is not None else "indexes start at 0"
            self.add(
                where,
                f"{what} uses output {_describe(index)} of {target.label(node)}, "
                f"{have}; MXNet does not check this and crashes or reads garbage "
                "memory",
            )
        elif count is None and index > 0 and target.op is not None and missing_row_ptr:
            # (A malformed node_row_ptr has been reported already.)
            where, what = self.describe_site(site, infos)
            self.add(
                where,
                f"{what} uses output {index} of {target.label(node)} ({target.op}),"
                " which cannot be checked without node_row_ptr; MXNet does not "
                "check it either and crashes if it is out of range",
            )

    def check_arg_nodes(self, arg_nodes: object, ptr: str, infos: list[_Node]) -> None:
        # MXNet only checks these ids; it finds arguments by walking the graph, so a variable
        # missing from arg_nodes (or listed twice) changes nothing and is not reported.
        if not isinstance(arg_nodes, list):
            self.add(ptr, f"'arg_nodes' must be an array of node ids, not {_describe(arg_nodes)}")
            return
        for k, nid in enumerate(arg_nodes):
            if not (_is_int(nid) and 0 <= nid < len(infos)):
                what = f"refers to node {_describe(nid)}, but the graph has {len(infos)} nodes"
            elif infos[nid].op not in ("null", None):
                what = f"points at {infos[nid].label(nid)}, an operator, not a variable"
            else:
                continue
            self.add(f"{ptr}/{k}", f"arg_nodes entry {k} {what}; MXNet refuses the graph")

    def check_cycles(
        self, edge_list: list[tuple[int, int, str, int]], infos: list[_Node], ptr: str
    ) -> None:
        """Report every edge that closes a cycle (iterative DFS, linear time).

        A reference to a later node is fine on its own: MXNet links nodes by id and walks
        the graph from its heads (verified: a reordered DAG loads, infers and binds).
        """
        if all(target < source for source, target, _, _ in edge_list):
            return  # every edge points backwards: acyclic, the usual case
        edges: list[list[tuple[int, str, int]]] = [[] for _ in infos]
        for source, target, field, j in edge_list:
            edges[source].append((target, field, j))
        state = [0] * len(edges)  # 0 unvisited, 1 on the DFS stack, 2 done
        for root in range(len(edges)):
            if state[root]:
                continue
            state[root] = 1
            stack = [(root, 0)]
            while stack:
                node, k = stack[-1]
                if k == len(edges[node]):
                    state[node] = 2
                    stack.pop()
                    continue
                stack[-1] = (node, k + 1)
                target, field, j = edges[node][k]
                if state[target] == 0:
                    state[target] = 1
                    stack.append((target, 0))
                elif state[target] == 1:
                    self.add_cycle(ptr, node, target, field, j, infos)

    def add_cycle(
        self, ptr: str, node: int, target: int, field: str, j: int, infos: list[_Node]
    ) -> None:
        where, what = self.describe_site((ptr, node, field, j), infos)
        via = (
            "itself"
            if target == node
            else f"{infos[target].label(target)}, which depends on {infos[node].label(node)}"
        )
        self.add(
            where,
            f"{what} refers to {via}: the graph has a cycle, which "
            "MXNet loads but cannot infer shapes for or run",
        )


def _entry_shape_problem(entry: object) -> str:
    """What makes an entry not a list of 2 or 3 integers, for the end of a message."""
    if isinstance(entry, list):
        for k, item in enumerate(entry):
            if not _is_int(item):
                return f" (item {k} is {_describe(item)})"
    return f", not {_describe(entry)}"


def _describe_any(value: object) -> str:
    if isinstance(value, list) and len(value) == 2:
        return f"[{_describe(value[0])}, {_describe(value[1])}]"
    return _describe(value)
