"""MAR204 input-mismatch, MAR205 output-shape, MAR301 symbol-invalid, MAR302 shape-inference,
on real model-zoo networks and small real graphs."""

from __future__ import annotations

import json

import pytest
from builders import ArchiveSpec
from conftest import check


@pytest.mark.parametrize("model", ["resnet_model", "mobilenet_model", "squeezenet_model"])
def test_zoo_networks_are_clean(tmp_path, request, model):
    exported = request.getfixturevalue(model)
    result = check(ArchiveSpec(exported).write(tmp_path / "zoo.model"))
    assert result.findings == []


def test_signature_input_named_after_onnx_convention(tmp_path, resnet_model):
    signature = {"inputs": [{"data_name": "input_0", "data_shape": [0, 3, 224, 224]}]}
    result = check(ArchiveSpec(resnet_model, signature=signature).write(tmp_path / "m.model"))
    unfed, stranger = result.only("MAR204")  # sorted by location: /inputs first
    assert (
        stranger["location"] == "/inputs/0/data_name"
        and "'input_0' is not an input" in stranger["message"]
    )
    assert stranger["fixable"] and "'data' is missing" in unfed["message"]
    assert result.exit_code == 1


def test_weight_listed_as_input(tmp_path, mlp_model):
    weight = json.loads(mlp_model.symbol)["nodes"][1]["name"]
    signature = {
        "inputs": [
            {"data_name": "data", "data_shape": [0, 12]},
            {"data_name": weight, "data_shape": [32, 12]},
        ]
    }
    [finding] = check(ArchiveSpec(mlp_model, signature=signature).write(tmp_path / "m.model")).only(
        "MAR204"
    )
    assert "a weight, not a data input" in finding["message"]


def test_retrained_head_output_shape(tmp_path, resnet_model):
    signature = {"outputs": [{"data_name": resnet_model.output_name, "data_shape": [0, 10]}]}
    result = check(ArchiveSpec(resnet_model, signature=signature).write(tmp_path / "m.model"))
    [finding] = result.only("MAR205")
    assert finding["message"] == "outputs[0] is [0, 10] in the signature; the graph gives [1, 1000]"
    assert finding["location"] == "/outputs/0/data_shape" and finding["fixable"]


def test_output_count_and_wildcards(tmp_path, mlp_model):
    two = {
        "outputs": [
            {"data_name": "a", "data_shape": [0, 5]},
            {"data_name": "b", "data_shape": [0, 5]},
        ]
    }
    name = mlp_model.output_name
    [finding] = check(ArchiveSpec(mlp_model, signature=two).write(tmp_path / "two.model")).only(
        "MAR205"
    )
    assert "lists 2 outputs; the graph has 1" in finding["message"]
    wildcard = {"outputs": [{"data_name": name, "data_shape": [0, 0]}]}
    assert (
        check(ArchiveSpec(mlp_model, signature=wildcard).write(tmp_path / "w.model")).only("MAR205")
        == []
    )


def test_output_name_differs_only_a_warning(tmp_path, mlp_model):
    signature = {"outputs": [{"data_name": "probabilities", "data_shape": [0, 5]}]}
    result = check(ArchiveSpec(mlp_model, signature=signature).write(tmp_path / "m.model"))
    [finding] = result.only("MAR205")
    assert finding["severity"] == "warning" and finding["location"] == "/outputs/0/data_name"
    assert f"the graph calls it '{mlp_model.output_name}'" in finding["message"]
    assert result.exit_code == 0


def test_image_size_the_network_was_not_built_for(tmp_path, cnn_model):
    signature = {"inputs": [{"data_name": "data", "data_shape": [0, 1, 32, 32]}]}
    result = check(ArchiveSpec(cnn_model, signature=signature).write(tmp_path / "m.model"))
    [finding] = result.only("MAR302")
    assert "data=[1, 1, 32, 32]" in finding["message"]
    assert result.exit_code == 1


def test_missing_channel_axis(tmp_path, cnn_model):
    signature = {"inputs": [{"data_name": "data", "data_shape": [0, 28, 28]}]}
    result = check(ArchiveSpec(cnn_model, signature=signature).write(tmp_path / "m.model"))
    assert result.only("MAR302")


def _mutated_symbol(model, change):
    graph = json.loads(model.symbol)
    change(graph)
    return json.dumps(graph)


def test_unknown_operator_is_refused_by_mxnet(tmp_path, mlp_model):
    def rename_op(graph):
        next(n for n in graph["nodes"] if n["op"] == "FullyConnected")["op"] = "FullyConnectedV2"

    spec = ArchiveSpec(mlp_model, drop={"tabular-symbol.json"})
    spec.extra.append(("tabular-symbol.json", _mutated_symbol(mlp_model, rename_op)))
    result = check(spec.write(tmp_path / "m.model"))
    [finding] = result.only("MAR301")
    assert "refuses the graph" in finding["message"] and "FullyConnectedV2" in finding["message"]


def test_graph_that_would_crash_mxnet_is_caught_before_it_runs(tmp_path, mlp_model):
    def past_last_output(graph):
        graph["heads"][0][1] = 7

    spec = ArchiveSpec(mlp_model, drop={"tabular-symbol.json"})
    spec.extra.append(("tabular-symbol.json", _mutated_symbol(mlp_model, past_last_output)))
    result = check(spec.write(tmp_path / "m.model"))
    [finding] = result.only("MAR301")
    assert finding["location"] == "/heads/0"
    assert result.exit_code == 1


def test_graph_that_is_not_json(tmp_path, mlp_model):
    spec = ArchiveSpec(mlp_model, drop={"tabular-symbol.json"})
    spec.extra.append(("tabular-symbol.json", mlp_model.symbol[:-40]))
    [finding] = check(spec.write(tmp_path / "m.model")).only("MAR301")
    assert "not valid JSON" in finding["message"]


def test_legacy_graph_that_mxnet_upgrades_is_valid(tmp_path, mlp_model):
    def to_09_layout(graph):
        for node in graph["nodes"]:
            if "attrs" in node:
                node["attr"] = node.pop("attrs")
        graph["attrs"] = {"mxnet_version": ["int", 905]}

    spec = ArchiveSpec(
        mlp_model, drop={"tabular-symbol.json"}, manifest={"Engine": {"MXNet": 0.12}}
    )
    spec.extra.append(("tabular-symbol.json", _mutated_symbol(mlp_model, to_09_layout)))
    result = check(spec.write(tmp_path / "m.model"))
    assert result.only("MAR301") == [] and result.only("MAR302") == []
