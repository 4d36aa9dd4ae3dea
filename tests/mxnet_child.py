"""Ask real MXNet 1.9.1 about graphs, in a child process with time and memory limits.

The child is started with `python -I` (no cwd, no user site on sys.path) and reads one JSON
request per line: {"symbol": <graph JSON text>, "shapes": {name: [dims]}, "dtypes": {name: dtype}}.
It answers what `list_arguments`/`list_auxiliary_states`/`list_outputs`,
`infer_shape_partial` and `infer_type_partial` say, or the error MXNet raised.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
from typing import Any

CHILD = r"""
import json, re, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
import mxnet as mx
import numpy as np

def message(exc):
    # Without the stack trace and the [HH:MM:SS] stamp: a recorded answer replays exactly.
    return re.sub(r"\[\d\d:\d\d:\d\d\] ", "", str(exc).split("Stack trace")[0])[-400:]

def shape(s):
    return None if s is None else [int(d) for d in s]

def dtype(t):
    return None if t is None else np.dtype(t).name

def export(request):
    # A gluon vision zoo network exported as users export it (random weights).
    from mxnet.gluon.model_zoo import vision
    mx.random.seed(7)
    net = vision.get_model(request["export"], pretrained=False)
    net.initialize(mx.init.Xavier())
    net.hybridize()
    net(mx.nd.random.uniform(shape=tuple(request["shape"])))
    prefix = request["dir"] + "/" + request["export"].replace(".", "_")
    net.export(prefix, epoch=0)
    with open(prefix + "-symbol.json") as f:
        return {"symbol": f.read()}

def answer(request):
    if "export" in request:
        return export(request)
    out = {}
    try:
        sym = mx.sym.load_json(request["symbol"])
        args = sym.list_arguments()
        out.update(arguments=args, auxiliary_states=sym.list_auxiliary_states(), outputs=sym.list_outputs())
    except Exception as exc:
        return {"load_error": message(exc)}
    known = {k: tuple(v) for k, v in request["shapes"].items() if k in args}
    try:
        a, o, x = sym.infer_shape_partial(**known)
        out.update(arg_shapes=[shape(s) for s in a], output_shapes=[shape(s) for s in o], aux_shapes=[shape(s) for s in x])
    except Exception as exc:
        out["infer_error"] = message(exc)
        return out
    if request.get("dtypes") is None:
        return out
    types = {k: v for k, v in request["dtypes"].items() if k in args}
    try:
        a, o, x = sym.infer_type_partial(**types)
        out.update(arg_dtypes=[dtype(t) for t in a], output_dtypes=[dtype(t) for t in o], aux_dtypes=[dtype(t) for t in x])
    except Exception as exc:
        out["type_error"] = message(exc)
    return out

for line in sys.stdin:
    sys.stdout.write(json.dumps(answer(json.loads(line))) + "\n")
    sys.stdout.flush()
"""


class MXNetOracle:
    """One child process answering many requests; restarted if it dies."""

    def __init__(self, python: str = sys.executable, timeout: float = 120.0) -> None:
        self.python = python
        self.timeout = timeout
        self.child: subprocess.Popen[str] | None = None

    def _start(self) -> subprocess.Popen[str]:
        if self.child is None or self.child.poll() is not None:
            env = dict(os.environ, OMP_NUM_THREADS="1", MXNET_ENGINE_TYPE="NaiveEngine")
            self.child = subprocess.Popen(
                [self.python, "-I", "-c", CHILD],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
                env=env,
                cwd="/",
            )
        return self.child

    def _request(self, request: dict[str, Any]) -> dict[str, Any] | None:
        """Send one request; the answer, or None when the child died or overran its time."""
        child = self._start()
        child.stdin.write(json.dumps(request) + "\n")  # type: ignore[union-attr]
        child.stdin.flush()  # type: ignore[union-attr]
        ready, _, _ = select.select([child.stdout], [], [], self.timeout)
        line = child.stdout.readline() if ready else ""  # type: ignore[union-attr]
        if not line:
            self.close()
            return None
        return json.loads(line)

    def ask(
        self, symbol: str, shapes: dict[str, Any], dtypes: dict[str, str] | None = None
    ) -> dict[str, Any]:
        answer = self._request({"symbol": symbol, "shapes": shapes, "dtypes": dtypes})
        return {"crash": True} if answer is None else answer

    def export_zoo(self, name: str, shape: list[int], directory: str) -> str:
        """Export `mxnet.gluon.model_zoo.vision.get_model(name)` into `directory`; its graph."""
        answer = self._request({"export": name, "shape": shape, "dir": directory})
        if answer is None:
            raise RuntimeError(f"MXNet gave no answer exporting {name}")
        return answer["symbol"]

    def close(self) -> None:
        if self.child is not None:
            self.child.kill()
            self.child.wait()
            self.child = None


def engine_answer(
    symbol: str, shapes: dict[str, Any], dtypes: dict[str, str] | None = None
) -> dict[str, Any]:
    """The native engine's answer in the oracle's format, so the two compare with `==`."""
    from mar_lint.shapes.infer import infer

    result = infer(json.loads(symbol), {k: tuple(v) for k, v in shapes.items()}, dtypes or {})
    if result.unmodelled:
        return {"unmodelled": list(result.unmodelled)}
    if result.load_error:
        return {"load_error": result.load_error}
    out: dict[str, Any] = {
        "arguments": list(result.arguments),
        "auxiliary_states": list(result.auxiliary_states),
        "outputs": list(result.outputs),
    }
    if result.infer_error:
        out["infer_error"] = result.infer_error
        return out
    out.update(
        arg_shapes=[list(result.arg_shapes[a]) for a in result.arguments],
        output_shapes=[list(s) for s in result.output_shapes],
        aux_shapes=[list(result.aux_shapes[a]) for a in result.auxiliary_states],
    )
    if dtypes is not None and result.type_error:
        out["type_error"] = result.type_error
    elif dtypes is not None:
        out.update(
            arg_dtypes=[result.arg_dtypes[a] for a in result.arguments],
            output_dtypes=list(result.output_dtypes),
            aux_dtypes=[result.aux_dtypes[a] for a in result.auxiliary_states],
        )
    return out


def comparable(answer: dict[str, Any]) -> dict[str, Any]:
    """What must agree: errors count as agreeing whatever their wording (an error from both)."""
    if "load_error" in answer:
        return {"error": True}
    kept = {k: v for k, v in answer.items() if k not in ("infer_error", "type_error")}
    if "infer_error" in answer:
        kept = {"error": True}
    if "type_error" in answer:
        kept = {k: v for k, v in kept.items() if not k.endswith("_dtypes")}
    return kept
