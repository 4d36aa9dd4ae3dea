"""The service file: does it parse, and will MMS find exactly one service class in it?

The file is parsed with `ast`, never imported or run: the class MMS would pick is worked out
from the class statements and imports alone.
"""

from __future__ import annotations

from collections.abc import Iterator

from mar_lint.findings import Consequence, Problem, json_pointer
from mar_lint.model import ModelView
from mar_lint.registry import rule
from mar_lint.signatures import shaped_entries
from mar_lint.text import plural

# MMS's image services: their `_preprocess` decodes each JPEG to 3 channels, resizes it to
# `data_shape[2:]` and feeds a [1, 3, H, W] batch (mms-loader.md, "vision service").
IMAGE_PREPROCESS = ("MXNetVisionService", "GluonVisionService")
# Stock `_preprocess` methods that cannot feed the stock `_inference` on Python 3: the MXNet
# base returns `map(...)`, the Gluon base returns nothing; `check_input_shape` then asserts a
# list ("Input data must be a list").
UNUSABLE_PREPROCESS = {
    "MXNetBaseService": "returns `map(mx.nd.array, data)`, an iterator on Python 3",
    "GluonImperativeBaseService": "returns nothing (`pass`)",
}
CHECKING_INFERENCE = ("MXNetBaseService", "GluonImperativeBaseService")


@rule(
    "MAR401",
    "service-invalid",
    "error",
    "the service file is missing from the archive or is not valid Python",
    consequence=Consequence.REFUSED,
)
def service_invalid(view: ModelView) -> Iterator[Problem]:
    """Why it matters: MMS imports the service file named by `Model.Service` when it loads the
    model; a file that is not there or does not compile stops the model ("Incorrect or missing
    service file", or a raw traceback). mar-lint parses the file with Python's `ast` and never
    imports or runs it. MMS 0.x also ran on Python 2.7; mar-lint checks Python 3 syntax, which
    MMS 1.x and every supported Python need.

    Example: a service file with a syntax error:

        class ResnetService(MXNetVisionService):
            def _postprocess(self, data)
                return data

    Fix: correct the syntax error at the line and column given, or package the service file the
    manifest names.
    """
    member = view.model_file("Service")
    if member is None:
        if "Service" in view.references:
            return  # MAR102 or MAR103 reports the reference
        scripts = sorted(base for base in view.flattened() if base.endswith(".py"))
        if not scripts:
            yield Problem("the archive has no service .py file")
        else:
            yield Problem(
                f"{len(scripts)} .py files ({', '.join(scripts[:6])}) and the manifest names "
                "none as `Model.Service`"
            )
        return
    service = view.service
    if service is not None and service.error:
        yield Problem(service.error, member=member.name, location=_line_column(service.error))


def _line_column(problem: str) -> str | None:
    """'... (line 3, column 5)' -> '3:5', the way compilers point at source."""
    if "(line " not in problem:
        return None
    line, _, column = problem.rsplit("(line ", 1)[1].rstrip(")").partition(", column ")
    return f"{line}:{column}" if column else line


@rule(
    "MAR402",
    "service-class",
    "error",
    "MMS will not find exactly one service class, or picks another class than yours",
    consequence=Consequence.REFUSED,
)
def service_class(view: ModelView) -> Iterator[Problem]:
    """Why it matters: MMS picks the service class by inheritance, not by name: MMS 0.2-0.4 take
    the one class deriving from `MXNetBaseService` (0.4: `SingleNodeService`) that nothing
    derives from, and refuse the model when there are none or several ("There should be one
    user defined service derived from ModelService."); MMS 0.1.5 takes the last one in
    alphabetical order, imported MMS classes included; MMS 1.x's legacy loader the first class
    defined in the file. There MMS loads the model and runs another class than yours. A copy of
    MMS's `mxnet_model_service.py` defines two such classes.

    Example: two service classes, neither derived from the other:

        class ResnetService(MXNetVisionService):
            ...

        class DebugService(MXNetVisionService):
            ...

    Fix: define exactly one class deriving (directly or through your own classes) from
    `MXNetBaseService`, `MXNetVisionService` or, on MMS 0.4, the Gluon services.
    """
    service, selection = view.service, view.service_selection
    if service is None or selection is None or not selection.problem:
        return
    # With a chosen class the release loads the model and runs another class than yours.
    wrong_class = Consequence.WRONG_ANSWERS if selection.chosen is not None else None
    yield Problem(selection.problem, member=service.member_name, consequence=wrong_class)


@rule(
    "MAR403",
    "inherited-preprocess",
    "error",
    "the service class inherits a stock _preprocess that cannot feed the model on Python 3",
    consequence=Consequence.REQUESTS_FAIL,
)
def inherited_preprocess(view: ModelView) -> Iterator[Problem]:
    """Why it matters: `MXNetBaseService._preprocess` returns `map(mx.nd.array, data)`: a list on
    Python 2, an iterator on Python 3, where the stock `_inference` asserts a list, so every
    request fails ("Input data must be a list"). `GluonImperativeBaseService._preprocess`
    returns nothing, with the same end. A method that only returns `super()._preprocess(data)`
    runs the same code.

    Example: a service that keeps the stock `_preprocess`:

        from mms.model_service.mxnet_model_service import MXNetBaseService

        class TabularService(MXNetBaseService):
            pass

    Fix: override `_preprocess` and return a list, e.g.
    `return [mx.nd.array(item) for item in data]`.
    """
    service = view.service_class
    if service is None:
        return
    provider = service.provider("_preprocess")
    if provider in UNUSABLE_PREPROCESS and service.provider("_inference") in CHECKING_INFERENCE:
        yield Problem(
            f"{service.name} inherits {provider}._preprocess, which "
            f"{UNUSABLE_PREPROCESS[provider]}: every request fails on Python 3 "
            '("Input data must be a list")',
            member=service.member_name,
            location=str(service.line) if service.line else None,
            hint="override _preprocess to return a list of NDArrays",
        )


@rule(
    "MAR404",
    "image-input",
    "error",
    "the stock image _preprocess cannot feed an input: it needs 4-D NCHW and 3 channels",
    consequence=Consequence.REQUESTS_FAIL,
)
def image_input(view: ModelView) -> Iterator[Problem]:
    """Why it matters: the stock vision services (`MXNetVisionService`, `GluonVisionService`)
    decode every JPEG to 3 channels (RGB), resize it to `data_shape[2:]` and feed a
    [1, 3, H, W] batch. An input that is not 4-D, or whose channel dimension is not 3, fails
    every request, unless the class overrides `_preprocess`.

    Example: a grey-scale model served by `class MnistService(MXNetVisionService): pass`:

        "inputs": [{"data_name": "data", "data_shape": [0, 1, 28, 28]}]

    Fix: override `_preprocess` to decode the way the model wants (e.g.
    `image.read(jpeg, flag=0)` for grey-scale), or give the model 3-channel NCHW inputs.
    """
    service, signature = view.service_class, view.signature.object
    provider = service.provider("_preprocess") if service else None
    if service is None or provider not in IMAGE_PREPROCESS or signature is None:
        return
    for index, entry in shaped_entries(signature.value, "inputs"):
        shape, name = entry["data_shape"], entry.get("data_name")
        if len(shape) != 4:
            problem = f"needs 4 dimensions like [0, 3, 224, 224], not {shape}"
        elif shape[1] != 3:
            channels = shape[1]
            said = (
                plural(channels, "channel") if isinstance(channels, int) else f"{channels} channels"
            )
            problem = f"has {said} in {shape}, and every image arrives with 3"
        else:
            continue
        yield Problem(
            f"{service.name} inherits {provider}._preprocess, which decodes every "
            f"image to a [1, 3, H, W] batch: input {name!r} {problem}",
            member=signature.member.name,
            location=json_pointer("inputs", index, "data_shape"),
        )
