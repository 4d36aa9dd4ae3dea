"""Benchmark: every hostile case of issue 15 through `check`, `explore --format json` and
`explore --extract`, each in a fresh process.

The cases are built at run time in a temporary folder by the builders the tests use:
`tests/hostile_cases.py` (part A: import isolation, sizes, depth, regexes, JSON reading) and,
when it exists, `tests/hostile_zip_cases.py` (part B: zip structure). Each command runs as the
installed `mar-lint` script, from the folder that holds the case (a model folder is checked as
`.`), as pre-commit and people run it.

Per case and command it prints the wall time and the peak RSS of the whole process tree (the
MXNet sandbox included): the largest sum of the tree's proportional set sizes (PSS: shared
library pages split among the processes that map them) sampled from /proc every 20 ms, or
the largest single process's peak RSS from `wait4`, whichever is larger. It flags:
- crash: a traceback, or an exit status other than 0 or 1;
- hang: no exit within 60 s (the process group is killed);
- code ran: a module planted in the checked folder wrote its sentinel file;
- over target: more than 300 MB or 10 s.
`+base s` is the time over the clean sample's run of the same command (the first case): on
a loaded machine the absolute figures mostly measure the load and MXNet's start-up, the
difference what the hostile input itself costs. Exit status 1 when anything is flagged.

    .venv/bin/python benchmarks/hostile.py [CASE ...]
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the case builders; never a case's own folder

MAR_LINT = Path(sys.executable).with_name("mar-lint")
TARGET_MB, TARGET_S, TIMEOUT_S = 300, 10.0, 60.0
PAGE = os.sysconf("SC_PAGE_SIZE")


def all_cases() -> dict[str, Callable[[Path], Path]]:
    cases: dict[str, Callable[[Path], Path]] = {}
    for module in ("hostile_cases", "hostile_zip_cases"):
        try:
            cases.update(importlib.import_module(module).CASES)
        except ImportError:
            print(f"({module} not found: its cases are left out)")
    return cases


def resident(pid: int) -> int:
    """The process's proportional set size (shared pages split among their users, so the
    libraries a parent and its child share are not counted twice), else its RSS."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    try:
        with open(f"/proc/{pid}/statm") as statm:
            return int(statm.read().split()[1]) * PAGE
    except (OSError, ValueError, IndexError):
        return 0


def tree_rss(root: int) -> int:
    """Bytes resident in `root` and all its descendants now."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                parents[int(entry)] = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parents.items():
            if ppid == parent and pid not in tree:
                tree.add(pid)
                frontier.append(pid)
    return sum(resident(pid) for pid in tree)


def run(command: list[str], cwd: Path) -> dict[str, object]:
    """Measure `command` from a fresh, small process: a forked child starts with its parent's
    peak RSS, and this one has built archives of hundreds of MB in memory."""
    measured = subprocess.run(
        [sys.executable, __file__, "--measure", str(cwd), *command],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(measured.stdout)


def measure(command: list[str], cwd: Path) -> dict[str, object]:
    start = time.monotonic()
    child = subprocess.Popen(
        command,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    peak, hung = 0, False
    # Drain stdout/stderr on threads so a large output never blocks the child.
    import threading

    output: dict[str, bytes] = {}

    def drain(name: str, pipe: object) -> None:
        output[name] = pipe.read()  # type: ignore[attr-defined]

    threads = [
        threading.Thread(target=drain, args=(n, p))
        for n, p in (("out", child.stdout), ("err", child.stderr))
    ]
    for thread in threads:
        thread.start()
    while True:
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() - start > TIMEOUT_S:
            hung = True
            os.killpg(child.pid, signal.SIGKILL)
            pid, status, usage = os.wait4(child.pid, 0)
            break
        peak = max(peak, tree_rss(child.pid))
        time.sleep(0.02)
    wall = time.monotonic() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    for thread in threads:
        thread.join()
    peak = max(peak, usage.ru_maxrss * 1024)
    stderr = output.get("err", b"").decode("utf-8", "replace")
    return {
        "status": child.returncode,
        "wall": wall,
        "mb": peak / 1e6,
        "hung": hung,
        "traceback": "Traceback" in stderr,
        "stderr": stderr,
    }


def main(selected: list[str]) -> int:
    from hostile_cases import SENTINEL, remove_deep  # not in the small measuring process

    cases = all_cases()
    names = selected or list(cases)
    baseline_name = next(iter(cases))  # the clean sample: what every run costs anyway
    if baseline_name not in names:
        names.insert(0, baseline_name)
    baseline: dict[str, float] = {}
    flagged = 0
    worst_mb, worst_s = 0.0, 0.0
    print(
        f"{'case':44} {'command':17} {'status':>6} {'time s':>7} {'+base s':>7} {'peak MB':>8}  flags"
    )
    with tempfile.TemporaryDirectory(prefix="mar-lint-hostile-") as scratch:
        for name in names:
            folder = Path(scratch, name)
            folder.mkdir()
            target = cases[name](folder)
            cwd = target if target.is_dir() else target.parent
            shown = "." if target.is_dir() else target.name
            commands = {
                "check": ["check", "--format", "json", shown],
                "explore --json": ["explore", "--format", "json", shown],
                "explore --extract": ["explore", "--extract", str(folder / "out"), shown],
            }
            for label, args in commands.items():
                result = run([str(MAR_LINT), *args], cwd)
                flags = []
                if result["hung"]:
                    flags.append("HANG")
                elif result["traceback"] or result["status"] not in (0, 1):
                    flags.append(f"CRASH (exit {result['status']})")
                if (folder / SENTINEL).exists():
                    flags.append("CODE RAN")
                    (folder / SENTINEL).unlink()
                if result["mb"] > TARGET_MB:  # type: ignore[operator]
                    flags.append(f"over {TARGET_MB} MB")
                if result["wall"] > TARGET_S:  # type: ignore[operator]
                    flags.append(f"over {TARGET_S:g} s")
                flagged += bool(flags)
                baseline.setdefault(label, result["wall"])  # type: ignore[arg-type]
                extra = result["wall"] - baseline[label]  # type: ignore[operator]
                worst_mb = max(worst_mb, result["mb"])  # type: ignore[type-var]
                worst_s = max(worst_s, result["wall"])  # type: ignore[type-var]
                print(
                    f"{name:44} {label:17} {result['status']:>6} {result['wall']:>7.2f} "
                    f"{extra:>+7.2f} {result['mb']:>8.0f}  {', '.join(flags)}",
                    flush=True,
                )
                if flags and (result["traceback"] or result["hung"]):
                    print("    " + str(result["stderr"])[-1500:].replace("\n", "\n    "))
            for built in (folder / "model", folder / "out"):
                if built.is_dir():
                    remove_deep(built)  # a folder 1,200 deep defeats shutil.rmtree
    runs = len(names) * 3
    print(
        f"\n{len(names)} cases, {runs} runs: {flagged} flagged; worst {worst_mb:.0f} MB, "
        f"{worst_s:.2f} s (targets: {TARGET_MB} MB, {TARGET_S:g} s)"
    )
    return 1 if flagged else 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--measure"]:
        print(json.dumps(measure(sys.argv[3:], Path(sys.argv[2]))))
        sys.exit(0)
    sys.exit(main(sys.argv[1:]))
