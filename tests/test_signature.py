"""MAR201 signature-invalid, MAR202 mime-type, MAR203 batch-dimension."""

from __future__ import annotations

import pytest
from builders import ArchiveSpec
from conftest import check


def test_missing_signature(tmp_path, mlp_model):
    spec = ArchiveSpec(mlp_model, drop={"signature.json"})
    del spec.manifest["Model"]["Signature"]
    [finding] = check(spec.write(tmp_path / "m.model")).only("MAR201")
    assert finding["message"] == "the archive has no signature.json"


@pytest.mark.parametrize(
    ("change", "location", "fragment"),
    [
        ({"inputs": {"data_name": "data"}}, "/inputs", "not a non-empty list"),
        (
            {"inputs": [{"data_name": "data", "shape": [0, 12]}]},
            "/inputs/0/data_shape",
            "data_shape",
        ),
        ({"inputs": [{"data_name": 3, "data_shape": [0, 12]}]}, "/inputs/0/data_name", "data_name"),
        (
            {"inputs": [{"data_name": "data", "data_shape": [0, "12"]}]},
            "/inputs/0/data_shape/1",
            "'12'",
        ),
        (
            {"inputs": [{"data_name": "data", "data_shape": [0, -1]}]},
            "/inputs/0/data_shape/1",
            "-1",
        ),
        ({"input_type": ["image/jpeg"]}, "/input_type", "not a string"),
        ({"outputs": []}, "/outputs", "not a non-empty list"),
    ],
)
def test_malformed_signature(tmp_path, mlp_model, change, location, fragment):
    result = check(ArchiveSpec(mlp_model, signature=change).write(tmp_path / "m.model"))
    findings = result.only("MAR201")
    assert [f["location"] for f in findings] == [location]
    assert fragment in findings[0]["message"]
    assert result.exit_code == 1


def test_signature_that_is_not_json(tmp_path, mlp_model):
    spec = ArchiveSpec(
        mlp_model, drop={"signature.json"}, extra=[("signature.json", "{inputs: []}")]
    )
    [finding] = check(spec.write(tmp_path / "m.model")).only("MAR201")
    assert "not valid JSON" in finding["message"] and finding["member"] == "signature.json"


def test_signature_nested_200000_deep_is_a_finding(tmp_path, mlp_model):
    spec = ArchiveSpec(
        mlp_model, drop={"signature.json"}, extra=[("signature.json", "[" * 200_000)]
    )
    [finding] = check(spec.write(tmp_path / "m.model")).only("MAR201")
    assert "nests deeper" in finding["message"]


@pytest.mark.parametrize(
    ("value", "fixable"),
    [
        ("image/jpg", True),
        ("application/json; charset=utf-8", True),
        ("text/json", True),
        ("image/png", False),
    ],
)
def test_mime_types(tmp_path, cnn_model, value, fixable):
    result = check(
        ArchiveSpec(cnn_model, signature={"input_type": value}).write(tmp_path / "m.model")
    )
    [finding] = result.only("MAR202")
    assert finding["location"] == "/input_type" and finding["fixable"] is fixable


def test_batch_of_one_is_a_fixable_warning(tmp_path, cnn_model):
    signature = {"inputs": [{"data_name": "data", "data_shape": [1, 1, 28, 28]}]}
    result = check(ArchiveSpec(cnn_model, signature=signature).write(tmp_path / "m.model"))
    [finding] = result.only("MAR203")
    assert (finding["severity"], finding["location"], finding["fixable"]) == (
        "warning",
        "/inputs/0/data_shape/0",
        True,
    )
    assert result.exit_code == 0


def test_missing_batch_axis_is_an_error(tmp_path, mlp_model):
    signature = {"outputs": [{"data_name": mlp_model.output_name, "data_shape": [5]}]}
    result = check(ArchiveSpec(mlp_model, signature=signature).write(tmp_path / "m.model"))
    [finding] = result.only("MAR203")
    assert finding["severity"] == "error" and finding["location"] == "/outputs/0/data_shape/0"
    assert "[0, 5]" in finding["hint"]
