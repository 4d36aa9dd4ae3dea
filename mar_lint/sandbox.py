"""Run untrusted work (MXNet graph loading, archive-supplied JSON Schemas) in a child process.

MXNet's native code can abort the process on crafted graph JSON, allocate without bound, or
hang; a hostile schema can carry a catastrophic regular expression. The child runs under an
address-space limit and every request has a deadline, so a crash, a hang or an out-of-memory
becomes a `SandboxFailure` the parent turns into a finding, and the parent goes on.

The child is started on first use and serves every request of the run (importing mxnet once),
so checking many archives pays for one import. It is restarted after a failure.
"""

from __future__ import annotations

import collections
import json
import os
import re
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any, Callable

from mar_lint.findings import json_pointer
from mar_lint.syspath import import_path

# The child's first line: replace the isolated interpreter's default import path with ours
# (it may need PYTHONPATH's folders, which -I ignores), then run. Only the standard library
# is imported before that, from the interpreter's own folders.
_CHILD_BOOT = (
    "import json, sys; sys.path[:] = json.loads(sys.argv[1]); "
    "from mar_lint.sandbox import _child_main; "
    "_child_main(int(sys.argv[2]), '--preload-mxnet' in sys.argv[3:])"
)


def isolated_python(code: str, *args: str) -> list[str]:
    """The command line of a Python child of ours running `code`: isolated mode (-I: no
    PYTHONPATH or user site, neither the working folder nor a script's folder on sys.path),
    with our import path as its first argument. Start it with a private working folder."""
    return [sys.executable, "-I", "-c", code, json.dumps(import_path()), *args]


class SandboxFailure(Exception):
    """The child crashed, hung, ran out of memory or could not start."""


class MXNetUnavailable(Exception):
    """mxnet cannot be imported here; rules that need it are skipped, and the run says so."""


def mxnet_installed() -> bool:
    """Whether this interpreter has an mxnet package to start the sandbox with (found, not
    imported: importing it costs seconds, and happens only in the child)."""
    import importlib.util  # asked only when MXNet may be needed, never on the default path

    return importlib.util.find_spec("mxnet") is not None


class Sandbox:
    def __init__(self, timeout: float = 120.0, memory: int = 4 << 30) -> None:
        self.timeout = timeout
        self.memory = memory
        self._child: subprocess.Popen[bytes] | None = None
        self._folder: str | None = None  # the child's private working folder
        self._stderr: collections.deque[bytes] = collections.deque(maxlen=64)
        self._turn = threading.Lock()  # threads checking remote archives share one child

    def run(self, task: str, **payload: Any) -> dict[str, Any]:
        """Send one task to the child and return its answer, or raise SandboxFailure."""
        with self._turn:
            return self._run(task, payload)

    def _run(self, task: str, payload: dict[str, Any]) -> dict[str, Any]:
        child = self._ensure_child()
        request = json.dumps({"task": task, "payload": payload}).encode() + b"\n"
        try:
            child.stdin.write(request)  # type: ignore[union-attr]
            child.stdin.flush()  # type: ignore[union-attr]
            line = self._read_line(child, time.monotonic() + self.timeout)
        except (BrokenPipeError, OSError):
            line = None
        if line is None:
            raise SandboxFailure(self._post_mortem(child))
        answer = json.loads(line)
        if answer.get("memory_error"):
            raise SandboxFailure(f"ran out of memory (limit {self.memory >> 20} MiB)")
        if "mxnet_unavailable" in answer:
            raise MXNetUnavailable(answer["mxnet_unavailable"])
        return answer

    def close(self) -> None:
        if self._child is not None:
            self._child.kill()
            self._child.wait()
            for pipe in (self._child.stdin, self._child.stdout, self._child.stderr):
                if pipe is not None:
                    pipe.close()
            self._child = None
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def start(self, preload_mxnet: bool = False) -> None:
        """Start the child now instead of at the first request; with `preload_mxnet` it
        imports mxnet (about 1.5 s) while the parent opens and checks the archive."""
        self._ensure_child(preload_mxnet)

    def _ensure_child(self, preload_mxnet: bool = False) -> subprocess.Popen[bytes]:
        if self._child is None or self._child.poll() is not None:
            env = dict(
                os.environ,
                OMP_NUM_THREADS="1",
                OPENBLAS_NUM_THREADS="1",
                MXNET_ENGINE_TYPE="NaiveEngine",
            )
            if self._folder is None:
                self._folder = tempfile.mkdtemp(prefix="mar-lint-sandbox-")
            # Never `-m` in the caller's folder: that would put the checked folder first on
            # the child's sys.path, and its json.py would run there.
            self._child = subprocess.Popen(
                isolated_python(_CHILD_BOOT, str(self.memory))
                + (["--preload-mxnet"] if preload_mxnet else []),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
                cwd=self._folder,
            )
            self._stderr.clear()
            threading.Thread(target=self._drain, args=(self._child.stderr,), daemon=True).start()
        return self._child

    def _drain(self, pipe: Any) -> None:
        # MXNet logs upgrade warnings and crash backtraces on stderr; keep the tail for
        # post-mortems, and keep reading so the child never blocks on a full pipe.
        for line in iter(pipe.readline, b""):
            self._stderr.append(line)

    @staticmethod
    def _read_line(child: subprocess.Popen[bytes], deadline: float) -> bytes | None:
        fd = child.stdout.fileno()  # type: ignore[union-attr]
        chunks: list[bytes] = []
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not selector.select(remaining):
                    return None
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    return None
                chunks.append(chunk)
                if chunk.endswith(b"\n"):
                    return b"".join(chunks)

    def _post_mortem(self, child: subprocess.Popen[bytes]) -> str:
        """Say why the child gave no answer, and stop it so the next request starts afresh."""
        try:
            code = child.wait(timeout=0.5)
        except subprocess.TimeoutExpired:
            self.close()
            return f"gave no answer within {self.timeout:g} s (killed)"
        time.sleep(0.05)  # let the drain thread collect the last lines
        tail = b"".join(self._stderr).decode("utf-8", "replace")
        self.close()
        if "MemoryError" in tail or "bad_alloc" in tail or "allocate" in tail.lower():
            return f"ran out of memory (limit {self.memory >> 20} MiB)"
        if code < 0:
            return f"crashed with signal {signal.Signals(-code).name}"
        if "Segmentation fault" in tail:
            return "crashed with a segmentation fault"
        return f"exited with status {code}"


# -- the child ---------------------------------------------------------------------------------


_MXNET_LOG_PREFIX = re.compile(r"\[\d\d:\d\d:\d\d\] \S+:\d+: (Check failed: )?")


def _clean_mxnet_error(exc: BaseException) -> str:
    """The first meaningful line of an MXNet error, without the C++ stack trace."""
    text = str(exc).split("Stack trace", 1)[0].strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    message = lines[-1] if lines else type(exc).__name__
    # "[09:07:26] ../src/operator/tensor/init_op.h:318: Check failed: ..." -> "..."
    message = _MXNET_LOG_PREFIX.sub("", message).removeprefix("MXNetError: ")
    return message[:500]


def _shape(value: Any) -> list[int] | None:
    if value is None:
        return None
    return [int(dim) for dim in value]


def analyse_graph(symbol_json: str, input_shapes: dict[str, list[int]]) -> dict[str, Any]:
    """Load a graph with MXNet and infer shapes from the given inputs (runs in the child)."""
    try:
        import mxnet as mx
    except Exception as exc:  # noqa: BLE001 - any import failure means "unavailable"
        return {"mxnet_unavailable": f"mxnet cannot be imported: {exc}"}
    result: dict[str, Any] = {"mxnet_version": mx.__version__}
    try:
        symbol = mx.sym.load_json(symbol_json)
        arguments = symbol.list_arguments()
        result.update(
            arguments=arguments,
            auxiliary_states=symbol.list_auxiliary_states(),
            outputs=symbol.list_outputs(),
        )
    except Exception as exc:  # noqa: BLE001 - MXNetError, UnicodeDecodeError on empty text...
        return dict(result, load_error=_clean_mxnet_error(exc))
    known = {name: tuple(shape) for name, shape in input_shapes.items() if name in arguments}
    try:
        arg_shapes, out_shapes, aux_shapes = symbol.infer_shape_partial(**known)
    except Exception as exc:  # noqa: BLE001
        return dict(result, infer_error=_clean_mxnet_error(exc))
    if arg_shapes is None:
        return dict(result, infer_error="MXNet could not infer shapes")
    result.update(
        arg_shapes=dict(zip(arguments, map(_shape, arg_shapes))),
        aux_shapes=dict(zip(result["auxiliary_states"], map(_shape, aux_shapes))),
        output_shapes=[_shape(s) for s in out_shapes],
    )
    return result


def analyse_internals(symbol_json: str, input_shapes: dict[str, list[int]]) -> dict[str, Any]:
    """Every node output of a graph with its inferred shape, for drawing it (runs in the
    child): {"outputs": [{"node", "output", "shape"}]}; shapes are None when unknown."""
    try:
        import mxnet as mx
    except Exception as exc:  # noqa: BLE001 - any import failure means "unavailable"
        return {"mxnet_unavailable": f"mxnet cannot be imported: {exc}"}
    result: dict[str, Any] = {"mxnet_version": mx.__version__}
    try:
        internals = mx.sym.load_json(symbol_json).get_internals()
        names = internals.list_outputs()
        nodes = [internals[i].name for i in range(len(names))]
        arguments = set(internals.list_arguments())
    except Exception as exc:  # noqa: BLE001
        return dict(result, load_error=_clean_mxnet_error(exc))
    shapes: list[Any] = [None] * len(names)
    known = {name: tuple(shape) for name, shape in input_shapes.items() if name in arguments}
    try:
        _, out_shapes, _ = internals.infer_shape_partial(**known)
        shapes = [_shape(s) for s in out_shapes] if out_shapes is not None else shapes
    except Exception as exc:  # noqa: BLE001
        result["infer_error"] = _clean_mxnet_error(exc)
    result["outputs"] = [
        {"node": node, "output": name, "shape": shape}
        for node, name, shape in zip(nodes, names, shapes)
    ]
    return result


def validate_with_schema(instance: Any, schema: Any) -> dict[str, Any]:
    """Validate against an archive-supplied JSON Schema (runs in the child)."""
    import jsonschema

    try:
        validator_class = jsonschema.validators.validator_for(schema, jsonschema.Draft4Validator)
        validator_class.check_schema(schema)
    except jsonschema.SchemaError as exc:
        return {"schema_error": f"{exc.message} at {json_pointer(*exc.absolute_path)}"}
    except Exception as exc:  # noqa: BLE001 - a schema that is not even an object, etc.
        return {"schema_error": str(exc)[:500]}
    errors = []
    try:
        for error in validator_class(schema).iter_errors(instance):
            errors.append({"pointer": json_pointer(*error.absolute_path), "message": error.message})
            if len(errors) >= 50:
                break
    except Exception as exc:  # noqa: BLE001 - unresolvable $ref and the like
        return {"schema_error": f"cannot validate with it: {str(exc)[:300]}"}
    return {"errors": errors}


# Each task takes its request's payload as keyword arguments and answers a JSON-able value.
TASKS: dict[str, Callable[..., Any]] = {
    "graph": analyse_graph,
    "internals": analyse_internals,
    "schema": validate_with_schema,
}


def _child_main(memory: int, preload_mxnet: bool) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    if preload_mxnet:
        try:
            import mxnet  # noqa: F401
        except Exception:  # noqa: BLE001, S110 - the graph task reports the failure itself
            pass
    out = sys.stdout.buffer
    for line in sys.stdin.buffer:
        request = json.loads(line)
        try:
            answer = TASKS[request["task"]](**request["payload"])
        except MemoryError:
            answer = {"memory_error": True}
        out.write(json.dumps(answer).encode() + b"\n")
        out.flush()
