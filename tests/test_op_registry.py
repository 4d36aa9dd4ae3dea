"""MXNet 1.9.1's operator registry and attribute parsing, without MXNet (the everyday run).

Every expectation here was observed in real MXNet 1.9.1; `test_op_registry_oracle.py` holds
the same machinery against it (`-m mxnet_oracle`).
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import check

from mar_lint.graph_structure import saved_version
from mar_lint.shapes import op_registry
from mar_lint.shapes.op_registry import AttrError, check_graph_operators, check_node, params

FIXTURES = Path(__file__).parent / "fixtures"


def test_registry_names_every_operator_and_alias():
    data = json.loads((Path(op_registry.__file__).parent / "mxnet_ops.json").read_text())
    assert data["meta"]["mxnet_version"] == "1.9.1" and data["meta"]["license"] == "Apache-2.0"
    assert len(data["ops"]) > 850 and len(data["aliases"]) > 250
    for legacy, canonical in [
        ("SliceChannel", "SliceChannel"),
        ("split", "SliceChannel"),
        ("_Plus", "elemwise_add"),
        ("Softmax", "SoftmaxOutput"),
        ("ElementWiseSum", "add_n"),
        ("Convolution", "Convolution"),
    ]:
        assert op_registry.canonical_name(legacy) == canonical
    assert not op_registry.is_known("FullyConnectedV2")
    spec = op_registry.op_spec("Convolution")
    assert spec is not None and spec.inputs == ("data", "weight", "bias")
    assert spec.params["kernel"].required and spec.params["layout"].choices[0] == "None"
    assert op_registry.op_spec("Concat").key_var_num_args == "num_args"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("(3, 3)", (3, 3)),
        ("(3,)", (3,)),
        ("[3,3]", (3, 3)),
        ("3", (3,)),
        ("-1", (-1,)),
        ("()", ()),
        ("None", None),  # the unknown shape
        ("(3L,4L)", (3, 4)),  # Python 2 longs
        ("(3,3]", (3, 3)),  # mxnet::Tuple does not pair its brackets
        (" (1,2) \n", (1, 2)),
    ],
)
def test_shapes_parse_as_mxnet_tuple_does(text, value):
    assert params("Reshape", {"shape": text})["shape"] == value


@pytest.mark.parametrize("text", ["(3,3", "(3 3)", "", "(1,2) x", "+3", "(1,,2)", "(1.5,2)"])
def test_shapes_mxnet_refuses(text):
    with pytest.raises(AttrError):
        params("Reshape", {"shape": text})


@pytest.mark.parametrize(
    ("op", "key", "text", "value"),
    [
        ("FullyConnected", "flatten", "True", True),
        ("FullyConnected", "flatten", "0", False),
        ("FullyConnected", "flatten", "tRuE", True),
        ("SliceChannel", "axis", "-1", -1),
        ("SliceChannel", "axis", " 2 ", 2),
        ("LeakyReLU", "slope", "1e-2", 0.01),
        ("LeakyReLU", "slope", "2.5f", 2.5),  # dmlc::stof takes a float suffix
        ("Pooling", "pool_type", "avg", "avg"),
        ("Pooling", "p_value", "None", None),
        ("Convolution", "num_group", "-1", 2**32 - 1),  # uint32_t: strtoul wraps
        ("Dropout", "axes", "(1, 2)", (1, 2)),
    ],
)
def test_values_parse_as_dmlc_does(op, key, text, value):
    attrs = {"kernel": "(3,3)", "num_filter": "1", "num_outputs": "2", "num_hidden": "1"}
    spec = op_registry.op_spec(op)
    assert spec is not None
    given = {k: v for k, v in attrs.items() if k in spec.params}
    assert params(op, {**given, key: text})[key] == value


@pytest.mark.parametrize(
    ("op", "attrs"),
    [
        ("FullyConnected", {"num_hidden": "10", "flatten": "yes"}),
        ("FullyConnected", {"num_hidden": "10", "flatten": " 1"}),
        ("FullyConnected", {"num_hidden": "1.5"}),
        ("FullyConnected", {"num_hidden": "0x10"}),
        ("Activation", {"act_type": "RELU"}),
        ("Activation", {"act_type": "relu "}),
        ("LeakyReLU", {"slope": "2 "}),  # stof leaves no trailing characters
        ("LeakyReLU", {"slope": "1e39"}),  # out of float's range
        ("Crop", {"num_args": "4"}),  # set_range(1, 3)
        ("SliceChannel", {}),  # num_outputs is required
        ("Convolution", {"kernel": "(3,3)", "num_filter": "2", "stride": "(1,)"}),
        ("Pooling", {}),  # no kernel and no global_pool
    ],
)
def test_values_mxnet_refuses(op, attrs):
    assert check_node(op, attrs)


def test_unknown_names_hidden_keys_and_legacy_upgrade():
    good = {"kernel": "(3,3)", "num_filter": "4"}
    hidden = {"__lr_mult__": "1", "__init__": "zeros", "__shape__": "(1,)", "_____": "x"}
    assert check_node("Convolution", {**good, **hidden}) == []
    for key in ("foo", "lr_mult", "ctx_group", "__foo", "____", "profiler_scope"):
        [(where, message)] = check_node("Convolution", {**good, key: "1"})
        assert where == key and "has no parameter" in message
    # Before 1.9.1 the loader turns lr_mult into __lr_mult__ and moves weight_lr_mult to the
    # weight variable; other names ending in a hidden key come back and are refused.
    legacy = {**good, "lr_mult": "1", "ctx_group": "dev1", "weight_lr_mult": "2"}
    assert check_node("Convolution", legacy, version=10600) == []
    assert check_node("Convolution", {**good, "x_lr_mult": "1"}, version=905)
    assert check_node("Convolution", {**good, "lr_mult": "1"}, version=None) == []
    # Operators without a parameter parser take any attribute.
    assert check_node("elemwise_add", {"anything": "1"}) == []
    assert check_node("Custom", {"op_type": "mine", "whatever": "1"}) == []


def _digits_graph() -> dict:
    with zipfile.ZipFile(FIXTURES / "digits.model") as archive:
        return json.loads(archive.read("digits-symbol.json"))


def test_fixture_graph_is_clean_in_every_era():
    graph = _digits_graph()
    assert check_graph_operators(graph, saved_version(graph)) == []
    for node in graph["nodes"]:
        if "attrs" in node:
            node["param"] = node.pop("attrs")
    assert check_graph_operators(graph, None) == []


def _with_changed_graph(tmp_path: Path, change) -> Path:
    source = FIXTURES / "digits.model"
    target = tmp_path / "digits.model"
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            data = old.read(info)
            if info.filename == "digits-symbol.json":
                graph = json.loads(data)
                change(graph)
                data = json.dumps(graph).encode()
            new.writestr(info, data)
    return target


def _first(graph: dict, op: str) -> dict:
    return next(n for n in graph["nodes"] if n["op"] == op)


def test_mar301_names_the_unknown_operator_and_the_bad_attribute(tmp_path):
    def break_graph(graph):
        _first(graph, "Pooling")["op"] = "MaxPool"
        _first(graph, "Convolution")["attrs"]["kernel"] = "(3,3"

    result = check(_with_changed_graph(tmp_path, break_graph), args=("--select", "MAR301"))
    findings = result.only("MAR301")
    assert result.exit_code == 1
    assert {f["location"] for f in findings} == {"/nodes/3/attrs/kernel", "/nodes/5/op"}
    messages = " ".join(f["message"] for f in findings)
    assert "no operator 'MaxPool'" in messages and "'(3,3' is not a Shape(tuple)" in messages


def test_the_check_needs_no_mxnet(tmp_path):
    """In a child process where `import mxnet` fails, the registry still refuses the graph."""
    code = (
        "import sys, json\n"
        "sys.modules['mxnet'] = None\n"  # any `import mxnet` now raises ImportError
        "from mar_lint.shapes.op_registry import check_graph_operators\n"
        "graph = json.load(sys.stdin)\n"
        "print(json.dumps([i.message for i in check_graph_operators(graph, 10901)]))\n"
    )
    graph = _digits_graph()
    _first(graph, "Activation")["attrs"]["act_type"] = "gelu"
    paths = [p for p in sys.path if p]  # never the working folder
    result = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path[:] = {paths!r}\n{code}"],
        input=json.dumps(graph),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    [message] = json.loads(result.stdout)
    assert "act_type='gelu'" in message
