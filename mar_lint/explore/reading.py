"""The view `explore` reads through: a `ModelView` that reports every byte it reads, so a
long read can draw a progress bar."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import IO, cast

from mar_lint.archive import Member
from mar_lint.limits import MiB
from mar_lint.model import ModelView

PROGRESS_MIN_BYTES = 16 * MiB  # reads shorter than this finish before a bar is worth drawing

ReadHook = Callable[[Member, int], None]  # (member, bytes just read)


class _CountingStream(io.BufferedIOBase):
    """A member's stream that reports how much each read returned."""

    def __init__(self, raw: IO[bytes], member: Member, on_read: ReadHook) -> None:
        super().__init__()
        self._raw, self._member, self._on_read = raw, member, on_read

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        data = self._raw.read(-1 if size is None else size)
        self._on_read(self._member, len(data))
        return data

    read1 = read

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()


class ExploreView(ModelView):
    """A ModelView that reports every byte it reads to `on_read` (for a progress bar)."""

    on_read: ReadHook | None = None

    def stream(self, member: Member) -> IO[bytes]:
        handle = super().stream(member)
        if self.on_read is None:
            return handle
        # A binary file at run time; typeshed does not count BufferedIOBase as an IO[bytes].
        return cast(IO[bytes], _CountingStream(handle, member, self.on_read))

    def readable_bytes(self) -> int:
        """What reading every member mar-lint would read costs: the progress bar's total."""
        return sum(m.size for m in self.files if self.refusal(m) is None)
