"""MAR401 service-invalid and MAR402 service-class: service files as users write them,
parsed with `ast` and never run."""

from __future__ import annotations

import pytest
from builders import GREY_VISION_SERVICE, VISION_SERVICE, ArchiveSpec
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
    assert finding["consequence"] == "refused"


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
    assert "the imported MXNetVisionService, not DigitsService" in finding["message"]
    # MMS 0.1.5 loads the model and runs the stock class: not refused, wrong answers.
    assert finding["consequence"] == "wrong-answers"
    renamed = GREY_VISION_SERVICE.replace("DigitsService", "VisionDigits")
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
    def _preprocess(self, data):
        return list(data)
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
    [finding] = result.only("MAR404")
    assert finding["member"] == "signature.json" and finding["location"] == "/inputs/0/data_shape"
    assert finding["message"] == (
        "ClassifierService inherits MXNetVisionService._preprocess, which decodes every image "
        "to a [1, 3, H, W] batch: input 'data' needs 4 dimensions like [0, 3, 224, 224], "
        "not [0, 12]"
    )
    assert result.only("MAR402") == [] and result.exit_code == 1


def test_huge_service_file_is_not_parsed(tmp_path, mlp_model):
    source = "x = 1\n" * 200_000  # 1.2 MB: its syntax tree alone would take hundreds of MB
    [finding] = check(with_service(mlp_model, source).write(tmp_path / "m.model")).only("MAR401")
    assert finding["message"] == (
        "not checked: 1,200,000 bytes, too large for a service file (mar-lint parses up to "
        "1,048,576: max-service-bytes)"
    )


@pytest.mark.parametrize(
    ("body", "provider"),
    [
        ("    pass\n", "MXNetBaseService"),
        (
            "    def _preprocess(self, data):\n"
            '        """Delegates: runs the stock method."""\n'
            "        return super(TabularService, self)._preprocess(data)\n",
            "MXNetBaseService",
        ),
    ],
    ids=["inherited", "delegating"],
)
def test_python3_preprocess_trap(tmp_path, mlp_model, body, provider):
    source = (
        "from mms.model_service.mxnet_model_service import MXNetBaseService\n\n\n"
        f"class TabularService(MXNetBaseService):\n{body}"
    )
    result = check(with_service(mlp_model, source).write(tmp_path / "m.model"))
    [finding] = result.only("MAR403")
    assert finding["message"] == (
        f"TabularService inherits {provider}._preprocess, which returns "
        "`map(mx.nd.array, data)`, an iterator on Python 3: every request fails on Python 3 "
        '("Input data must be a list")'
    )
    assert finding["member"] == "service.py" and finding["location"] == "4"
    assert result.exit_code == 1


def test_own_preprocess_or_inference_escapes_the_trap(tmp_path, mlp_model):
    base = "from mms.model_service.mxnet_model_service import MXNetBaseService\n\n\n"
    for name, body in {
        "own-preprocess": "    def _preprocess(self, data):\n        return list(data)\n",
        "own-inference": "    def _inference(self, data):\n        return list(data)\n",
        "mixin-first": None,
    }.items():
        if body is None:  # a mixin's _preprocess comes first in the method order
            source = base + (
                "class ListInput(object):\n    def _preprocess(self, data):\n"
                "        return list(data)\n\n\n"
                "class TabularService(ListInput, MXNetBaseService):\n    pass\n"
            )
        else:
            source = base + f"class TabularService(MXNetBaseService):\n{body}"
        result = check(with_service(mlp_model, source).write(tmp_path / f"{name}.model"))
        assert result.only("MAR403") == [], name


def test_grey_scale_model_behind_the_stock_vision_service(tmp_path, cnn_model):
    # MXNetVisionService decodes every JPEG to 3 channels: a [N, 1, 28, 28] graph fails
    # every request (the README's old "correct" sample did).
    spec = with_service(cnn_model, VISION_SERVICE)
    result = check(spec.write(tmp_path / "m.model"))
    [finding] = result.only("MAR404")
    assert finding["message"] == (
        "ClassifierService inherits MXNetVisionService._preprocess, which decodes every image "
        "to a [1, 3, H, W] batch: input 'data' has 1 channel in [0, 1, 28, 28], and every "
        "image arrives with 3"
    )
    assert finding["location"] == "/inputs/0/data_shape" and result.exit_code == 1
    # The same model with its own grey-scale _preprocess is served.
    assert check(ArchiveSpec(cnn_model).write(tmp_path / "grey.model")).findings == []


def test_rgb_model_behind_the_stock_vision_service_is_clean(tmp_path, resnet_model):
    result = check(ArchiveSpec(resnet_model).write(tmp_path / "m.model"))
    assert result.only("MAR404") + result.only("MAR403") + result.only("MAR602") == []


def test_gluon_vision_service_decodes_rgb_too(tmp_path, cnn_model):
    source = (
        "from mms.model_service.gluon_vision_service import GluonVisionService\n\n\n"
        "class DigitsService(GluonVisionService):\n    pass\n"
    )
    [finding] = check(with_service(cnn_model, source).write(tmp_path / "m.model")).only("MAR404")
    assert finding["message"].startswith("DigitsService inherits GluonVisionService._preprocess")
