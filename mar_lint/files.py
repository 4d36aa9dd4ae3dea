"""Writing a file so that readers see the old one or the new one, never half of either."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

TEMPORARY_PREFIX = ".mar-lint-"  # temporary files beside their target start so
# Characters of the target's name in the temporary one: a 255-byte name must still fit.
_NAME_SHOWN = 40


def default_mode() -> int:
    """The mode `open()` gives a new file: 0o666 less the umask (mkstemp's is 0o600)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextmanager
def atomic_write(target: Path, mode: int | None = None) -> Iterator[IO[bytes]]:
    """A temporary file in the target's folder that becomes `target` only when the block
    completes, with `mode` (None: the mode a new file gets, see `default_mode`).

    The rename replaces a link at `target` itself, never the file it points at. On any
    exception, KeyboardInterrupt included, the temporary file is removed and `target` is
    left as it was. Like `cp` and `zip`, it does not fsync: the rename is atomic for every
    reader; surviving a power cut right after it is left to the file system.
    """
    handle = tempfile.NamedTemporaryFile(
        "w+b",
        dir=target.parent,
        prefix=f"{TEMPORARY_PREFIX}{target.name[:_NAME_SHOWN]}.",
        suffix=".tmp",
        delete=False,
    )
    try:
        with handle:
            yield handle
        os.chmod(handle.name, default_mode() if mode is None else mode)
        os.replace(handle.name, target)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise
