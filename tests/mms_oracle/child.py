"""Serve archives with one real MMS 0.x release and print a verdict for each.

Run only by `harness.py`, as `python -I -S child.py CONFIG_JSON`: no site, no script folder,
no working folder on sys.path; sys.path is the stdlib, the MMS release folder and our venv's
site-packages. This process imports MXNet and MMS's own modules once (never archive code),
then reads one request per line on stdin and forks a child per archive: the child sets its
CPU-time, address-space and file-size limits, moves into the request's throwaway folder,
loads the archive the way MMS does (the service file is code: only this child imports it),
sends one predict request, and hands its verdict back through a pipe. A child that overruns
the wall-clock deadline is killed with its process group.

Verdicts are JSON lines on the original stdout; everything MMS or a service prints goes to
stderr. Stages, in MMS's order: extract, manifest, files (MMS's ModelLoader), service-import,
service-class, init, endpoints, request; "served" when the request got an answer.
"""

import json
import os
import resource
import select
import signal
import sys
import time


def main() -> None:
    config = json.loads(sys.argv[1])
    verdicts = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # MMS prints INFO lines on stdout; keep stdout for the verdicts alone
    sys.path[:] = [p for p in sys.path if p and "site-packages" not in p]
    sys.path += [config["mms"], *config["site_packages"]]
    preload()
    for line in sys.stdin:
        request = dict(config, **json.loads(line))
        verdict = fork_and_serve(request, keep_from_child=verdicts.fileno())
        verdicts.write(json.dumps(verdict, default=str) + "\n")
        verdicts.flush()


def preload() -> None:
    """MMS's and MXNet's own modules, imported once; every forked child starts with them."""
    import mxnet  # noqa: F401
    import PIL.Image  # noqa: F401 - the request path decodes and builds JPEGs

    install_shims()
    import mms.model_loader  # noqa: F401
    import mms.model_service.mxnet_vision_service  # noqa: F401
    import mms.serving_frontend  # noqa: F401


def fork_and_serve(request: dict, keep_from_child: int) -> dict:
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: limits first, then the archive
        os.close(reader)
        os.close(keep_from_child)  # the verdict stream and the request stream are ours
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        os.setsid()
        limits = request["limits"]
        for name in ("RLIMIT_CPU", "RLIMIT_AS", "RLIMIT_FSIZE"):
            resource.setrlimit(getattr(resource, name), (limits[name], limits[name]))
        try:
            os.chdir(request["workdir"])
            verdict = serve(request)
        except BaseException as exc:  # noqa: BLE001 - the harness itself failed: say so
            verdict = {"stage": "harness", "ok": False, "error": describe(exc)}
        os.write(writer, json.dumps(verdict, default=str).encode())
        os._exit(0)  # MMS and MXNet leave threads behind; the verdict is written
    os.close(writer)
    answer, deadline = b"", time.monotonic() + request["wall_seconds"]
    while True:
        ready, _, _ = select.select([reader], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            os.killpg(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.close(reader)
            return {
                "stage": "timeout",
                "ok": False,
                "error": f"no verdict in {request['wall_seconds']} s",
            }
        chunk = os.read(reader, 1 << 16)
        if not chunk:
            break
        answer += chunk
    os.close(reader)
    _, status = os.waitpid(pid, 0)
    if answer:
        return json.loads(answer)
    cause = f"signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status) else f"exit {status >> 8}"
    return {"stage": "crashed", "ok": False, "error": f"the MMS child died ({cause})"}


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
