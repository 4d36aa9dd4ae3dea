"""The fuzzer's child process (tests/test_fuzz.py): runs the real CLI in-process over a batch
of fuzzed archives and model folders, one MXNet sandbox for the whole batch, and prints one
JSON line per run: what a user would have seen (exit status, stdout) and any exception.

    python tests/fuzz_driver.py CASE...

For each case: `check --format json CASE`, `explore --format json CASE` and `explore CASE`.
A crash of the process itself, or a hang, is seen by the parent (no answer, a timeout).

Run as root, it first gives up its capabilities and starts again: root without
CAP_DAC_OVERRIDE is refused a file of mode 000 like any user, so the fuzzer's unreadable
files are really unreadable.
"""

from __future__ import annotations

import ctypes
import json
import os
import sys
import time
import traceback

PR_CAPBSET_DROP = 24
CAPABILITIES = 64
DROPPED = "MAR_LINT_FUZZ_DROPPED_CAPABILITIES"
COMMANDS = {
    "check": ["check", "--format", "json"],
    "explore-json": ["explore", "--format", "json"],
    "explore-text": ["explore"],
}


def drop_capabilities_and_restart() -> None:
    """Empty the bounding set, then exec again: the new image gets no capabilities."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in range(CAPABILITIES):
        libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0)
    os.environ[DROPPED] = "1"
    os.execv(sys.executable, [sys.executable, *sys.argv])


def main(cases: list[str]) -> None:
    from click.testing import CliRunner

    from mar_lint.cli import main as cli
    from mar_lint.runner import shared_sandboxes

    runner = CliRunner()
    with shared_sandboxes():
        for case in cases:
            for command, args in COMMANDS.items():
                started = time.monotonic()
                result = runner.invoke(cli, [*args, case])
                crash = None
                if result.exception is not None and not isinstance(result.exception, SystemExit):
                    crash = "".join(traceback.format_exception(*result.exc_info))[-3000:]
                line = {
                    "case": case,
                    "command": command,
                    "exit": result.exit_code,
                    "stdout": result.stdout if command != "explore-text" else "",
                    "stderr": result.stderr[-2000:],
                    "crash": crash,
                    "seconds": round(time.monotonic() - started, 3),
                }
                sys.stdout.write(json.dumps(line) + "\n")
                sys.stdout.flush()


if __name__ == "__main__":
    if os.geteuid() == 0 and not os.environ.get(DROPPED) and sys.platform == "linux":
        drop_capabilities_and_restart()
    main(sys.argv[1:])
