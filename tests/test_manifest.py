"""MAR101 manifest-missing, MAR102 manifest-schema, MAR103 missing-reference."""

from __future__ import annotations

import json
from pathlib import Path

import conftest
import pytest
from builders import ArchiveSpec


def check(path: Path, args: tuple[str, ...] = ()) -> conftest.Result:
    """The manifest rules only: nothing here needs the graph rules (MXNet). A test that needs
    other rules calls conftest.check with its own selection."""
    return conftest.check(path, args=("--select", "MAR1", *args))


def test_no_manifest(tmp_path, mlp_model):
    result = check(ArchiveSpec(mlp_model, drop={"MANIFEST.json"}).write(tmp_path / "m.model"))
    [finding] = result.only("MAR101")
    assert "no MANIFEST.json" in finding["message"]
    assert result.exit_code == 1


def test_lowercase_manifest_is_pointed_out(tmp_path, mlp_model):
    spec = ArchiveSpec(mlp_model, drop={"MANIFEST.json"})
    spec.extra.append(("manifest.json", json.dumps(spec.manifest)))
    [finding] = check(spec.write(tmp_path / "m.model")).only("MAR101")
    assert "'manifest.json'" in finding["message"]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [("{'Model': 1}", "not valid JSON"), ('["Model"]', "JSON list"), ("\xff\xfe{", "not")],
)
def test_unparseable_manifest(tmp_path, mlp_model, text, fragment):
    spec = ArchiveSpec(mlp_model, drop={"MANIFEST.json"}, extra=[("MANIFEST.json", text)])
    [finding] = check(spec.write(tmp_path / "m.model")).only("MAR101")
    assert fragment in finding["message"]


def test_mms_015_manifest_needs_license(tmp_path, mlp_model):
    spec = ArchiveSpec(mlp_model)
    spec.manifest.update({"Model-Archive-Version": 0.1, "Model-Server": 0.1})
    path = spec.write(tmp_path / "m.model")
    assert check(path).only("MAR102") == []  # written for 0.2/0.3: valid there
    [finding] = check(path, args=("--mms-version", "0.1.5")).only("MAR102")
    assert (
        finding["message"]
        == "fails the MMS 0.1.5 manifest schema at /: 'License' is a required property"
    )
    assert finding["location"] == ""


def test_model_server_as_string_fails_every_legacy_release(tmp_path, mlp_model):
    spec = ArchiveSpec(mlp_model, manifest={"Model-Server": "0.4"})
    [finding] = check(spec.write(tmp_path / "m.model")).only("MAR102")
    assert finding["location"] == "/Model-Server"
    assert (
        "'0.4' is not of type 'number'" in finding["message"] and "MMS 0.4.0" in finding["message"]
    )


def test_gluon_manifest_without_symbol_passes_04_but_not_03(tmp_path, mlp_model):
    spec = ArchiveSpec(mlp_model)
    del spec.manifest["Model"]["Symbol"]
    path = spec.write(tmp_path / "m.model")
    assert check(path).only("MAR102") == []
    [finding] = check(path, args=("--mms-version", "0.3")).only("MAR102")
    assert (
        finding["location"] == "/Model" and "'Symbol' is a required property" in finding["message"]
    )


def test_mms_1x_needs_only_model_service(tmp_path, mlp_model):
    spec = ArchiveSpec(mlp_model)
    del spec.manifest["Model-Server"]
    path = spec.write(tmp_path / "m.model")
    assert check(path, args=("--mms-version", "1.1.2")).only("MAR102") == []
    assert check(path, args=("--mms-version", "0.4")).only("MAR102")


def test_carried_schema_is_applied_and_validated(tmp_path, mlp_model):
    own = {"type": "object", "required": ["Model-Name-Alias"]}
    spec = ArchiveSpec(mlp_model, extra=[("manifest-schema.json", json.dumps(own))])
    [finding] = check(spec.write(tmp_path / "m.model")).only("MAR102")
    assert "archive's own manifest-schema.json" in finding["message"]
    broken = ArchiveSpec(mlp_model, extra=[("manifest-schema.json", json.dumps({"type": 12}))])
    [finding] = check(broken.write(tmp_path / "b.model")).only("MAR102")
    assert "not a valid JSON Schema" in finding["message"]


def test_carried_schema_with_remote_ref_fetches_nothing(tmp_path, mlp_model):
    own = {"$ref": "http://127.0.0.1:9/schema.json"}
    spec = ArchiveSpec(mlp_model, extra=[("manifest-schema.json", json.dumps(own))])
    [finding] = check(spec.write(tmp_path / "m.model")).only("MAR102")
    assert "manifest-schema.json" in finding["message"]


def test_reference_to_a_missing_file_suggests_the_real_one(tmp_path, mlp_model):
    spec = ArchiveSpec(mlp_model)
    spec.manifest["Model"]["Symbol"] = "model-symbol.json"  # renamed when the model was retrained
    result = check(spec.write(tmp_path / "m.model"))
    [finding] = result.only("MAR103")
    assert finding["location"] == "/Model/Symbol"
    assert (
        "'model-symbol.json', which is not in the archive; did you mean 'tabular-symbol.json'"
        in finding["message"]
    )
    assert finding["fixable"]


def test_reference_with_folder_is_flattened_by_mms(tmp_path, mlp_model):
    spec = ArchiveSpec(mlp_model, drop={"service.py"})
    spec.extra.append(("code/service.py", "class X: pass\n"))
    spec.manifest["Model"]["Service"] = "code/service.py"
    [finding] = check(spec.write(tmp_path / "m.model")).only("MAR103")
    assert "base name" in finding["message"]


def test_glob_reference_matching_two_files(tmp_path, mlp_model):
    spec = ArchiveSpec(mlp_model, extra=[("tabular-0001.params", mlp_model.params)])
    spec.manifest["Model"]["Parameters"] = "*.params"
    [finding] = check(spec.write(tmp_path / "m.model")).only("MAR103")
    assert "matches 2 files" in finding["message"]


def test_nested_member_is_found_by_basename_like_mms(tmp_path, mlp_model):
    spec = ArchiveSpec(mlp_model, drop={"synset.txt", "service.py"})
    spec.extra.append(("src/service.py", "class X: pass\n"))
    assert check(spec.write(tmp_path / "m.model")).only("MAR103") == []


def test_explicit_model_server_wins_over_the_license_guess(tmp_path, mlp_model):
    # `License` alone means MMS 0.1.5, but `"Model-Server": 0.4` says which release it is
    # for: MMS 0.4 serves a manifest without `Parameters` and refuses two leaf classes.
    spec = ArchiveSpec(mlp_model, manifest={"License": "Apache 2.0"})
    del spec.manifest["Model"]["Parameters"]
    spec.drop.add("service.py")
    spec.extra.append(
        (
            "service.py",
            "import mxnet as mx\n"
            "from mms.model_service.mxnet_model_service import MXNetBaseService\n\n\n"
            "class TabularService(MXNetBaseService):\n"
            "    def _preprocess(self, data):\n        return [mx.nd.array(d) for d in data]\n\n\n"
            "class TabularServiceV2(MXNetBaseService):\n"
            "    def _preprocess(self, data):\n        return [mx.nd.array(d) for d in data]\n",
        )
    )
    result = conftest.check(spec.write(tmp_path / "m.model"), args=("--select", "MAR1,MAR4"))
    [archive] = result.document["archives"]
    assert archive["mms_release"] == "0.4.0"
    assert result.only("MAR102") == []
    [finding] = result.only("MAR402")
    assert finding["message"].startswith("2 classes derive from SingleNodeService")


@pytest.mark.parametrize(
    ("fields", "release"),
    [
        ({"License": "Apache 2.0", "Model-Server": 0.1, "Model-Archive-Version": 0.1}, "0.1.5"),
        ({"Model-Server": 0.1, "Model-Archive-Version": 0.1}, "0.3.0"),
        ({"Model-Server": 0.1, "Model-Archive-Version": 0.2}, "0.4.0"),
        ({"License": "Apache 2.0", "Model-Server": 0.3}, "0.3.0"),
        ({"Model-Server": "0.4", "Model-Archive-Version": 0.1}, "0.4.0"),
    ],
)
def test_release_detection(tmp_path, mlp_model, fields, release):
    result = check(ArchiveSpec(mlp_model, manifest=fields).write(tmp_path / "m.model"))
    assert result.document["archives"][0]["mms_release"] == release


def test_parameters_reference_mms_only_warns_about(tmp_path, mlp_model):
    # MMS prints a warning for a Parameters entry that matches no file, then loads the
    # checkpoint by the graph's prefix: tabular-0000.params is there, so the model is served.
    spec = ArchiveSpec(mlp_model)
    spec.manifest["Model"]["Parameters"] = "old-0000.params"
    result = check(spec.write(tmp_path / "m.model"))
    [finding] = result.only("MAR103")
    assert finding["message"] == (
        "Model.Parameters names 'old-0000.params', which is not in the archive; did you mean "
        "'tabular-0000.params'?; MMS only warns and loads tabular-0000.params"
    )
    assert (finding["severity"], finding["consequence"]) == ("warning", "unchecked-risk")
    assert finding["fixable"] and result.exit_code == 0
    # Epoch 5 names a checkpoint the archive lacks: MMS refuses the model.
    spec.manifest["Model"]["Parameters"] = "tabular-0005.params"
    [finding] = check(spec.write(tmp_path / "m5.model")).only("MAR103")
    assert (finding["severity"], finding["consequence"]) == ("error", "refused")
