"""This process's import path without the working folder (tiny: the command line imports it
before anything else, so it must not import what sandboxes need)."""

import os
import sys


def import_path() -> list[str]:
    """Where this process imports from, without the working folder: the explicit import path
    every Python child of ours gets. Relative entries ("" is the working folder) are dropped
    too: they would name whatever folder the child runs in."""
    here = os.path.realpath(os.getcwd())
    return [p for p in sys.path if os.path.isabs(p) and os.path.realpath(p) != here]


def scrub_import_path() -> None:
    """Take the working folder off this process's own import path: `python -m mar_lint` puts
    it first, and a `json.py` in a checked model folder must not shadow a module imported
    later (lazily) by mar-lint or its dependencies."""
    sys.path[:] = import_path()
