"""mar_lint.graph_structure against graphs exported by mxnet 1.9.1 and mutations of them.

MXNet runs in this process only on graphs it has just exported itself. Every hand-made or
mutated graph goes to MXNet in one subprocess that forks once per graph (see RUNNER), because
several of them segfault it; that is the point of the module under test.
"""

from __future__ import annotations

import copy
import json
import random
import subprocess
import sys
from typing import Any, Callable

import pytest
from graph_archives import relu_chains

from mar_lint.graph_structure import (
    GraphIssue,
    check_graph_structure,
    saved_version,
    summarize_graph,
)
from mar_lint.versions import version_from_int

mx = pytest.importorskip("mxnet")

# Loads each graph in a forked child: load_json, list_outputs/arguments/auxiliary_states,
# infer_shape, and optionally simple_bind under an 8 GiB address-space limit. A child that dies
# (MXNet's segfault handler exits with 255) is reported as a crash.
RUNNER = r"""
import json, os, resource, signal, sys
import mxnet as mx

def probe(case):
    sym = mx.sym.load_json(case["json"])
    result = {"outputs": sym.list_outputs()}
    args = sym.list_arguments()
    sym.list_auxiliary_states()
    shapes = {k: tuple(v) for k, v in case["shapes"].items() if k in args}
    arg_shapes, out_shapes, _ = sym.infer_shape(**shapes)
    result["status"] = "ok" if arg_shapes is not None else "incomplete"
    result["out_shapes"] = out_shapes
    if case["bind"]:
        resource.setrlimit(resource.RLIMIT_AS, (8 << 30, 8 << 30))
        sym.simple_bind(mx.cpu(), **shapes)
    return result

results = []
for case in json.load(sys.stdin):
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        signal.alarm(30)
        try:
            out = probe(case)
        except Exception as exc:
            out = {"status": "error", "message": str(exc)[:500]}
        os.write(write, json.dumps(out).encode())
        os._exit(0)
    os.close(write)
    data = b""
    while chunk := os.read(read, 1 << 16):
        data += chunk
    os.close(read)
    _, status = os.waitpid(pid, 0)
    results.append(json.loads(data) if status == 0 and data else
                   {"status": "crash", "wait_status": status})
print("RESULTS " + json.dumps(results))
"""


def run_in_mxnet(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Run [{"json": text, "shapes": {...}, "bind": bool}] through RUNNER in one subprocess."""
    proc = subprocess.run(
        [sys.executable, "-I", "-c", RUNNER],  # isolated: no working folder on sys.path
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        timeout=60,
    )
    line = [x for x in proc.stdout.splitlines() if x.startswith("RESULTS ")]
    assert line, proc.stderr[-2000:]
    return json.loads(line[0][len("RESULTS ") :])


# --------------------------------------------------------------------------- real graphs

MODEL_ZOO = ("resnet18_v1", "mobilenet0.25", "squeezenet1.0")
SHAPES = {
    "mlp": {"data": (4, 3)},
    "gluon": {"data": (2, 3, 8, 8)},
    "multi": {"data": (4, 3), "seq": (5, 4, 3)},
    "foreach": {"data": (2, 3), "init": (3,)},
    "while_loop": {"i": (1,), "s": (1,)},
    "cond": {"data": (2, 3)},
    "shapes": {"data": (2, 6), "theta": (1, 6)},
    "legacy": {"data": (4, 3)},
    **{name: {"data": (1, 3, 224, 224)} for name in MODEL_ZOO},
}


def _exported(tmp_dir) -> dict[str, str]:
    """Real graphs as the JSON text MXNet writes: Symbol.tojson(), or the -symbol.json file
    of HybridBlock.export for the gluon ones."""
    sym = mx.sym
    data = sym.var("data")
    fc1 = sym.FullyConnected(data, num_hidden=2, name="fc1")
    graphs = {"mlp": sym.SoftmaxOutput(sym.BatchNorm(fc1, name="bn1"), name="softmax")}

    seq = sym.var("seq")
    rnn = sym.RNN(
        seq,
        sym.var("rnn_params"),
        sym.var("rnn_state"),
        sym.var("rnn_cell"),
        state_size=4,
        num_layers=1,
        mode="lstm",
        state_outputs=True,
        name="lstm",
    )
    graphs["multi"] = sym.Group(
        [
            sym.BatchNorm(fc1, output_mean_var=True, name="bn2"),
            sym.split(fc1, num_outputs=2, name="halves"),
            sym.split(fc1, num_outputs=1, name="whole"),
            sym.Dropout(fc1, p=0.5, name="drop"),
            sym.LayerNorm(fc1, name="ln"),
            sym.topk(fc1, k=1, ret_typ="both", name="top"),
            sym.make_loss(fc1, name="loss"),
            sym.Pooling(
                sym.reshape(fc1, shape=(4, 2, 1, 1)), kernel=(1, 1), pool_type="max", name="pool"
            ),
            rnn,
        ]
    )

    def step(x, states):
        out = x + states[0]
        return out, [out * 2]

    outs, states = sym.contrib.foreach(step, data, [sym.var("init")])
    graphs["foreach"] = sym.Group([outs, states[0]])
    i, s = sym.var("i"), sym.var("s")
    outs, states = sym.contrib.while_loop(
        cond=lambda i, s: i < 5,
        func=lambda i, s: ([i + s], [i + 1, s + i]),
        loop_vars=(i, s),
        max_iterations=10,
    )
    graphs["while_loop"] = sym.Group(outs + states)
    graphs["cond"] = sym.contrib.cond(sym.sum(data) > 0, lambda: data * 2, lambda: data - 1)
    graphs["shapes"] = sym.Group(
        [
            sym.Reshape(data, shape=(2, 6)) + sym.zeros(shape=(2, 6)),
            sym.GridGenerator(sym.var("theta"), transform_type="affine", target_shape=(2, 2)),
        ]
    )

    class Net(mx.gluon.HybridBlock):
        def __init__(self):
            super().__init__()
            with self.name_scope():
                self.conv = mx.gluon.nn.Conv2D(4, 3)
                self.bn = mx.gluon.nn.BatchNorm()
                self.dense = mx.gluon.nn.Dense(3)

        def hybrid_forward(self, F, x):
            features = F.relu(self.bn(self.conv(x)))
            return self.dense(F.Dropout(features, p=0.2)), features

    nets = {"gluon": Net()}
    nets.update({n: mx.gluon.model_zoo.vision.get_model(n, pretrained=False) for n in MODEL_ZOO})
    for name, net in nets.items():
        net.initialize()
        net.hybridize()
        net(mx.nd.zeros(SHAPES[name]["data"]))
        net.export(str(tmp_dir / name))
        graphs[name] = (tmp_dir / f"{name}-symbol.json").read_text()
    return {name: g if isinstance(g, str) else g.tojson() for name, g in graphs.items()}


def _legacy_graph() -> dict:
    """A graph in the pre-nnvm 0.8 layout of MXNet's save_000800.json (formats.md §4.2):
    `param`/`attr` maps, backward_source_id, 2-element entries, no node_row_ptr, no
    version, and a BatchNorm without its auxiliary inputs (the loader adds them)."""

    def node(op: str, name: str, inputs: list, param: dict | None = None, **attr: str) -> dict:
        return {
            "op": op,
            "param": param or {},
            "name": name,
            "inputs": inputs,
            "backward_source_id": -1,
            "attr": attr,
        }

    return {
        "nodes": [
            node("null", "data", [], ctx_group="stage1", lr_mult="0.2"),
            node("null", "fc1_weight", [], wd_mult="0.3", weight_lr_mult="1.2"),
            node("null", "fc1_bias", []),
            node(
                "FullyConnected",
                "fc1",
                [[0, 0], [1, 0], [2, 0]],
                {"no_bias": "False", "num_hidden": "8"},
                weight_lr_mult="1.2",
            ),
            node("null", "bn_gamma", []),
            node("null", "bn_beta", []),
            node(
                "BatchNorm", "bn", [[3, 0], [4, 0], [5, 0]], {"eps": "0.001", "fix_gamma": "True"}
            ),
            node("null", "softmax_label", []),
            node("SoftmaxOutput", "softmax", [[6, 0], [7, 0]], {"grad_scale": "1"}),
        ],
        "arg_nodes": [0, 1, 2, 4, 5, 7],
        "heads": [[8, 0]],
    }


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> dict[str, str]:
    return _exported(tmp_path_factory.mktemp("graphs"))


@pytest.fixture(scope="module")
def graphs(exported) -> dict[str, dict]:
    return {
        **{name: json.loads(text) for name, text in exported.items()},
        "legacy": _legacy_graph(),
    }


def mutated(graphs: dict[str, dict], base: str, mutate: Callable[[dict], Any]) -> Any:
    """A mutated deep copy; `mutate` edits in place or returns a replacement document."""
    doc = copy.deepcopy(graphs[base])
    replacement = mutate(doc)
    return doc if replacement is None else replacement


@pytest.mark.parametrize("name", sorted(set(SHAPES) - {"legacy"}))
def test_exported_graphs_are_clean_and_summary_agrees_with_mxnet(graphs, exported, name):
    doc, sym = graphs[name], mx.sym.load_json(exported[name])  # MXNet's own output: safe
    assert check_graph_structure(doc) == []
    summary = summarize_graph(doc)
    assert summary.outputs == tuple(sym.list_outputs())
    assert set(summary.variables) == set(sym.list_arguments() + sym.list_auxiliary_states())
    assert summary.node_count == len(json.loads(sym.tojson())["nodes"])
    assert summary.saved_version == 10901 and not summary.legacy_layout
    ops = [n["op"] for n in doc["nodes"] if n["op"] != "null"]
    assert list(summary.operators.values()) == sorted(summary.operators.values(), reverse=True)
    if "subgraphs" not in json.dumps(doc):
        assert summary.operators == {op: ops.count(op) for op in set(ops)}


def test_optional_keys_may_be_missing(graphs):
    for key in ("node_row_ptr", "attrs"):
        assert check_graph_structure(mutated(graphs, "mlp", _delete(key))) == []


def test_summary_counts_operators_inside_subgraphs(graphs):
    ops = summarize_graph(graphs["foreach"]).operators
    assert ops == {"_foreach": 1, "_mul_scalar": 1, "elemwise_add": 1}


def test_legacy_layout_is_valid(graphs):
    doc = graphs["legacy"]
    assert check_graph_structure(doc) == []
    summary = summarize_graph(doc)
    assert summary.legacy_layout and summary.saved_version is None
    assert summary.outputs == ("softmax_output",)
    # the file's own variables; MXNet adds bn_moving_mean/var when it upgrades the graph
    assert "bn_moving_mean" not in summary.variables


# --------------------------------------------------------------------------- mutations


def _parent(doc: Any, path: str) -> tuple[Any, Any]:
    """The container and key a slash path ("nodes/3/attrs") points into."""
    *parents, last = [int(k) if k.isdigit() else k for k in path.split("/")]
    for key in parents:
        doc = doc[key]
    return doc, last


def _set(path: str, value: Any) -> Callable[[dict], None]:
    def mutate(doc: dict) -> None:
        target, key = _parent(doc, path)
        target[key] = value

    return mutate


def _delete(path: str) -> Callable[[dict], None]:
    def mutate(doc: dict) -> None:
        target, key = _parent(doc, path)
        del target[key]

    return mutate


def _reordered(doc: dict) -> dict:
    """The same DAG with the `data` variable moved to the end: inputs refer forwards."""
    order = list(range(1, len(doc["nodes"]))) + [0]
    new_id = {old: new for new, old in enumerate(order)}
    nodes = [doc["nodes"][old] for old in order]
    for node in nodes:
        node["inputs"] = [[new_id[e[0]], *e[1:]] for e in node["inputs"]]
    return {
        "nodes": nodes,
        "arg_nodes": sorted(new_id[a] for a in doc["arg_nodes"]),
        "heads": [[new_id[e[0]], *e[1:]] for e in doc["heads"]],
        "attrs": doc["attrs"],
    }


def _nested_subgraphs(depth: int) -> str:
    """JSON text of `depth` nested subgraphs (built as text: json.dumps would recurse)."""
    graph = (
        '{"nodes": [{"op": "null", "name": "x", "inputs": []%s}], "arg_nodes": [0], '
        '"heads": [[0, 0, 0]]}'
    )
    text = graph % ""
    for _ in range(depth):
        text = graph % f', "subgraphs": [{text}]'
    return text


BIG = "(1099511627776, 3)"  # 2**40
# mlp nodes: 0 data, 1 fc1_weight, 2 fc1_bias, 3 fc1, 4-7 bn1 gamma/beta/mean/var, 8 bn1,
# 9 softmax_label, 10 softmax. foreach nodes: 0 data, 1 init, 2 _foreach (one subgraph).
# fmt: off
MUTATIONS = [
    # (id, base graph, mutation, JSON pointer of the issue, message fragment)
    ("not-an-object", "mlp", lambda d: [d], "", "must be a JSON object"),
    ("missing-nodes", "mlp", _delete("nodes"), "", "no 'nodes'"),
    ("missing-heads", "mlp", _delete("heads"), "", "no 'heads'"),
    ("missing-arg-nodes", "mlp", _delete("arg_nodes"), "", "no 'arg_nodes'"),
    ("nodes-not-array", "mlp", _set("nodes", {}), "/nodes", "must be an array"),
    ("node-not-object", "mlp", _set("nodes/3", "fc1"), "/nodes/3", "must be a JSON object"),
    ("unknown-top-key", "mlp", _set("extra", 1), "/extra", "unknown key 'extra'"),
    ("unknown-node-key", "mlp", _set("nodes/3/extra", 1), "/nodes/3/extra", "unknown key"),
    ("node-without-op", "mlp", _delete("nodes/3/op"), "/nodes/3", "has no 'op'"),
    ("node-without-name", "mlp", _delete("nodes/3/name"), "/nodes/3", "has no 'name'"),
    ("node-without-inputs", "mlp", _delete("nodes/3/inputs"), "/nodes/3", "has no 'inputs'"),
    ("op-not-string", "mlp", _set("nodes/3/op", None), "/nodes/3/op", "must be a string"),
    ("empty-op", "mlp", _set("nodes/3/op", ""), "/nodes/3/op", "empty op name"),
    ("name-not-string", "mlp", _set("nodes/3/name", 7), "/nodes/3/name", "must be a string"),
    ("inputs-not-array", "mlp", _set("nodes/3/inputs", {}), "/nodes/3/inputs", "must be an array"),
    ("attrs-not-object", "mlp", _set("nodes/3/attrs", []), "/nodes/3/attrs", "must be an object"),
    ("attr-value-not-string", "mlp", _set("nodes/3/attrs/num_hidden", 2),
     "/nodes/3/attrs/num_hidden", "must be a string"),
    ("param-value-not-string", "legacy", _set("nodes/3/param/num_hidden", None),
     "/nodes/3/param/num_hidden", "must be a string"),
    ("attr-and-attrs", "mlp", _set("nodes/3/attr", {"no_bias": "True"}), "/nodes/3",
     "both 'attr' and 'attrs'"),
    ("entry-of-4", "mlp", _set("nodes/3/inputs/0", [0, 0, 0, 0]), "/nodes/3/inputs/0",
     "not an array of 4"),
    ("entry-float", "mlp", _set("nodes/3/inputs/0", [0, 0.0, 0]), "/nodes/3/inputs/0",
     "(item 1 is 0.0)"),
    ("entry-bool", "mlp", _set("heads/0", [True, 0, 0]), "/heads/0", "(item 0 is true)"),
    ("entry-version-64-bit", "mlp", _set("nodes/3/inputs/0", [0, 0, 2**32]), "/nodes/3/inputs/0",
     "does not fit"),
    ("input-negative-id", "mlp", _set("nodes/3/inputs/0", [-1, 0, 0]), "/nodes/3/inputs/0",
     "refers to node -1"),
    ("head-id-out-of-range", "mlp", _set("heads/0", [11, 0, 0]), "/heads/0",
     "has 11 nodes"),
    ("control-dep-out-of-range", "mlp", _set("nodes/10/control_deps", [3, 11]),
     "/nodes/10/control_deps/1", "refers to node 11"),
    ("control-deps-not-array", "mlp", _set("nodes/10/control_deps", 3),
     "/nodes/10/control_deps", "must be an array"),
    ("cycle", "mlp", _set("nodes/3/inputs/0", [8, 0, 0]), "/nodes/8/inputs/0",
     "node 'fc1' (#3), which depends on node 'bn1' (#8)"),
    ("self-reference", "mlp", _set("nodes/3/inputs/0", [3, 0, 0]), "/nodes/3/inputs/0",
     "refers to itself"),
    ("control-dep-cycle", "mlp", _set("nodes/3/control_deps", [10]), "/nodes/8/inputs/0",
     "which depends on node 'bn1' (#8): the graph has a cycle"),  # fc1 -> softmax -> bn1
    ("head-index-past-outputs", "mlp", _set("heads/0", [10, 1, 0]), "/heads/0",
     "uses output 1 of node 'softmax' (#10), which has 1 output(s)"),
    ("head-index-into-variable", "mlp", _set("heads/0", [0, 1, 0]), "/heads/0",
     "node 'data' (#0), which has 1 output(s)"),
    ("head-index-negative", "mlp", _set("heads/0", [10, -1, 0]), "/heads/0", "output -1"),
    ("input-index-past-outputs", "mlp", _set("nodes/10/inputs/0", [8, 3, 0]),
     "/nodes/10/inputs/0", "node 'bn1' (#8), which has 3 output(s)"),
    ("input-index-into-variable-without-row-ptr", "legacy", _set("nodes/3/inputs/0", [0, 1]),
     "/nodes/3/inputs/0", "which has 1 output(s)"),
    ("input-index-unverifiable-without-row-ptr", "legacy", _set("nodes/6/inputs/0", [3, 1]),
     "/nodes/6/inputs/0", "cannot be checked without node_row_ptr"),
    ("row-ptr-claims-too-many-outputs", "mlp",
     lambda d: d.update(node_row_ptr=[*range(9), 13, 14, 15], heads=[[8, 4, 0]]), "/heads/0",
     "which has 3 output(s)"),  # BatchNorm names 3 outputs, whatever node_row_ptr says
    ("row-ptr-too-short", "mlp", _set("node_row_ptr", [0, 1]), "/node_row_ptr",
     "must have 12 entries"),
    ("row-ptr-not-integers", "mlp", _set("node_row_ptr/3", "3"), "/node_row_ptr/3",
     "unsigned 32-bit"),
    ("row-ptr-decreasing", "mlp", _set("node_row_ptr/5", 2), "/node_row_ptr",
     "never decrease"),
    ("row-ptr-variable-with-2-outputs", "mlp",
     lambda d: d.update(node_row_ptr=[0] + [x + 1 for x in d["node_row_ptr"][1:]]),
     "/node_row_ptr/1", "a variable has exactly 1"),
    ("arg-nodes-out-of-range", "mlp", _set("arg_nodes/0", 11), "/arg_nodes/0",
     "refers to node 11"),
    ("arg-nodes-operator", "mlp", _set("arg_nodes/0", 3), "/arg_nodes/0", "an operator"),
    ("arg-nodes-not-array", "mlp", _set("arg_nodes", 0), "/arg_nodes", "must be an array"),
    ("variable-with-inputs", "mlp", _set("nodes/9/inputs", [[0, 0, 0]]), "/nodes/9/inputs",
     "is a variable"),
    ("duplicate-variable-name", "mlp", _set("nodes/9/name", "data"), "/nodes/9/name",
     "reuses the name 'data' of variable #0"),
    ("batchnorm-without-inputs", "mlp", _set("nodes/8/inputs", []), "/nodes/8/inputs",
     "BatchNorm takes 5"),
    ("version-plain-int", "mlp", _set("attrs/mxnet_version", 10901), "/attrs/mxnet_version",
     'must be ["int", N]'),
    ("version-str", "mlp", _set("attrs/mxnet_version", ["str", "1.9.1"]),
     "/attrs/mxnet_version", 'must be ["int", N]'),
    ("version-negative", "mlp", _set("attrs/mxnet_version", ["int", -1]),
     "/attrs/mxnet_version", 'must be ["int", N]'),
    ("graph-attr-unknown-type", "mlp", _set("attrs/note", ["float", 1.5]), "/attrs/note",
     "type one of int, list_int"),
    ("graph-attrs-not-object", "mlp", _set("attrs", None), "/attrs", "must be an object"),
    ("subgraphs-not-array", "foreach", _set("nodes/2/subgraphs", {}), "/nodes/2/subgraphs",
     "must be an array of graphs"),
    ("subgraph-not-object", "foreach", _set("nodes/2/subgraphs/0", 1),
     "/nodes/2/subgraphs/0", "must be a JSON object"),
    ("subgraph-unknown-key", "foreach", _set("nodes/2/subgraphs/0/extra", 1),
     "/nodes/2/subgraphs/0/extra", "unknown key"),
    ("subgraph-head-past-outputs", "foreach", _set("nodes/2/subgraphs/0/heads/0", [2, 5, 0]),
     "/nodes/2/subgraphs/0/heads/0", "which has 1 output(s)"),
    ("subgraph-input-past-outputs", "foreach",
     _set("nodes/2/subgraphs/0/nodes/2/inputs/0", [0, 7, 0]),
     "/nodes/2/subgraphs/0/nodes/2/inputs/0", "which has 1 output(s)"),
    ("control-flow-locs-out-of-range", "foreach", _set("nodes/2/attrs/in_data_locs", "[5]"),
     "/nodes/2/attrs/in_data_locs", "below 2"),
    ("control-flow-num-out-data", "foreach", _set("nodes/2/attrs/num_out_data", "5"),
     "/nodes/2/attrs/num_out_data", "exceeds its num_outputs 2"),
    ("control-flow-num-outputs-bounds-heads", "foreach", _set("nodes/2/attrs/num_outputs", "1"),
     "/heads/1", "which has 1 output(s)"),
    ("long-name", "mlp", _set("nodes/3/name", "x" * 1025), "/nodes/3/name",
     "1025 characters long"),
    ("shape-2-40", "mlp", _set("nodes/0/attrs", {"__shape__": BIG}),
     "/nodes/0/attrs/__shape__", "beyond 2^31-1"),
    ("shape-33-dims", "mlp", _set("nodes/0/attrs", {"__shape__": "[" + "1," * 33 + "]"}),
     "/nodes/0/attrs/__shape__", "33 dimensions"),
    ("shape-2-32-elements", "mlp", _set("nodes/0/attrs", {"__shape__": "(65536, 65536)"}),
     "/nodes/0/attrs/__shape__", "4294967296 elements"),
    ("shape-unparseable", "mlp", _set("nodes/0/attrs", {"__shape__": "(4, three)"}),
     "/nodes/0/attrs/__shape__", "not a shape MXNet can parse"),
    ("legacy-shape-in-attr", "legacy", _set("nodes/0/attr/__shape__", "(2147483648L, 3L)"),
     "/nodes/0/attr/__shape__", "beyond 2^31-1"),
]
# fmt: on


@pytest.mark.parametrize("case", MUTATIONS, ids=[m[0] for m in MUTATIONS])
def test_mutation_is_reported(graphs, case):
    _, base, mutate, location, fragment = case
    issues = check_graph_structure(mutated(graphs, base, mutate))
    assert all(isinstance(i, GraphIssue) for i in issues)
    hits = [i for i in issues if i.location == location and fragment in i.message]
    assert hits, issues


@pytest.mark.parametrize(
    ("node", "key", "op_name"),
    [(1, "shape", "Reshape"), (2, "shape", "_zeros"), (5, "target_shape", "GridGenerator")],
)
def test_operator_shape_parameters_are_bounded(graphs, node, key, op_name):
    doc = copy.deepcopy(graphs["shapes"])
    assert doc["nodes"][node]["op"] == op_name
    doc["nodes"][node]["attrs"][key] = "(1099511627776, 6)"
    issues = check_graph_structure(doc)
    assert [i.location for i in issues] == [f"/nodes/{node}/attrs/{key}"], issues


@pytest.mark.parametrize(
    ("mutate", "note"),
    [
        (_set("arg_nodes", []), "MXNet finds arguments by walking the graph"),
        (_set("arg_nodes", [0, 0, 1, 2, 4, 5, 6, 7, 9]), "duplicates do not matter either"),
        (_set("nodes/3/control_deps", [3]), "MXNet ignores a node's dependency on itself"),
        (_set("nodes/3/inputs/0", [0, 0, -1]), "versions wrap like uint32 and are harmless"),
        (_set("attrs/mxnet_version", ["int", 800]), "older versions are upgraded"),
        (_set("attrs/is_np_shape", ["int", 1]), "written by MXNet >= 1.6"),
        (_set("nodes/3/name", ""), "unnamed operators are fine"),
        (_set("nodes/10/name", "bn1"), "operators may share a name (insightface graphs do)"),
    ],
)
def test_harmless_oddities_are_not_reported(graphs, mutate, note):
    assert check_graph_structure(mutated(graphs, "mlp", mutate)) == [], note


# --------------------------------------------------------------------------- against MXNet

# Mutations the validator must report, with what MXNet 1.9.1 does with them: the statuses
# RUNNER may report, or a test of its outcome where MXNet's behaviour is undefined.
CRASH, ERROR, MISREAD = "crash", "error", "incomplete"
# fmt: off
DANGEROUS = [
    ("head-index-past-outputs", "mlp", _set("heads/0", [10, 1, 0]), False, {CRASH}),
    ("head-index-into-variable", "mlp", _set("heads/0", [0, 1, 0]), False,
     lambda o: o["status"] == CRASH or o["out_shapes"] != [[4, 3]]),  # garbage: [[]]
    ("input-index-negative", "mlp", _set("nodes/3/inputs/0", [0, -1, 0]), False, {CRASH}),
    ("input-index-past-outputs", "mlp", _set("nodes/10/inputs/0", [8, 3, 0]), False, {MISREAD}),
    # Undefined behaviour: MXNet reads past the node's outputs and either crashes or, depending
    # on what lies there, errors. Both prove the graph must not reach it.
    ("subgraph-input-past-outputs", "foreach",
     _set("nodes/2/subgraphs/0/nodes/2/inputs/0", [0, 7, 0]), False, {CRASH, ERROR}),
    ("shape-2-40", "mlp", _set("nodes/0/attrs", {"__shape__": BIG}), True, {ERROR}),
    ("cycle", "mlp", _set("nodes/3/inputs/0", [8, 0, 0]), False, {ERROR}),
    ("self-reference", "mlp", _set("nodes/3/inputs/0", [3, 0, 0]), False, {MISREAD}),
    ("duplicate-variable-name", "mlp", _set("nodes/9/name", "data"), False, {ERROR}),
    ("batchnorm-without-inputs", "mlp", _set("nodes/8/inputs", []), False, {CRASH}),
    ("control-flow-locs-out-of-range", "foreach", _set("nodes/2/attrs/in_data_locs", "[5]"),
     False, {CRASH}),
    ("control-flow-num-out-data", "foreach", _set("nodes/2/attrs/num_out_data", "5"), False,
     {CRASH}),
]
# fmt: on
NESTING = 10_000  # subgraph levels that overflow MXNet's recursive reader


def _all_outputs(doc: dict) -> dict:
    """Make every output of every operator a head (hidden ones too, e.g. Dropout's mask)."""
    ptr = doc["node_row_ptr"]
    doc["heads"] = [
        [i, k, 0]
        for i, n in enumerate(doc["nodes"])
        if n["op"] != "null"
        for k in range(ptr[i + 1] - ptr[i])
    ]
    return doc


SAFE = [  # graphs the validator passes, which MXNet must then handle without crashing
    *((name, name, lambda d: None) for name in sorted(SHAPES)),
    ("forward-references", "mlp", _reordered),
    ("all-outputs-as-heads", "multi", _all_outputs),
    # published insightface graphs name two operators alike; MXNet loads and runs them
    ("duplicate-operator-name", "mlp", _set("nodes/10/name", "bn1")),
]


# fmt: off
FUZZ_SCALARS = [None, True, False, 0, 1, -1, 2, 3, 2**31, 2**32, -(2**32), 10**30, 0.5, "",
                "null", "x", BIG, "(2, 3)", "[5]", [], {}, [0, 0], [0, 0, 0], [1, 5, 0],
                ["int", 10901]]
# fmt: on


def _fuzz_value(rng: random.Random, depth: int = 0) -> Any:
    if depth < 3 and rng.random() < 0.2:
        if rng.random() < 0.5:
            return [_fuzz_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
        keys = ("op", "name", "inputs", "attrs", "nodes", "heads", "extra")
        return {rng.choice(keys): _fuzz_value(rng, depth + 1) for _ in range(rng.randint(0, 3))}
    return copy.deepcopy(rng.choice(FUZZ_SCALARS))


def _fuzz_mutant(doc: dict, rng: random.Random) -> dict:
    """Delete keys/items, replace values with random JSON values, nudge integers."""
    doc = copy.deepcopy(doc)
    for _ in range(rng.randint(1, 3)):
        containers, stack = [], [doc]
        while stack:
            item = stack.pop()
            if item:
                containers.append(item)
            values = item.values() if isinstance(item, dict) else item
            stack.extend(v for v in values if isinstance(v, (dict, list)))
        target = rng.choice(containers)
        key = rng.choice(list(target)) if isinstance(target, dict) else rng.randrange(len(target))
        roll = rng.random()
        if roll < 0.25:
            del target[key]
        elif roll < 0.65 and type(target[key]) is int:
            target[key] += rng.choice([-2, -1, 1, 2, 7])
        else:
            target[key] = _fuzz_value(rng)
    return doc


FUZZ_BASES = ("mlp", "multi", "foreach", "while_loop", "legacy", "squeezenet1.0")
FUZZ_COUNT, FUZZ_CHECKED = 600, 60


@pytest.fixture(scope="module")
def fuzz_mutants(graphs) -> list[tuple[str, dict]]:
    rng = random.Random(20240611)
    return [
        (base, _fuzz_mutant(graphs[base], rng))
        for base in (rng.choice(FUZZ_BASES) for _ in range(FUZZ_COUNT))
    ]


@pytest.fixture(scope="module")
def mxnet_outcomes(graphs, fuzz_mutants) -> dict[str, dict[str, Any]]:
    """Every graph the MXNet tests need, run through one MXNet subprocess."""
    cases: dict[str, dict[str, Any]] = {}
    for name, base, mutate, bind, _ in DANGEROUS:
        # binding runs on the graph's own __shape__ hints, which given shapes would override
        cases[name] = {
            "doc": mutated(graphs, base, mutate),
            "shapes": {} if bind else SHAPES[base],
            "bind": bind,
        }
    for name, base, mutate in SAFE:
        cases["safe:" + name] = {
            "doc": mutated(graphs, base, mutate),
            "shapes": SHAPES[base],
            "bind": False,
        }
    clean = [(b, d) for b, d in fuzz_mutants if not check_graph_structure(d)][:FUZZ_CHECKED]
    for k, (base, doc) in enumerate(clean):
        cases[f"fuzz:{k}"] = {"doc": doc, "shapes": SHAPES[base], "bind": False}
    payload = [
        {"json": json.dumps(c["doc"]), "shapes": c["shapes"], "bind": c["bind"]}
        for c in cases.values()
    ]
    payload.append({"json": _nested_subgraphs(NESTING), "shapes": {}, "bind": False})
    results = run_in_mxnet(payload)
    outcomes = dict(zip([*cases, "nesting"], results))
    for name, case in cases.items():
        outcomes[name]["doc"] = case["doc"]
    return outcomes


@pytest.mark.parametrize("case", DANGEROUS, ids=[d[0] for d in DANGEROUS])
def test_reported_graphs_really_break_mxnet(mxnet_outcomes, case):
    name, _, _, _, expected = case
    outcome = mxnet_outcomes[name]
    assert check_graph_structure(outcome["doc"]) != []
    assert expected(outcome) if callable(expected) else outcome["status"] in expected, outcome


def test_deep_subgraph_nesting_crashes_mxnet_and_is_reported(mxnet_outcomes):
    assert mxnet_outcomes["nesting"]["status"] == CRASH
    doc: dict = {"nodes": [], "arg_nodes": [], "heads": []}
    for _ in range(150):  # built iteratively: json.loads would hit Python's recursion limit
        doc = {
            "nodes": [{"op": "null", "name": "x", "inputs": [], "subgraphs": [doc]}],
            "arg_nodes": [0],
            "heads": [[0, 0, 0]],
        }
    issues = check_graph_structure(doc)
    assert [i.location.count("/subgraphs/") for i in issues] == [100]
    assert "nest more than 100 levels" in issues[0].message


@pytest.mark.parametrize("case", SAFE, ids=[s[0] for s in SAFE])
def test_clean_graphs_load_in_mxnet(mxnet_outcomes, case):
    outcome = mxnet_outcomes["safe:" + case[0]]
    assert check_graph_structure(outcome["doc"]) == []
    # loops and conditions have data-dependent output shapes: infer_shape stays partial
    partial = case[0] in ("cond", "while_loop")
    assert outcome["status"] in ({"ok", MISREAD} if partial else {"ok"}), outcome
    assert list(summarize_graph(outcome["doc"]).outputs) == outcome["outputs"]


def test_fuzzed_graphs_never_raise_and_clean_ones_never_crash_mxnet(mxnet_outcomes, fuzz_mutants):
    for _, doc in fuzz_mutants:
        issues = check_graph_structure(doc)
        assert all(isinstance(i, GraphIssue) for i in issues)
        assert not any("could not be validated" in i.message for i in issues), issues
    checked = [o for name, o in mxnet_outcomes.items() if name.startswith("fuzz:")]
    assert len(checked) >= FUZZ_CHECKED // 2
    assert [o for o in checked if o["status"] == CRASH] == []


# --------------------------------------------------------------------------- robustness


def _deep_list(depth: int) -> list:
    root: list = []
    node = root
    for _ in range(depth):
        node.append([])
        node = node[0]
    return root


# fmt: off
ODD_VALUES = [None, True, 0, -1, 2**5000, 1.5, float("nan"), "", "x" * 10_000, [], {},
              _deep_list(100_000), {1: 2}, {"nodes": _deep_list(100_000)}, object(),
              {"nodes": [None, 1, "x", []], "heads": "x", "arg_nodes": {}, "attrs": []}]
# fmt: on


@pytest.mark.parametrize("value", ODD_VALUES, ids=range(len(ODD_VALUES)))
def test_any_value_gives_issues_not_exceptions(graphs, value):
    assert check_graph_structure(value)
    for path in (
        "nodes/3",
        "nodes/3/inputs/0",
        "nodes/3/attrs",
        "heads",
        "attrs/mxnet_version",
        "nodes/0/attrs",
        "node_row_ptr",
        "nodes/2/subgraphs/0",
    ):
        base = "foreach" if "subgraphs" in path else "mlp"
        issues = check_graph_structure(mutated(graphs, base, _set(path, value)))
        assert all(isinstance(i, GraphIssue) for i in issues)
        assert not any("could not be validated" in i.message for i in issues), issues


def test_large_chain_is_linear_and_limited():
    n = 200_000
    chains = relu_chains(n)  # their time: benchmarks/graph_structure.py
    assert check_graph_structure(chains["forwards"]) == []
    assert check_graph_structure(chains["backwards"]) == []
    doc = chains["forwards"]
    issues = check_graph_structure(doc, max_nodes=n - 1)
    assert [(i.location, "more than 199999 nodes" in i.message) for i in issues] == [
        ("/nodes", True)
    ]


@pytest.mark.parametrize(
    ("number", "text"),
    [
        (10901, "1.9.1"),
        (1000, "0.10.0"),
        (905, "0.9.5"),
        (800, "0.8.0"),
        (10000, "1.0.0"),
        (1201, "0.12.1"),
        (20000, "2.0.0"),
    ],
)
def test_format_version(number, text):
    assert str(version_from_int(number)) == text


@pytest.mark.parametrize(
    ("attrs", "expected"),
    [
        ({"mxnet_version": ["int", 10901]}, 10901),
        ({"mxnet_version": ["int", 905]}, 905),
        ({}, None),
        ({"mxnet_version": 10901}, None),
        ({"mxnet_version": ["str", "1.9.1"]}, None),
        ({"mxnet_version": ["int", True]}, None),
        ({"mxnet_version": ["int", -1]}, None),
        (5, None),
    ],
)
def test_saved_version(attrs, expected):
    assert saved_version({"attrs": attrs}) == expected
    assert saved_version([attrs]) is None
