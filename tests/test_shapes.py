"""The native shape engine against MXNet 1.9.1's recorded answers (no mxnet needed).

`record_shapes.py` keeps what MXNet said about every fixture graph (archives, exports, their
0.9-0.12 and pre-0.9 forms, gluon zoo graphs) and about a sample of the operator grid;
`test_shapes_oracle.py` checks the same live against MXNet where it installs.
"""

from __future__ import annotations

import json

import pytest
from conftest import check
from mxnet_child import comparable, engine_answer
from record_shapes import EXPECTED, F32, FIXTURES, fixture_graphs

from mar_lint.shapes.infer import infer

RECORDED = json.loads(EXPECTED.read_text())
GRAPHS = list(fixture_graphs())


def test_every_fixture_graph_is_recorded():
    assert sorted(label for label, _, _ in GRAPHS) == sorted(RECORDED["graphs"])


@pytest.mark.parametrize(("label", "symbol", "shapes"), GRAPHS, ids=[g[0] for g in GRAPHS])
def test_fixture_graph_shapes_and_dtypes_match_mxnet(label, symbol, shapes):
    recorded = RECORDED["graphs"][label]
    assert recorded["shapes"] == shapes
    answer = comparable(engine_answer(symbol, shapes, F32))
    assert answer == comparable(recorded["answer"])


def test_operator_grid_sample_matches_mxnet():
    mismatches = [
        (json.loads(case["symbol"])["nodes"][-1], case["shapes"])
        for case in RECORDED["grid"]
        if comparable(engine_answer(case["symbol"], case["shapes"], case["dtypes"]))
        != comparable(case["answer"])
    ]
    assert len(RECORDED["grid"]) > 300
    assert mismatches == []


def test_the_broken_digits_archive_reports_what_mxnet_reports():
    """Without mxnet (any Python), `check` finds what it finds with MXNet on 3.11: the
    signature's wrong output shape (MAR205) included."""
    result = check(FIXTURES / "digits-broken.model")
    findings = [{k: f[k] for k in ("code", "severity", "message")} for f in result.findings]
    assert findings == RECORDED["check"]["digits-broken.model"]
    assert any(f["code"] == "MAR205" for f in findings)
    assert check(FIXTURES / "digits.model").findings == RECORDED["check"]["digits.model"] == []


def _reshape(shape, spec, reverse=False):
    graph = {
        "nodes": [
            {"op": "null", "name": "data", "inputs": []},
            {
                "op": "Reshape",
                "name": "r",
                "attrs": {"shape": str(tuple(spec)), "reverse": str(reverse)},
                "inputs": [[0, 0, 0]],
            },
        ],
        "arg_nodes": [0],
        "heads": [[1, 0, 0]],
        "attrs": {"mxnet_version": ["int", 10901]},
    }
    result = infer(graph, {"data": shape})
    return result.infer_error or result.output_shapes[0]


@pytest.mark.parametrize(
    ("shape", "spec", "reverse", "expected"),
    [
        # The examples of MXNet 1.9.1's Reshape documentation.
        ((2, 3, 4), (4, 0, 2), False, (4, 3, 2)),
        ((2, 3, 4), (2, 0, 0), False, (2, 3, 4)),
        ((2, 3, 4), (6, 1, -1), False, (6, 1, 4)),
        ((2, 3, 4), (3, -1, 8), False, (3, 1, 8)),
        ((2, 3, 4), (-1,), False, (24,)),
        ((2, 3, 4), (-2,), False, (2, 3, 4)),
        ((2, 3, 4), (2, -2), False, (2, 3, 4)),
        ((2, 3, 4), (-2, 1, 1), False, (2, 3, 4, 1, 1)),
        ((2, 3, 4), (-3, 4), False, (6, 4)),
        ((2, 3, 4, 5), (-3, -3), False, (6, 20)),
        ((2, 3, 4), (0, -3), False, (2, 12)),
        ((2, 3, 4), (-3, -2), False, (6, 4)),
        ((2, 3, 4), (-4, 1, 2, -2), False, (1, 2, 3, 4)),
        ((2, 3, 4), (2, -4, -1, 3, -2), False, (2, 1, 3, 4)),
        ((10, 5, 4), (-1, 0), False, (40, 5)),
        ((10, 5, 4), (-1, 0), True, (50, 4)),
        # MXNet 1.9.1 writes the inferred size at the -1's position in the spec, not in the
        # output: after -2 or -3 they differ (checked against mxnet 1.9.1).
        ((2, 3), (-2, -1), False, (2, 1, 1)),
        ((2, 4), (-1, -2), True, (1, 1, 4)),
    ],
)
def test_reshape_special_values(shape, spec, reverse, expected):
    assert _reshape(shape, spec, reverse) == expected


def test_shapes_flow_backward_from_a_later_layer():
    """NNVM infers both ways: an input with no given shape gets it from the layers after it
    (here relu(x) + y with only y given), and weights from their layer's data."""
    graph = {
        "nodes": [
            {"op": "null", "name": "x", "inputs": []},
            {"op": "relu", "name": "act", "inputs": [[0, 0, 0]]},
            {"op": "null", "name": "y", "inputs": []},
            {"op": "elemwise_add", "name": "sum", "inputs": [[1, 0, 0], [2, 0, 0]]},
            {"op": "null", "name": "w", "inputs": []},
            {
                "op": "FullyConnected",
                "name": "fc",
                "attrs": {"num_hidden": "3", "no_bias": "True"},
                "inputs": [[3, 0, 0], [4, 0, 0]],
            },
        ],
        "arg_nodes": [0, 2, 4],
        "heads": [[5, 0, 0]],
    }
    result = infer(graph, {"y": (2, 5)})
    assert result.arg_shapes == {"x": (2, 5), "y": (2, 5), "w": (3, 5)}
    assert result.output_shapes == ((2, 3),)


NASTY = [
    "",
    "None",
    "()",
    "(0,)",
    "-1",
    "(-5, 3)",
    "1e400",
    "nan",
    "True",
    "(1, 2, 3, 4, 5, 6)",
    "99999999999999999999",
    "0",
    "[3,",
    "abc",
    "(3,3",
    "1L",
    " 7 ",
]


def test_hostile_attributes_and_shapes_never_raise():
    """Whatever the attributes and input shapes, the engine answers: shapes or an error."""
    import random

    r = random.Random(11)
    for label, symbol, shapes in GRAPHS[:8]:
        for _ in range(60):
            graph = json.loads(symbol)
            ops = [n for n in graph["nodes"] if n["op"] != "null"]
            node = r.choice(ops)
            attrs = node.get("attrs") or node.get("attr") or node.get("param") or {}
            if attrs:
                attrs[r.choice(sorted(attrs))] = r.choice(NASTY)
            wild = {k: [r.choice((0, 1, 3, 2**40)) for _ in range(r.randint(0, 5))] for k in shapes}
            result = infer(graph, {k: tuple(v) for k, v in wild.items()})
            assert result.load_error or result.infer_error or result.outputs, label


@pytest.mark.parametrize(
    ("attrs", "shape", "expected"),
    [
        # Answers of mxnet 1.9.1's infer_shape for the same graphs.
        ({"target_shape": "(10, 10)", "kernel": "(4, 4)"}, (1, 2, 5, 5), (1, 3, 10, 10)),
        ({"target_shape": "(12, 11)"}, (1, 2, 6, 6), (1, 3, 12, 11)),
        ({"adj": "(1, 1)", "pad": "(1, 1)"}, (1, 2, 6, 6), (1, 3, 12, 12)),
        ({"target_shape": "(30, 30)"}, (1, 2, 6, 6), None),  # "too big target shape"
    ],
)
def test_deconvolution_target_shape_and_adj(attrs, shape, expected):
    from shape_grid import graph

    attrs = {"kernel": "(3, 3)", "stride": "(2, 2)", "num_filter": "3", **attrs}
    result = infer(json.loads(graph("Deconvolution", attrs, ["data", "weight"])), {"data": shape})
    assert (result.output_shapes[0] if not result.infer_error else None) == expected
