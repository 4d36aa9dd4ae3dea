"""Install real MMS releases into a cache and serve one archive with one, in a child process.

The MMS wheels are pure Python (Apache-2.0); `pip install --no-deps --target` puts each
release in its own folder under the cache, reused across runs. Their declared requirements
(mxnet-mkl, onnx 1.1.1) do not install on Python 3.11; the loader needs only what the
`oracle` extra and the `mxnet` extra install into our venv.

MMS runs only in `child.py` processes: `python -I -S`, sys.path = stdlib + the release folder
+ our site-packages (never the repository, the working folder or the archive's folder). Each
imports MXNet and MMS once and forks one child per archive, which runs under CPU-time,
address-space and file-size limits and a wall-clock deadline, in a throwaway working folder
that holds a copy of the archive (MMS extracts beside it). The verdict comes from the same
process as the service code, so a hostile service could forge it: the oracle judges archives
the tests build, and only the limits stand between a hostile one and the machine.
"""

from __future__ import annotations

import atexit
import importlib.util
import json
import os
import resource
import select
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RELEASES = ("0.1.5", "0.3", "0.4")
RUNTIME_MODULES = ("mxnet", "PIL", "flask", "flask_cors", "psutil", "requests", "jsonschema")
CHILD = Path(__file__).with_name("child.py")
CPU_SECONDS = 120
WALL_SECONDS = 180
MEMORY_BYTES = 4 << 30
FILE_BYTES = 256 << 20


class OracleUnavailable(Exception):
    """MMS or a module its loader needs cannot be had here (offline, no mxnet): skip."""


def cache_root() -> Path:
    base = os.environ.get("MAR_LINT_TEST_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache", "mar-lint-tests"
    )
    return Path(base)


def install_mms(release: str) -> Path:
    """The folder holding release `release`'s `mms` package, installed once from the registry."""
    target = cache_root() / f"mms-{release}"
    if (target / "mms" / "model_loader.py").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".mms-{release}-", dir=target.parent))
    try:
        command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps"]
        command += ["--no-compile", "--target", str(staging), f"mxnet-model-server=={release}"]
        done = subprocess.run(command, capture_output=True, text=True, timeout=300)
        if done.returncode != 0 or not (staging / "mms" / "model_loader.py").is_file():
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            raise OracleUnavailable(
                f"pip could not install mxnet-model-server=={release}: {tail[0]}"
            )
        try:
            staging.rename(target)  # atomic: a concurrent run either wins or finds it there
        except OSError:
            if not (target / "mms" / "model_loader.py").is_file():
                raise
    except subprocess.TimeoutExpired as exc:
        raise OracleUnavailable(f"pip timed out installing mxnet-model-server=={release}") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def missing_runtime() -> list[str]:
    """Modules MMS's loader imports that this environment lacks (found, never imported)."""
    return [name for name in RUNTIME_MODULES if importlib.util.find_spec(name) is None]


@dataclass(frozen=True)
class Verdict:
    """What MMS did with an archive: the stage it stopped at, or "served" with its answer."""

    release: str
    stage: str
    ok: bool
    error: str = ""
    status: int | None = None
    response: str = ""
    service_class: str = ""

    @property
    def refused_or_failed(self) -> bool:
        return not self.ok

    def __str__(self) -> str:
        if self.ok:
            return f"MMS {self.release} served it ({self.service_class}): {self.response[:200]}"
        return f"MMS {self.release} failed at {self.stage}: {self.error[:600]}"


class _Zygote:
    """One `child.py` process for one MMS release: MXNet and MMS imported once, one forked
    child per archive (see child.py)."""

    def __init__(self, release: str) -> None:
        self.release = release
        self.scratch = tempfile.mkdtemp(prefix=f"mms-{release}-oracle-")
        self.log = tempfile.TemporaryFile(dir=self.scratch)
        config = {
            "release": release,
            "mms": str(install_mms(release)),
            "site_packages": sorted(
                {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
            ),
            "wall_seconds": WALL_SECONDS,
        }
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": self.scratch,
            "TMPDIR": self.scratch,
            "OMP_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1",
            "MXNET_ENGINE_TYPE": "NaiveEngine",
        }
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-S", str(CHILD), json.dumps(config)],
            cwd=self.scratch,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            preexec_fn=_limit_zygote,
        )

    def serve(self, workdir: Path, archive: Path, name: str, cpu_seconds: int) -> dict[str, Any]:
        limits = {"RLIMIT_CPU": cpu_seconds, "RLIMIT_AS": MEMORY_BYTES, "RLIMIT_FSIZE": FILE_BYTES}
        request = {"workdir": str(workdir), "archive": str(archive), "name": name, "limits": limits}
        try:
            self.process.stdin.write(json.dumps(request).encode() + b"\n")  # type: ignore[union-attr]
            self.process.stdin.flush()  # type: ignore[union-attr]
        except OSError:
            return self._died()
        stdout = self.process.stdout
        ready, _, _ = select.select([stdout], [], [], WALL_SECONDS + 30)
        line = stdout.readline() if ready else b""  # type: ignore[union-attr]
        if not line:
            return self._died()
        return json.loads(line)

    def _died(self) -> dict[str, Any]:
        self.close()
        self.log.seek(0, os.SEEK_END)
        self.log.seek(max(0, self.log.tell() - 800))
        tail = self.log.read().decode(errors="replace")
        return {"stage": "crashed", "ok": False, "error": f"the MMS process died: {tail}"}

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self) -> None:
        if self.alive:
            self.process.kill()
        self.process.wait()
        shutil.rmtree(self.scratch, ignore_errors=True)


def _limit_zygote() -> None:
    # The forked children set their own CPU and memory limits; these bound the zygote.
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS * 20, CPU_SECONDS * 20))
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_BYTES, FILE_BYTES))


class _Pool:
    """Idle zygotes per release; a thread takes one (or starts one) for each archive."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.idle: dict[str, list[_Zygote]] = {}
        self.every: list[_Zygote] = []
        atexit.register(self.close)

    def take(self, release: str) -> _Zygote:
        with self.lock:
            idle = self.idle.setdefault(release, [])
            while idle:
                zygote = idle.pop()
                if zygote.alive:
                    return zygote
        zygote = _Zygote(release)
        with self.lock:
            self.every.append(zygote)
        return zygote

    def give_back(self, zygote: _Zygote) -> None:
        if zygote.alive:
            with self.lock:
                self.idle[zygote.release].append(zygote)

    def close(self) -> None:
        for zygote in self.every:
            zygote.close()


_POOL = _Pool()


def serve(
    archive: Path, release: str = "0.4", name: str | None = None, cpu_seconds: int = CPU_SECONDS
) -> Verdict:
    """Load `archive` with MMS `release` the way `mxnet-model-server --models NAME=ARCHIVE`
    does, then send it one predict request; raise OracleUnavailable to skip."""
    absent = missing_runtime()
    if absent:
        raise OracleUnavailable(f"the MMS loader needs {', '.join(absent)} (install '.[oracle]')")
    name = name or archive.name.removesuffix(".model")
    with tempfile.TemporaryDirectory(prefix="mms-oracle-") as scratch:
        workdir = Path(scratch)
        copy = workdir / archive.name  # MMS extracts beside the archive, so it gets a folder
        if archive.is_dir():
            shutil.copytree(archive, copy)
        else:
            shutil.copyfile(archive, copy)
        zygote = _POOL.take(release)
        try:
            answer = zygote.serve(workdir, copy, name, cpu_seconds)
        finally:
            _POOL.give_back(zygote)
    if answer["stage"] == "harness":
        raise AssertionError(f"the oracle harness failed, not MMS: {answer['error']}")
    return Verdict(
        release=release,
        stage=answer["stage"],
        ok=answer["ok"],
        error=answer.get("error", ""),
        status=answer.get("status"),
        response=answer.get("response", ""),
        service_class=answer.get("class", ""),
    )
