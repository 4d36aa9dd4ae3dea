"""Install real MMS releases into a cache and serve one archive with one, in a child process.

The MMS wheels are pure Python (Apache-2.0); `pip install --no-deps --target` puts each
release in its own folder under the cache, reused across runs. Their declared requirements
(mxnet-mkl, onnx 1.1.1) do not install on Python 3.11; the loader needs only what the
`oracle` extra and the `mxnet` extra install into our venv.

MMS runs only in `child.py`: `python -I -S`, sys.path = stdlib + the release folder + our
site-packages (never the repository, the working folder or the archive's folder), CPU-time,
address-space and file-size limits, a wall-clock timeout, and a throwaway working folder
that holds a copy of the archive (MMS extracts beside it).
"""

from __future__ import annotations

import importlib.util
import json
import os
import resource
import shutil
import subprocess
import sys
import sysconfig
import tempfile
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


def _limit_child() -> None:
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS))
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_BYTES, FILE_BYTES))
    os.setsid()  # its own process group: a timeout kills MMS and anything it started


def serve(archive: Path, release: str = "0.4", name: str | None = None) -> Verdict:
    """Load `archive` with MMS `release` the way `mxnet-model-server --models NAME=ARCHIVE`
    does, then send it one predict request; raise OracleUnavailable to skip."""
    absent = missing_runtime()
    if absent:
        raise OracleUnavailable(f"the MMS loader needs {', '.join(absent)} (install '.[oracle]')")
    mms_folder = install_mms(release)
    name = name or archive.name.removesuffix(".model")
    with tempfile.TemporaryDirectory(prefix="mms-oracle-") as scratch:
        workdir = Path(scratch)
        copy = workdir / archive.name
        if archive.is_dir():
            shutil.copytree(archive, copy)
        else:
            shutil.copyfile(archive, copy)
        request = {
            "release": release,
            "name": name,
            "archive": str(copy),
            "mms": str(mms_folder),
            "site_packages": sorted(
                {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
            ),
        }
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": scratch,
            "TMPDIR": scratch,
            "OMP_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1",
            "MXNET_ENGINE_TYPE": "NaiveEngine",
            "MPLCONFIGDIR": scratch,
        }
        child = subprocess.Popen(
            [sys.executable, "-I", "-S", str(CHILD), json.dumps(request)],
            cwd=scratch,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            preexec_fn=_limit_child,
        )
        try:
            out, err = child.communicate(timeout=WALL_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, 9)
            child.communicate()
            return Verdict(release, "timeout", False, f"no verdict in {WALL_SECONDS} s")
        lines = out.decode(errors="replace").strip().splitlines()
        if child.returncode != 0 or not lines:
            tail = err.decode(errors="replace").strip()[-800:]
            return Verdict(release, "crashed", False, f"exit {child.returncode}: {tail}")
        answer: dict[str, Any] = json.loads(lines[-1])
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
