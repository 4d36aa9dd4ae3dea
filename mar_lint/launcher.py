"""The `mar-lint` process: what it does before its command line is parsed and after the
command has finished. The console script and `python -m mar_lint` start here; tests call
`mar_lint.cli.main` in-process instead, and nothing below changes what a command reports.

Before: the working folder (perhaps the hostile model folder) leaves the import path, and
`mar-lint check BIG.model` starts reading the archive's weights (mar_lint.crc_pass) before
click, the command and its rules import: some 60 ms of a run that is mostly that read.

After: Python's shutdown runs the cyclic garbage collector over every object the process
ever made, 30-40 ms once the rules, jsonschema and the graph engine are loaded, to free
memory the operating system takes back a moment later anyway. Frozen, those objects are
skipped. Nothing of ours waits on that collection: files are closed by `with` blocks, and the
interpreter flushes the standard streams whatever the collector does.

No `from __future__ import annotations` here or in mar_lint.syspath: under `python -m
mar_lint` the working folder is still first on the import path until `scrub_import_path()`
has run, and `__future__` is a module like any other.
"""

import gc
import sys

from mar_lint.syspath import scrub_import_path


def main() -> None:
    """`mar-lint ARGS`: the command line (`mar_lint.cli.main`) with the set-up around it."""
    scrub_import_path()  # before anything but `gc`, `sys`, `os` and mar_lint.syspath imports
    if sys.argv[1:2] == ["check"]:
        from mar_lint.crc_pass import start_before_parsing

        start_before_parsing(sys.argv[2:])
    from mar_lint.cli import main as command_line

    try:
        command_line()
    finally:
        gc.freeze()
