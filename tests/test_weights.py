"""MAR303 params-invalid, MAR304 params-mismatch, MAR305 file-naming: the weights a user
actually packs by mistake, against real exported graphs."""

from __future__ import annotations

import json
import struct
import zipfile

import pytest
from builders import ArchiveSpec, mlp_saved_parameters, require_mxnet, resave_params
from conftest import check, run_cli

WEIGHTS = ("MAR303", "MAR304", "MAR305")


def with_params(model, params: bytes, name: str | None = None, **changes) -> ArchiveSpec:
    """The model's archive with other bytes (and optionally another name) for its weights."""
    name = name or f"{model.name}-0000.params"
    manifest = changes.pop("manifest", {})
    spec = ArchiveSpec(model, drop={f"{model.name}-0000.params"}, **changes)
    spec.manifest["Model"] = {**spec.manifest["Model"], "Parameters": name, **manifest}
    spec.extra.append((name, params))
    return spec


def scope(model) -> str:
    """The Gluon name scope of the model's layers ("hybridsequential3_"): it depends on how
    many networks the test session built before it."""
    first = next(n["name"] for n in json.loads(model.symbol)["nodes"] if n["op"] != "null")
    return first.split("_")[0] + "_"


def weight_findings(result) -> list[dict]:
    return [f for f in result.findings if f["code"] in WEIGHTS]


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
@pytest.mark.parametrize("model", ["mlp_model", "cnn_model", "mobilenet_model"])
def test_exported_models_are_clean(tmp_path, request, model, compression):
    exported = request.getfixturevalue(model)
    result = check(ArchiveSpec(exported).write(tmp_path / "m.model", compression))
    assert weight_findings(result) == [] and result.exit_code == 0


def test_params_of_another_model(tmp_path, mlp_model, cnn_model):
    result = check(with_params(mlp_model, cnn_model.params).write(tmp_path / "m.model"))
    [finding] = result.only("MAR304")
    assert "none of the graph's 6 weights is in the params file" in finding["message"]
    assert "the weights of another model?" in finding["message"]
    assert finding["member"] == "tabular-0000.params" and result.exit_code == 1


def test_older_epoch_without_the_last_layer(tmp_path, mlp_model):
    layer = scope(mlp_model) + "dense1"
    older = resave_params(
        mlp_model.params, lambda arrays: {k: v for k, v in arrays.items() if "dense1" not in k}
    )
    result = check(with_params(mlp_model, older).write(tmp_path / "m.model"))
    [finding] = result.only("MAR304")
    assert f"weights {layer}_weight, {layer}_bias have no `arg:` entry" in finding["message"]
    assert "stay zero" in finding["message"] and result.exit_code == 1


def test_weights_resaved_with_save_parameters(tmp_path, mlp_model):
    params = mlp_saved_parameters(tmp_path)
    result = check(with_params(mlp_model, params).write(tmp_path / "m.model"))
    [finding] = result.only("MAR303")
    assert (
        "8 entries without an `arg:`/`aux:` prefix (0.weight, 0.bias, 1.gamma" in finding["message"]
    )
    assert "save_parameters" in finding["message"] and result.exit_code == 1


def test_git_lfs_pointer_committed_instead_of_weights(tmp_path, mlp_model):
    pointer = (
        b"version https://git-lfs.github.com/spec/v1\n"
        b"oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
        b"size 4892\n"
    )
    result = check(with_params(mlp_model, pointer).write(tmp_path / "m.model"))
    [finding] = result.only("MAR303")
    assert "Git LFS pointer" in finding["message"] and "git lfs pull" in finding["message"]
    assert result.only("MAR304") == [] and result.only("MAR002") == []


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_truncated_download(tmp_path, resnet_model, compression):
    cut = resnet_model.params[: len(resnet_model.params) // 3]
    result = check(with_params(resnet_model, cut).write(tmp_path / "m.model", compression))
    [finding] = result.only("MAR303")
    assert finding["message"].startswith("not MXNet weights: truncated: record ")
    assert "bytes of data but only" in finding["message"]
    assert result.only("MAR002") == []  # the zip is intact: the file was cut before zipping


def test_empty_params_file(tmp_path, mlp_model):
    for content, expected in (
        (b"", "file is empty"),
        (resave_params(mlp_model.params, lambda a: {}), "holds no arrays"),
    ):
        [finding] = check(with_params(mlp_model, content).write(tmp_path / "m.model")).only(
            "MAR303"
        )
        assert expected in finding["message"]


def test_onnx_conversion_saves_batchnorm_statistics_under_arg(tmp_path, mlp_model):
    onnx_style = resave_params(
        mlp_model.params,
        lambda arrays: {"arg:" + k.split(":", 1)[1]: v for k, v in arrays.items()},
    )
    result = check(with_params(mlp_model, onnx_style).write(tmp_path / "m.model"))
    [finding] = result.only("MAR304")
    assert finding["message"].startswith("auxiliary states saved under `arg:` (")
    assert "running_mean" in finding["message"] and "running_var" in finding["message"]


def test_float16_weights_for_a_float32_graph(tmp_path, mlp_model):
    half = resave_params(
        mlp_model.params, lambda arrays: {k: v.astype("float16") for k, v in arrays.items()}
    )
    result = check(with_params(mlp_model, half).write(tmp_path / "m.model"))
    [finding] = result.only("MAR304")
    assert finding["severity"] == "warning"
    assert finding["message"].startswith(
        "8 entries saved as float16 where the graph declares float32"
    )
    assert result.exit_code == 0


def test_retrained_head_with_another_class_count(tmp_path, mlp_model):
    mx = require_mxnet()

    weight = f"arg:{scope(mlp_model)}dense1_weight"

    def ten_classes(arrays):
        arrays[weight] = mx.nd.zeros((10, 32))
        return arrays

    result = check(
        with_params(mlp_model, resave_params(mlp_model.params, ten_classes)).write(
            tmp_path / "m.model"
        )
    )
    [finding] = result.only("MAR304")
    assert finding["location"] == weight
    assert (
        "has shape [10, 32]; with the signature's inputs the graph needs [5, 32]"
        in finding["message"]
    )


@pytest.mark.parametrize(
    ("version", "severity"), [(None, "warning"), ("0.3.0", "warning"), ("0.2.0", "error")]
)
def test_extra_entries_depend_on_the_mms_release(tmp_path, mlp_model, version, severity):
    mx = require_mxnet()

    extra = resave_params(mlp_model.params, lambda a: {**a, "arg:optimizer_step": mx.nd.zeros(1)})
    args = ("--mms-version", version) if version else ()
    result = check(with_params(mlp_model, extra).write(tmp_path / "m.model"), args=args)
    [finding] = result.only("MAR304")
    assert finding["severity"] == severity
    assert finding["message"].startswith("1 entry the graph does not have (arg:optimizer_step)")
    assert (
        "MMS 0.2.0 refuses" if severity == "error" else "MMS 0.1.5 and 0.2.0 refuse"
    ) in finding["message"]


def test_unloadable_dtype_written_by_another_tool(tmp_path, mlp_model):
    """uint32 (flag 10) has float32's item size: the record still parses, MXNet 1.9.1 refuses it."""
    import io

    from mar_lint.params import read_params_index

    data = bytearray(mlp_model.params)
    first = read_params_index(io.BytesIO(bytes(data)), len(data)).tensors[0]
    flag_at = first.offset + 12 + 8 * len(first.shape) + 8  # magic, stype, ndim, dims, ctx
    assert struct.unpack_from("<i", data, flag_at) == (0,)
    struct.pack_into("<i", data, flag_at, 10)
    [finding] = check(with_params(mlp_model, bytes(data)).write(tmp_path / "m.model")).only(
        "MAR303"
    )
    assert (
        finding["message"] == f'{first.name}: uint32, which MXNet cannot load ("Unknown type enum")'
    )


def test_numpy_shape_records(tmp_path, mlp_model):
    v3 = resave_params(mlp_model.params, lambda arrays: arrays, np_shape=True)
    [finding] = check(with_params(mlp_model, v3).write(tmp_path / "m.model")).only("MAR303")
    assert "numpy shape semantics" in finding["message"] and "before 1.5" in finding["message"]


def renamed(model, symbol: str, params: str, model_name: str) -> ArchiveSpec:
    spec = ArchiveSpec(model, drop={f"{model.name}-symbol.json", f"{model.name}-0000.params"})
    spec.manifest["Model"].update(Symbol=symbol, Parameters=params, **{"Model-Name": model_name})
    spec.extra += [(symbol, model.symbol), (params, model.params)]
    return spec


def test_epoch_parsed_with_a_model_name_that_is_not_the_prefix(tmp_path, resnet_model):
    spec = renamed(resnet_model, "resnet-symbol.json", "resnet-0126.params", "resnet18")
    result = check(spec.write(tmp_path / "m.model"))
    [finding] = result.only("MAR305")
    assert finding["severity"] == "error" and finding["member"] == "resnet-0126.params"
    assert finding["message"] == (
        "MMS will load resnet-0026.params, not resnet-0126.params: "
        "`Model-Name` 'resnet18' is not the file prefix 'resnet'"
    )
    assert finding["fix"]["summary"] == "set Model-Name 'resnet18' to the file prefix 'resnet'"


def test_epoch_zero_needs_no_matching_model_name(tmp_path, mlp_model):
    spec = renamed(mlp_model, "tabular-symbol.json", "tabular-0000.params", "credit-scoring")
    assert check(spec.write(tmp_path / "m.model")).only("MAR305") == []


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (
            "tabular_v2-0000.params",
            "MMS will load tabular-0000.params, not tabular_v2-0000.params: MMS finds the weights by the graph's prefix",
        ),
        (
            "tabular-7.params",
            "MMS will load tabular-0007.params, not tabular-7.params: the epoch is not written with 4 digits",
        ),
    ],
)
def test_weights_mms_will_not_find(tmp_path, mlp_model, params, expected):
    result = check(
        renamed(mlp_model, "tabular-symbol.json", params, "tabular").write(tmp_path / "m.model")
    )
    [finding] = result.only("MAR305")
    assert finding["message"].startswith(expected) and finding["severity"] == "error"
    assert (
        finding["fix"]["summary"]
        == f"rename {params} to tabular-{'0007' if '7' in params else '0000'}.params"
    )


def test_weights_without_an_epoch(tmp_path, mlp_model):
    result = check(
        renamed(mlp_model, "tabular-symbol.json", "tabular.params", "tabular").write(
            tmp_path / "m.model"
        )
    )
    [finding] = result.only("MAR305")
    # MMS parses epoch 0 from "tabular.params" and loads tabular-0000.params: refused.
    assert finding["message"].startswith("MMS will load tabular-0000.params, not tabular.params")
    assert finding["severity"] == "error" and "No epoch number found" in finding["message"]
    assert finding["consequence"] == "refused" and result.exit_code == 1
    assert result.only("MAR304") == []  # the weights themselves are right


def test_repack_renames_the_weights_and_the_manifest_together(tmp_path, mlp_model):
    spec = renamed(mlp_model, "tabular-symbol.json", "tabular_v2-0003.params", "tabular")
    source, fixed = spec.write(tmp_path / "m.model"), tmp_path / "fixed.model"
    run_cli("repack", "--unsafe-fixes", "-o", str(fixed), str(source))
    with zipfile.ZipFile(fixed) as archive:
        assert "tabular-0003.params" in archive.namelist()
        manifest = json.loads(archive.read("MANIFEST.json"))
    assert manifest["Model"]["Parameters"] == "tabular-0003.params"
    assert check(fixed).findings == []
