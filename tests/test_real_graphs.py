"""Published MXNet graphs (tests/fixtures/graphs): mar-lint reports no error on archives that
MMS serves (test_mms_oracle.py proves each one served by MMS 0.4). Everyday suite: the archives
are built without mxnet, from the shapes MXNet recorded once (graphs.json)."""

from __future__ import annotations

import json
import math
import os
import resource
import subprocess
import sys

import pytest
from conftest import check
from graph_archives import GRAPHS, GraphArchive, catalogue, graph_names, params_bytes

from mar_lint.params import read_params_index


@pytest.fixture(scope="module")
def findings_by_graph(tmp_path_factory) -> dict[str, list[dict]]:
    """One `mar-lint check --format json` run over every graph's archive (one MXNet start)."""
    folder = tmp_path_factory.mktemp("graphs")
    paths = {name: GraphArchive(name).write(folder / f"{name}.model") for name in graph_names()}
    report = check(*paths.values()).document
    found = {a["path"]: a["findings"] for a in report["archives"]}
    return {name: found[str(path)] for name, path in paths.items()}


@pytest.mark.parametrize("name", graph_names())
def test_published_graph_served_by_mms_gets_no_error(findings_by_graph, name):
    errors = [f for f in findings_by_graph[name] if f["severity"] == "error"]
    assert errors == []


def test_graphs_cover_every_json_era_and_the_architectures_asked_for():
    eras = {}
    for name in graph_names():
        graph = json.loads((GRAPHS / f"{name}-symbol.json").read_bytes())
        keys = {k for node in graph["nodes"] for k in node}
        eras[name] = "attrs" if "attrs" in keys else "attr" if "attr" in keys else "param"
    assert set(eras.values()) == {"param", "attr", "attrs"} and len(eras) >= 10
    services = {name: facts["service"] for name, facts in catalogue().items()}
    assert {"vision", "grey", "embedding", "detector", "tensor"} <= set(services.values())
    detectors = [n for n, s in services.items() if s == "detector"]
    assert all(len(catalogue()[n]["outputs"]) > 1 for n in detectors)
    grey = [n for n, s in services.items() if s == "grey"]
    assert all(catalogue()[n]["inputs"][0]["data_shape"][1] == 1 for n in grey)


def test_params_writer_output_reads_back_with_every_shape(tmp_path):
    weights = catalogue()["mtcnn-onet"]["weights"]
    path = tmp_path / "w.params"
    path.write_bytes(params_bytes(weights))
    with path.open("rb") as stream:
        index = read_params_index(stream, path.stat().st_size)
    assert {t.name: list(t.shape) for t in index.tensors} == weights
    assert path.stat().st_size > 4 * sum(math.prod(s) for s in weights.values())


def test_no_error_where_mxnet_is_absent(tmp_path):
    """Without mxnet (here: an mxnet that cannot be imported), the native engine runs the
    graph rules, and nothing mistakes these served models for broken ones (the CRNN's CTC loss
    included: the engine models it, so no MAR902 either)."""
    paths = [GraphArchive(name).write(tmp_path / f"{name}.model") for name in graph_names()]
    shadow = tmp_path / "shadow" / "mxnet"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text('raise ImportError("no mxnet here")\n')
    run = subprocess.run(
        [sys.executable, "-m", "mar_lint", "check", "--format", "json", *map(str, paths)],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(shadow.parent)),
    )
    assert run.returncode == 0, run.stdout + run.stderr
    archives = json.loads(run.stdout)["archives"]
    assert len(archives) == len(paths)
    for archive in archives:
        codes = {f["code"] for f in archive["findings"]}
        assert codes == set(), archive


def _mxnet_child(*args: str) -> str:
    """Run MXNet on our fixtures in a limited child process; its stdout."""

    def limits() -> None:
        resource.setrlimit(resource.RLIMIT_CPU, (120, 120))
        resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))

    run = subprocess.run(
        [sys.executable, "-I", *args],
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=limits,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout


@pytest.mark.mxnet_oracle
def test_recorded_shapes_are_what_mxnet_infers():
    inferred = json.loads(_mxnet_child(str(GRAPHS / "record_shapes.py"), "--child"))
    for name, facts in catalogue().items():
        assert inferred[name]["weights"] == facts["weights"], name
        assert inferred[name]["outputs"] == facts["outputs"], name


@pytest.mark.mxnet_oracle
def test_mxnet_loads_the_written_params(tmp_path):
    weights = catalogue()["retinaface-mnet25"]["weights"]
    path = tmp_path / "w.params"
    path.write_bytes(params_bytes(weights))
    loaded = _mxnet_child(
        "-c",
        "import json, sys, mxnet as mx; "
        "print(json.dumps({k: list(v.shape) for k, v in mx.nd.load(sys.argv[1]).items()}))",
        str(path),
    )
    assert json.loads(loaded) == weights
