"""The engine: a crashing rule, MXNet missing, MXNet only when a rule needs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from builders import ArchiveSpec, require_mxnet
from conftest import check

from mar_lint.config import Settings
from mar_lint.findings import Problem
from mar_lint.registry import Registry, load_registry, rule
from mar_lint.runner import Checker


@rule("ZZZ001", "always-raises", "warning", "a rule with a bug")
def always_raises(view):
    """A broken third-party rule."""
    yield Problem("first problem")
    raise KeyError("Model")


def test_a_crashing_rule_is_one_finding_and_the_others_run(tmp_path, mlp_model):
    path = ArchiveSpec(mlp_model, signature={"input_type": "image/jpg"}).write(tmp_path / "m.model")
    builtin = load_registry()
    registry = Registry(builtin.rules + (always_raises,))
    with Checker(registry, Settings(select=("MAR", "ZZZ"))) as checker:
        report = checker.check(path)
    codes = [f.code for f in report.findings]
    assert codes == ["MAR202", "MAR901", "ZZZ001"]
    crash = report.findings[1]
    assert "ZZZ001 (always-raises)" in crash.message and "KeyError" in crash.message


def check_with_broken_mxnet(tmp_path, path, *options):
    """`mar-lint check` where mxnet fails to import (like mxnet with numpy >= 1.24)."""
    shadow = tmp_path / "shadow" / "mxnet"
    shadow.mkdir(parents=True, exist_ok=True)
    (shadow / "__init__.py").write_text(
        "raise ImportError(\"module 'numpy' has no attribute 'bool'\")\n"
    )
    env = dict(os.environ, PYTHONPATH=str(shadow.parent))
    run = subprocess.run(
        [sys.executable, "-m", "mar_lint", "check", "--format", "json", *options, str(path)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)["archives"][0]["findings"]


def test_graph_rules_run_without_mxnet_by_default(tmp_path, mlp_model):
    """The native engine infers the shapes: a broken mxnet changes nothing."""
    path = ArchiveSpec(mlp_model).write(tmp_path / "m.model")
    assert check_with_broken_mxnet(tmp_path, path) == []


def test_mxnet_rules_skipped_loudly_when_mxnet_cannot_be_imported(tmp_path, mlp_model):
    """`--engine mxnet` with a broken mxnet must not look like a pass."""
    path = ArchiveSpec(mlp_model).write(tmp_path / "m.model")
    [finding] = check_with_broken_mxnet(tmp_path, path, "--engine", "mxnet")
    assert (finding["code"], finding["severity"]) == ("MAR902", "info")
    assert "MAR204, MAR205, MAR301, MAR302" in finding["message"]
    assert "mar-lint[mxnet]" in finding["hint"]


def test_mxnet_starts_only_when_a_rule_needs_it(tmp_path, mlp_model):
    path = ArchiveSpec(mlp_model).write(tmp_path / "m.model")
    with Checker(
        load_registry(),
        Settings(select=("MAR0", "MAR1", "MAR2", "MAR5"), ignore=("MAR204", "MAR205")),
    ) as checker:
        assert checker.check(path).findings == []
        assert checker.sandbox._child is None


def unmodelled_op_archive(tmp_path, mlp_model, output_shape):
    """The tabular model with its relu swapped for `smooth_l1`, an operator MXNet registers
    but the native engine does not model, and a signature declaring `output_shape`."""
    graph = json.loads(mlp_model.symbol)
    node = next(n for n in graph["nodes"] if n["op"] == "Activation")
    node["op"], node["attrs"] = "smooth_l1", {"scalar": "1.0"}
    prefix = mlp_model.name
    outputs = [{"data_name": mlp_model.output_name, "data_shape": output_shape}]
    spec = ArchiveSpec(
        mlp_model,
        drop={f"{prefix}-symbol.json"},
        extra=[(f"{prefix}-symbol.json", json.dumps(graph))],
        signature={"outputs": outputs},
    )
    return spec.write(tmp_path / "m.model")


def test_an_unmodelled_operator_without_mxnet_skips_only_the_graph_rules(tmp_path, mlp_model):
    path = unmodelled_op_archive(tmp_path, mlp_model, [0, 7])
    findings = check_with_broken_mxnet(tmp_path, path)
    [skipped] = [f for f in findings if f["code"] == "MAR902"]
    assert "smooth_l1" in skipped["message"] and "MAR205" in skipped["message"]
    assert [f["code"] for f in findings] == ["MAR902"]  # the rest of the archive is clean


def test_an_unmodelled_operator_goes_to_mxnet_when_it_imports(tmp_path, mlp_model):
    require_mxnet()
    path = unmodelled_op_archive(tmp_path, mlp_model, [0, 7])
    result = check(path)
    [wrong] = result.only("MAR205")
    assert "the graph gives [1, 5]" in wrong["message"]
    assert "MAR902" not in result.codes
