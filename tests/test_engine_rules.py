"""MAR501 engine-version, MAR502 engine-incompatible and MAR503 engine-declared."""

from __future__ import annotations

import pytest
from builders import ArchiveSpec
from conftest import check


@pytest.mark.parametrize("value", [0.12, "1.1.0", ["int", 10901]])
def test_every_form_mms_wrote_is_valid(tmp_path, mlp_model, value):
    result = check(
        ArchiveSpec(mlp_model, manifest={"Engine": {"MXNet": value}}).write(tmp_path / "m.model")
    )
    assert result.only("MAR501") == []


@pytest.mark.parametrize("value", [None, "latest", ["str", "1.9.1"], True])
def test_unparseable_engine(tmp_path, mlp_model, value):
    engine = {} if value is None else {"MXNet": value}
    result = check(ArchiveSpec(mlp_model, manifest={"Engine": engine}).write(tmp_path / "m.model"))
    [finding] = result.only("MAR501")
    assert finding["location"] == "/Engine/MXNet" and finding["fixable"]


def test_engine_older_than_the_graph_is_a_warning(tmp_path, mlp_model):
    spec = ArchiveSpec(mlp_model, manifest={"Engine": {"MXNet": "1.1.0"}})
    [finding] = check(spec.write(tmp_path / "m.model")).only("MAR503")
    assert finding["severity"] == "warning" and finding["fixable"]
    assert (
        finding["message"] == "the graph was saved by MXNet 1.9.1, but Engine.MXNet declares 1.1.0"
    )


@pytest.mark.parametrize(
    ("target", "message", "severity", "consequence", "exit_code"),
    [
        # MXNet loads a graph stamped with a newer version with only a warning, and the MMS
        # oracle serves it (tests/test_mms_oracle.py, broken:graph-from-the-future).
        ("1.2.0", "newer than the target MXNet 1.2.0", "warning", "unchecked-risk", 0),
        # MXNet before 1.0 refuses the `attrs` node key outright ("Unknown field attrs").
        (
            "0.12.1",
            "`attrs` node key of MXNet 1.0+; MXNet 0.12.1 cannot read it",
            "error",
            "refused",
            1,
        ),
    ],
)
def test_target_older_than_the_graph(
    tmp_path, mlp_model, target, message, severity, consequence, exit_code
):
    path = ArchiveSpec(mlp_model).write(tmp_path / "m.model")
    result = check(path, args=("--mxnet-version", target))
    [finding] = result.only("MAR502")
    assert message in finding["message"]
    assert finding["severity"] == severity and finding["consequence"] == consequence
    assert result.exit_code == exit_code
    assert check(path, args=("--mxnet-version", "1.9.1")).only("MAR502") == []


@pytest.mark.parametrize("declared", ["2.0.0", ["int", 20000]])
def test_declared_engine_newer_than_the_target(tmp_path, mlp_model, declared):
    # The graph itself (saved by 1.9.1) loads; the declaration asks for an MXNet the
    # servers do not run, which MMS never checks.
    spec = ArchiveSpec(mlp_model, manifest={"Engine": {"MXNet": declared}})
    result = check(spec.write(tmp_path / "m.model"), args=("--mxnet-version", "1.9.1"))
    [finding] = result.only("MAR503")
    assert finding["message"] == "Engine.MXNet declares 2.0.0, newer than the target MXNet 1.9.1"
    assert finding["severity"] == "warning" and finding["location"] == "/Engine/MXNet"
    assert finding["fixable"] and result.only("MAR502") == [] and result.exit_code == 0


def test_declared_engine_newer_than_an_installed_target(tmp_path, mlp_model):
    pytest.importorskip("mxnet", reason="the target is the installed mxnet")
    spec = ArchiveSpec(mlp_model, manifest={"Engine": {"MXNet": "1.9.2"}})
    [finding] = check(spec.write(tmp_path / "m.model")).only("MAR503")  # mxnet 1.9.1 installed
    assert finding["message"].endswith("newer than the target MXNet 1.9.1")
    assert (
        check(spec.write(tmp_path / "m.model"), args=("--mxnet-version", "1.9.2")).only("MAR503")
        == []
    )
