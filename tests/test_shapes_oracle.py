"""The native shape engine against real MXNet 1.9.1, live (`pytest -m mxnet_oracle`).

MXNet runs in a child process (`python -I`, cwd /, an address-space limit and a deadline per
answer): every fixture graph and every gluon vision zoo network exported as a symbol must give
the same arguments, auxiliary states, outputs, shapes and dtypes; a seeded grid of a few
thousand one-operator graphs must give the same shapes, or an error from both; and with
`--engine mxnet` or the native engine, `check` must give the same verdicts on every fixture.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

import pytest
from builders import ArchiveSpec
from mxnet_child import MXNetOracle, comparable, engine_answer
from record_shapes import EXPECTED, F32, FIXTURES, check_findings, fixture_graphs
from shape_grid import cases

pytestmark = pytest.mark.mxnet_oracle
pytest.importorskip("mxnet", reason="the oracle is mxnet 1.9.1 (Python <= 3.11 only)")

GRID_PER_MAKER = 80
# The input each zoo family needs at least (fixed average-pool windows), kept small otherwise.
ZOO_INPUT = {"densenet": 224, "squeezenet": 224, "inceptionv3": 299}


@pytest.fixture(scope="module")
def oracle():
    mxnet = MXNetOracle()
    yield mxnet
    mxnet.close()


def zoo_names() -> list[str]:
    from mxnet.gluon.model_zoo import vision

    source = Path(vision.__file__).read_text()
    return sorted(set(re.findall(r"'([\w.]+)': \w+,?\n", source)))


def test_fixture_graphs_agree_with_mxnet(oracle):
    """Every operator of every fixture graph is modelled (the CRNN's CTC loss included)."""
    disagree = []
    for label, symbol, shapes in fixture_graphs():
        expected = oracle.ask(symbol, shapes, F32)
        if comparable(engine_answer(symbol, shapes, F32)) != comparable(expected):
            disagree.append(label)
    assert disagree == []


def test_recorded_answers_are_mxnets(oracle):
    """The answers the suite replays without mxnet are what MXNet says today."""
    recorded = json.loads(EXPECTED.read_text())
    for label, symbol, shapes in fixture_graphs():
        assert oracle.ask(symbol, shapes, F32) == recorded["graphs"][label]["answer"], label


def test_every_gluon_vision_zoo_network_agrees_with_mxnet(oracle):
    names = zoo_names()
    assert len(names) >= 30  # resnets, vggs, densenets, squeezenets, inception, mobilenets
    disagree = []
    with tempfile.TemporaryDirectory() as workdir:
        for name in names:
            size = next((s for k, s in ZOO_INPUT.items() if name.startswith(k)), 64)
            shape = [1, 3, size, size]
            symbol = oracle.export_zoo(name, shape, workdir)
            for leftover in Path(workdir).iterdir():
                leftover.unlink()  # the weights: hundreds of MB for the VGGs
            expected = oracle.ask(symbol, {"data": shape}, F32)
            assert "arg_shapes" in expected, (name, expected)
            if comparable(engine_answer(symbol, {"data": shape}, F32)) != comparable(expected):
                disagree.append(name)
    assert disagree == []


def test_operator_grid_agrees_with_mxnet(oracle):
    disagree = []
    count = 0
    for case in cases(per_maker=GRID_PER_MAKER):
        count += 1
        expected = oracle.ask(case.symbol, case.shapes, case.dtypes)
        assert not expected.get("crash"), case
        answer = engine_answer(case.symbol, case.shapes, case.dtypes)
        if comparable(answer) != comparable(expected):
            disagree.append((case.op, json.loads(case.symbol)["nodes"][-1]["attrs"], case.shapes))
    assert count >= 3000
    assert disagree[:5] == []


def mistakes(tmp_path: Path, model) -> list[Path]:
    """Archives with the graph mistakes the graph rules are for."""
    inputs = [{"data_name": "data", "data_shape": list(model.input_shape)}]
    outputs = [{"data_name": model.output_name, "data_shape": list(model.output_shape)}]
    variants = {
        "clean": {},
        "wrong-output": {"signature": {"outputs": [{**outputs[0], "data_shape": [1, 7]}]}},
        "wrong-input-name": {"signature": {"inputs": [{**inputs[0], "data_name": "image"}]}},
        "wrong-input-shape": {
            "signature": {"inputs": [{**inputs[0], "data_shape": [1, 3, 32, 32]}]}
        },
        "no-params": {"drop": {f"{model.name}-0000.params"}},
    }
    return [
        ArchiveSpec(model, **v).write(tmp_path / f"{model.name}-{k}.model")
        for k, v in variants.items()
    ]


def verdicts(archives: list[Path], engine: str) -> dict[str, list[tuple[str, str]]]:
    reports = check_findings(archives, engine)
    return {name: [(f["code"], f["severity"]) for f in found] for name, found in reports.items()}


def test_graph_rule_verdicts_are_the_same_with_either_engine(tmp_path, cnn_model, mlp_model):
    archives = sorted(FIXTURES.glob("*.model"))
    for model in (cnn_model, mlp_model):
        archives += mistakes(tmp_path, model)
    native = verdicts(archives, "native")
    assert len(native) == len(archives) and any(native.values())
    assert native == verdicts(archives, "mxnet")
