"""Serve one archive with a real MMS 0.x release, in this (child) process, and print a verdict.

Run only by `harness.serve`, as `python -I -S child.py REQUEST_JSON`: no site, no script
folder, no working folder on sys.path; the parent sets sys.path entries, limits and the
throwaway working folder. The archive's service file is code, so this process is the only
one that ever imports it.

The verdict is one JSON object on the original stdout; everything MMS or the service prints
goes to stderr. Stages, in MMS's order: load (extract, manifest, files), service-import,
service-class, init, endpoints, request.
"""

import json
import os
import sys


def main() -> None:
    request = json.loads(sys.argv[1])
    verdict_fd = os.dup(1)
    os.dup2(2, 1)  # MMS prints INFO lines on stdout; keep stdout for the verdict alone
    # Our stdlib stays; the MMS release and the venv's packages are the only additions.
    sys.path[:] = [p for p in sys.path if p and "site-packages" not in p]
    sys.path += [request["mms"], *request["site_packages"]]
    try:
        verdict = serve(request)
    except BaseException as exc:  # noqa: BLE001 - the harness itself failed: say so
        verdict = {"stage": "harness", "ok": False, "error": describe(exc)}
    with os.fdopen(verdict_fd, "w") as out:
        out.write(json.dumps(verdict, default=str) + "\n")
    os._exit(0)  # MMS and MXNet leave threads behind; the verdict is written


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:2000]


def install_shims() -> None:
    """The three aliases 2018 MMS needs on Python 3.11 / Werkzeug 3; none changes a decision."""
    import base64
    import time

    base64.decodestring = base64.decodebytes
    time.clock = time.process_time
    from mms.request_handler import flask_handler

    def multi_value_dict(mapping=(), **kwargs):
        # Werkzeug 0.x: dict(request.form) gave {name: [values]}; MMS then takes v[0].
        if hasattr(mapping, "getlist"):
            return {key: mapping.getlist(key) for key in mapping}
        return dict(mapping, **kwargs)

    flask_handler.dict = multi_value_dict


def load_stage(exc: BaseException) -> str:
    text = str(exc)
    if "Failed to open model file" in text:
        return "extract"
    if "Failed to open manifest" in text or type(exc).__name__ == "ValidationError":
        return "manifest"
    return "files"


def choose_class(release: str, class_defs: list) -> type:
    """The class selection of `MMS._arg_process`, per release (inline code there)."""
    if release == "0.1.5":
        if len(class_defs) < 1:
            raise Exception("User defined module must derive base ModelService.")
        return class_defs[-1]
    leaves = [c for c in class_defs if len(c.__subclasses__()) == 0]
    if len(leaves) != 1:
        raise Exception("There should be one user defined service derived from ModelService.")
    return leaves[0]


def request_body(signature: dict) -> dict:
    """One predict request: a JPEG of the signature's H x W per image input, else zeros."""
    import io

    body = {}
    for entry in signature["inputs"]:
        shape = [int(d) or 1 for d in entry["data_shape"]]
        if signature["input_type"] == "image/jpeg":
            from PIL import Image

            height, width = (shape[2:4] + [32, 32])[:2] if len(shape) >= 4 else (32, 32)
            picture = io.BytesIO()
            Image.new("RGB", (width, height), (120, 60, 200)).save(picture, "JPEG")
            body[entry["data_name"]] = (io.BytesIO(picture.getvalue()), "x.jpg", "image/jpeg")
        else:
            zeros = 0.0
            for dim in reversed(shape):
                zeros = [zeros] * dim
            body[entry["data_name"]] = json.dumps(zeros)
    return body


def serve(request: dict) -> dict:
    import logging

    errors: list = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.levelno >= logging.ERROR:
                errors.append(record.getMessage()[-2000:])

    logging.getLogger().addHandler(Keep())
    release, name = request["release"], request["name"]
    stage = "import-mms"
    try:
        install_shims()
        from mms.model_loader import ModelLoader
        from mms.serving_frontend import ServingFrontend

        stage = "load"
        try:
            models = ModelLoader.load({name: request["archive"]})
        except BaseException as exc:
            return {"stage": load_stage(exc), "ok": False, "error": describe(exc)}
        manifest, model_dir = models[0][3], models[0][2]
        frontend = ServingFrontend("mms")
        stage = "service-import"
        service_file = os.path.join(model_dir, manifest["Model"]["Service"])
        try:
            class_defs = frontend.register_module(service_file)
        except AssertionError as exc:  # imported, but no SingleNodeService subclass in it
            return {"stage": "service-class", "ok": False, "error": describe(exc)}
        stage = "service-class"
        chosen = choose_class(release, class_defs)
        stage = "init"
        model_class = frontend.get_registered_modelservices()[chosen.__name__]
        frontend.load_models(models, model_class, None)
        stage = "endpoints"
        frontend.setup_openapi_endpoints("127.0.0.1", 8080)
        stage = "request"
        service = frontend.get_loaded_modelservices()[name]
        client = frontend.handler.app.test_client()
        response = client.post(
            f"/{name}/predict",
            data=request_body(service.signature),
            content_type="multipart/form-data",
        )
    except BaseException as exc:  # noqa: BLE001 - any failure is MMS's verdict at this stage
        return {"stage": stage, "ok": False, "error": describe(exc), "logged": errors[-3:]}
    if response.status_code != 200:
        return {
            "stage": "request",
            "ok": False,
            "status": response.status_code,
            "error": errors[-1] if errors else response.get_data(as_text=True)[:2000],
            "class": chosen.__name__,
        }
    return {
        "stage": "served",
        "ok": True,
        "status": 200,
        "class": chosen.__name__,
        "response": response.get_data(as_text=True)[:2000],
    }


if __name__ == "__main__":
    main()
