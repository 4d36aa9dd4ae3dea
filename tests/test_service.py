"""MAR401 service-invalid and MAR402 service-class: service files as users write them,
parsed with `ast` and never run."""

from __future__ import annotations

from builders import VISION_SERVICE, ArchiveSpec
from conftest import check

# What MMS 0.4's own `mms/model_service/mxnet_model_service.py` defines, abridged: copying it
# into a model folder (the default for application/json) gives MMS two leaf classes (§1.8).
DEFAULT_MODEL_SERVICE_COPY = '''\
"""`MXNetBaseService` defines the fundamental loading model and inference
   operations when serving MXNet model. This is a base class and needs to be
   inherited."""
import json
import os

import mxnet as mx
from mms.model_service.model_service import SingleNodeService


class MXNetBaseService(SingleNodeService):
    def __init__(self, model_name, model_dir, manifest, gpu=None):
        super(MXNetBaseService, self).__init__(model_name, model_dir, manifest, gpu)

    def _inference(self, data):
        self.mx_model.forward(mx.io.DataBatch(data))
        return self.mx_model.get_outputs()


class GluonImperativeBaseService(SingleNodeService):
    def __init__(self, model_name, model_dir, manifest, net=None, gpu=None):
        super(GluonImperativeBaseService, self).__init__(model_name, model_dir, manifest, gpu)
'''


def with_service(model, source: str, **changes) -> ArchiveSpec:
    spec = ArchiveSpec(model, drop={"service.py"}, **changes)
    spec.extra.append(("service.py", source))
    return spec


def test_default_services_and_own_hierarchies_are_clean(tmp_path, mlp_model, cnn_model):
    own_base = '''\
from mms.model_service import mxnet_vision_service as vision


class CompanyVisionService(vision.MXNetVisionService):
    """Shared preprocessing for all our image models."""


class DigitsService(CompanyVisionService):
    pass
'''
    for name, spec in {
        "json": ArchiveSpec(mlp_model),
        "vision": ArchiveSpec(cnn_model),
        "hierarchy": with_service(cnn_model, own_base),
    }.items():
        result = check(spec.write(tmp_path / f"{name}.model"))
        assert result.only("MAR401") + result.only("MAR402") == [], name


def test_service_without_a_service_class(tmp_path, mlp_model):
    source = """\
import mxnet as mx


class TabularService(object):
    def inference(self, data):
        return data
"""
    result = check(with_service(mlp_model, source).write(tmp_path / "m.model"))
    [finding] = result.only("MAR402")
    assert finding["message"] == "no class derives from SingleNodeService"
    assert finding["member"] == "service.py" and result.exit_code == 1


def test_two_leaf_classes(tmp_path, mlp_model):
    source = """\
from mms.model_service.mxnet_model_service import MXNetBaseService


class TabularService(MXNetBaseService):
    pass


class TabularServiceV2(MXNetBaseService):
    pass
"""
    [finding] = check(with_service(mlp_model, source).write(tmp_path / "m.model")).only("MAR402")
    assert finding["message"].startswith(
        "2 classes derive from SingleNodeService with no subclass (TabularService, "
        "TabularServiceV2): MMS 0.4.0 needs exactly one"
    )


def test_copy_of_the_default_json_service(tmp_path, mlp_model):
    spec = with_service(mlp_model, DEFAULT_MODEL_SERVICE_COPY)
    spec.drop.add("service.py")
    [finding] = check(spec.write(tmp_path / "m.model")).only("MAR402")
    assert "(GluonImperativeBaseService, MXNetBaseService)" in finding["message"]
    # MMS 1.x's legacy loader does not fail: it quietly takes the imperative class.
    [legacy] = check(tmp_path / "m.model", args=("--mms-version", "1.0")).only("MAR402")
    assert legacy["message"] == (
        "MMS 1.x's legacy loader instantiates the first class in alphabetical order, "
        "GluonImperativeBaseService, of GluonImperativeBaseService, MXNetBaseService"
    )
    # MMS 0.3 knows no Gluon services: the copy's MXNetBaseService is the one class.
    assert check(tmp_path / "m.model", args=("--mms-version", "0.3")).only("MAR402") == []


def test_mms_015_picks_the_last_class_alphabetically(tmp_path, cnn_model):
    path = ArchiveSpec(cnn_model).write(tmp_path / "m.model")
    [finding] = check(path, args=("--mms-version", "0.1.5")).only("MAR402")
    assert "the imported MXNetVisionService, not ClassifierService" in finding["message"]
    renamed = VISION_SERVICE.replace("ClassifierService", "VisionClassifier")
    later = with_service(cnn_model, renamed).write(tmp_path / "later.model")
    assert check(later, args=("--mms-version", "0.1.5")).only("MAR402") == []


def test_syntax_error_with_line_and_column(tmp_path, mlp_model):
    source = "from mms.model_service.mxnet_model_service import MXNetBaseService\n\n\nclass TabularService(MXNetBaseService)\n    pass\n"
    result = check(with_service(mlp_model, source).write(tmp_path / "m.model"))
    [finding] = result.only("MAR401")
    assert finding["message"] == "not valid Python 3: expected ':' (line 4, column 39)"
    assert finding["location"] == "4:39" and result.only("MAR402") == []


def test_python2_service(tmp_path, mlp_model):
    source = VISION_SERVICE + '\n\ndef log(message):\n    print "service:", message\n'
    [finding] = check(with_service(mlp_model, source).write(tmp_path / "m.model")).only("MAR401")
    assert "Missing parentheses in call to 'print'" in finding["message"]
    assert finding["location"] == "13:5"


def test_service_code_is_never_run(tmp_path, mlp_model):
    marker = tmp_path / "service-ran"
    source = f"""\
import pathlib
pathlib.Path({str(marker)!r}).write_text("ran")
raise SystemExit(3)
from mms.model_service.mxnet_model_service import MXNetBaseService


class TabularService(MXNetBaseService):
    pass
"""
    result = check(with_service(mlp_model, source).write(tmp_path / "m.model"))
    assert not marker.exists() and result.exit_code == 0


def test_no_service_file(tmp_path, mlp_model):
    spec = ArchiveSpec(mlp_model, drop={"service.py"})
    del spec.manifest["Model"]["Service"]
    [finding] = check(spec.write(tmp_path / "m.model")).only("MAR401")
    assert finding["message"] == "the archive has no service .py file"


def test_vision_service_for_a_flat_input(tmp_path, mlp_model):
    spec = with_service(mlp_model, VISION_SERVICE, signature={"input_type": "image/jpeg"})
    result = check(spec.write(tmp_path / "m.model"))
    [finding] = result.only("MAR402")
    assert finding["member"] == "signature.json" and finding["location"] == "/inputs/0/data_shape"
    assert finding["message"] == (
        "ClassifierService is a vision service, which resizes images to data_shape[2:] and "
        "feeds NCHW batches: input 'data' needs 4 dimensions like [0, 3, 224, 224], not [0, 12]"
    )


def test_huge_service_file_is_not_parsed(tmp_path, mlp_model):
    source = "x = 1\n" * 200_000  # 1.2 MB: its syntax tree alone would take hundreds of MB
    [finding] = check(with_service(mlp_model, source).write(tmp_path / "m.model")).only("MAR401")
    assert finding["message"] == (
        "not checked: 1,200,000 bytes, too large for a service file (mar-lint parses up to "
        "1,048,576: max-service-bytes)"
    )
