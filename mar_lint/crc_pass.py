"""The CRC-32 of an archive's big stored members, worked out early and on every core.

Checking the CRC of a VGG16-size archive means reading 550 MB; read inline, after the rules
have loaded, it doubles the run. So the `mar-lint` process starts this pass before click has
even parsed `check`'s command line (mar_lint.launcher, `start_before_parsing`), and `check`
keeps it when one of its paths confirms the guess (`early_crc_pass`): background threads
read the members' bytes in chunks and CRC them (file reads and `zlib.crc32` release the GIL,
so they run beside the imports and the rules on another core), and whoever then needs a
member's CRC helps with the chunks left. The chunks' CRCs are joined with `crc32_combine`.

The pass only ever says "all of this member's bytes are there and their CRC-32 is the one the
zip declares", for a stored member of a local zip whose listing, placement and file are the
same ones the asking view sees. Anything else (a short read, a mismatch, an error in a thread,
other limits, another file) says nothing, and the view reads the member as it always did: the
findings are those of the sequential read by construction, and a failure here costs time only.
Memory stays bounded: each thread reads into one buffer of `_READ` bytes.
"""

from __future__ import annotations

import contextlib
import io
import os
import stat
import struct
import sys
import threading
import zlib
from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, NamedTuple

from mar_lint import zip_records

if TYPE_CHECKING:
    from pathlib import Path

    from mar_lint.archive import ArchiveView, Member

# This module is imported first of all, by mar_lint.launcher, and its pass starts before the
# rest of mar-lint imports: so it imports nothing that is not light (no zipfile, pathlib or
# dataclasses), and lists members from the zip's records itself.

MIN_MEMBER_BYTES = 32 << 20  # smaller members are read inline: a thread would not pay off
_CHUNK = 16 << 20  # the unit of work threads share; its CRCs are combined in order
_READ = 8 << 20  # one read into a thread's buffer (each thread has one)
# While the pass runs, a thread waiting for the GIL gets it after this long instead of
# Python's default 5 ms. A reading thread needs it twice per `_READ` bytes (about 4 ms of
# work), after the read and after the CRC, while the main thread holds it through imports
# and rules: every wait is time the read stands still. The number of switches is the same
# whatever the interval; only their delay shrinks.
_SWITCH_INTERVAL = 0.0001

_MAX_DIRECTORY = 1 << 20  # bytes of central directory the pass lists (10,000+ members)

_POLY = 0xEDB88320  # CRC-32 (zip, zlib), reflected


def _multiply(a: int, b: int) -> int:
    """a(x) * b(x) modulo the CRC-32 polynomial over GF(2), in reflected bit order (zlib's
    `multmodp`)."""
    product = 0
    bit = 1 << 31
    while bit:
        if a & bit:
            product ^= b
            if not a & (bit - 1):
                break
        bit >>= 1
        b = (b >> 1) ^ _POLY if b & 1 else b >> 1
    return product


@lru_cache(maxsize=64)
def _shift(length: int) -> int:
    """x^(8 * length) modulo the polynomial: the operator that appends `length` zero bytes."""
    power = 1 << 30  # x^1
    result = 1 << 31  # x^0
    bits = 8 * length
    while bits:
        if bits & 1:
            result = _multiply(power, result)
        bits >>= 1
        power = _multiply(power, power)
    return result


def crc32_combine(crc1: int, crc2: int, length2: int) -> int:
    """The CRC-32 of A + B from crc1 = crc32(A), crc2 = crc32(B) and len(B) (zlib's
    `crc32_combine`, which Python's zlib does not expose)."""
    return _multiply(_shift(length2), crc1) ^ crc2


class _Target(NamedTuple):
    """A member whose CRC the pass works out: where its bytes lie and what the zip declares."""

    member: int  # its index in the listing
    start: int  # its first data byte in the file
    size: int  # stored: its size and its compressed size
    crc: int


def _target_of(view: ArchiveView, member: Member) -> _Target | None:
    """The member as a pass target, if it is a stored member of a local zip big enough."""
    info = member.info
    if view.source is not None or view.layout is None or info is None:
        return None
    if member.compression != "stored" or member.size != member.compressed_size:
        return None
    if member.size < MIN_MEMBER_BYTES or view.refusal(member):
        return None
    start = view.layout.placements[member.index].data_start
    if start is None:
        return None
    return _Target(member.index, start, member.size, info.CRC)


def _stored_members(handle: io.FileIO, file_size: int) -> list[_Target]:
    """The big stored members of the zip open as `handle`, from the central directory its
    last end record names and their local headers: a guess at what a view of it lists (the
    view that asks compares its own, stricter listing with it; see `_covers`). A directory
    bigger than `_MAX_DIRECTORY` (thousands of members) is not listed at all."""
    place = zip_records.read_directory_place(handle, file_size)
    if place is None or place.size > _MAX_DIRECTORY:
        return []
    handle.seek(place.offset)
    entries = zip_records.central_entries(handle.read(place.size), place.entries)
    found = []
    for index, entry in enumerate(entries):
        if (
            entry is None
            or entry.method != 0  # stored
            or entry.flags & 0x1  # encrypted
            or entry.size != entry.compressed_size
            or entry.size < MIN_MEMBER_BYTES
        ):
            continue
        try:
            start = zip_records.read_data_start(handle, entry.header_offset)
        except (OSError, OverflowError):  # an offset no file has: the view reports it
            continue
        if start is not None:
            found.append(_Target(index, start, entry.size, entry.crc))
    return found


def _disjoint(targets: list[_Target], file_size: int) -> list[_Target]:
    """`targets` without those that end past the file (a truncated member: the sequential
    read reports it) or overlap one that starts before: a view refuses overlapping members,
    and thousands of directory entries naming one blob must not make the pass CRC it
    thousands of times. What is left adds up to the file's size at most."""
    kept: list[_Target] = []
    for target in sorted(targets, key=lambda t: t.start):
        fits = target.start + target.size <= file_size
        if fits and (not kept or kept[-1].start + kept[-1].size <= target.start):
            kept.append(target)
    return kept


def _open_unbuffered(path: Path | str) -> io.FileIO:
    """`path` open for reading, unbuffered; never blocks on a FIFO swapped in for the file."""
    flags = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0)
    return os.fdopen(os.open(path, flags), "rb", buffering=0)


def _identity(facts: os.stat_result) -> tuple[int, int, int, int]:
    return facts.st_dev, facts.st_ino, facts.st_size, facts.st_mtime_ns


class _Broken(Exception):
    """The pass cannot vouch for anything: it says nothing, and views read as before."""


class CrcPass:
    """The CRC-32 of the big stored members of the zip at `path`, in `workers` threads
    (none: the constructor lists the targets, and whoever asks reads them all)."""

    def __init__(self, path: Path | str, workers: int = 1) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._done = threading.Condition(self._lock)
        self._listed = threading.Event()
        self._targets: dict[int, _Target] = {}
        self._identity: tuple[int, int, int, int] | None = None
        self._chunks: list[tuple[int, int, int]] = []  # (member index, file offset, length)
        self._crcs: list[int | None] = []
        self._next = 0  # the first chunk nobody took yet
        self._working = 0  # chunks taken and not finished
        self._broken = False
        self._stopped = False
        self._threads = [
            threading.Thread(target=self._run, args=(n == 0,), name=f"mar-lint-crc-{n}")
            for n in range(workers)
        ]
        try:
            for thread in self._threads:
                thread.daemon = True  # a run that ends early never waits for the pass
                thread.start()
        except BaseException:  # no thread to be had: none of them may outlive this
            self.close()
            raise
        if not self._threads:
            self._run(lists=True, works=False)

    # -- the threads -----------------------------------------------------------------------

    def _run(self, lists: bool, works: bool = True) -> None:
        try:
            if lists:
                try:
                    self._list()
                finally:
                    self._listed.set()
            self._listed.wait()
            if works:
                self._work()
        except BaseException:  # noqa: BLE001 - any failure only means the pass says nothing
            self._break()

    def _list(self) -> None:
        """The targets and their chunks."""
        with self._open() as handle:
            end = os.fstat(handle.fileno()).st_size
            targets = _disjoint(_stored_members(handle, end), end)
        chunks = [
            (target.member, target.start + offset, min(_CHUNK, target.size - offset))
            for target in targets
            for offset in range(0, target.size, _CHUNK)
        ]
        with self._lock:
            self._targets = {t.member: t for t in targets}
            self._chunks = chunks
            self._crcs = [None] * len(chunks)

    def _open(self) -> io.FileIO:
        """A new unbuffered handle of the file, the same file every time (or _Broken)."""
        handle = _open_unbuffered(self.path)
        try:
            facts = os.fstat(handle.fileno())
            if not stat.S_ISREG(facts.st_mode):
                raise _Broken("not a regular file")
            with self._lock:
                if self._identity is None:
                    self._identity = _identity(facts)
                elif self._identity != _identity(facts):
                    raise _Broken("the file was replaced")
        except BaseException:
            handle.close()
            raise
        return handle

    def _work(self) -> None:
        """Take chunks until none is left; each is read into this thread's buffer and CRC'd."""
        taken = self._take()
        if taken is None:
            return
        buffer = memoryview(bytearray(_READ))
        with self._open() as handle:
            while taken is not None:
                number, (_, offset, length) = taken
                crc = 0
                handle.seek(offset)
                while length:
                    if self._stopped:
                        raise _Broken("stopped")
                    count = handle.readinto(buffer[: min(length, _READ)])
                    if not count:
                        raise _Broken("the file ends early")
                    crc = zlib.crc32(buffer[:count], crc)
                    length -= count
                with self._lock:
                    self._crcs[number] = crc
                    self._working -= 1
                    self._done.notify_all()
                taken = self._take()

    def _take(self) -> tuple[int, tuple[int, int, int]] | None:
        with self._lock:
            if self._broken or self._next >= len(self._chunks):
                return None
            number = self._next
            self._next += 1
            self._working += 1
            return number, self._chunks[number]

    def _break(self) -> None:
        with self._lock:
            self._broken = True
            self._done.notify_all()

    # -- whoever asks ----------------------------------------------------------------------

    def _covers(self, view: ArchiveView, member: Member) -> _Target | None:
        self._listed.wait()
        target = self._targets.get(member.index)
        return target if target is not None and target == _target_of(view, member) else None

    def pending(self, view: ArchiveView, member: Member) -> bool:
        """Whether the pass covers `member` and has not finished yet."""
        if self._covers(view, member) is None:
            return False
        with self._lock:
            return not self._broken and (self._working > 0 or self._next < len(self._chunks))

    def held(self, view: ArchiveView, member: Member) -> bool:
        """Whether every byte of `member` (of `view`) is in the file and their CRC-32 is the
        one the zip declares. The calling thread helps with the chunks left first."""
        target = self._covers(view, member)
        if target is None:
            return False
        try:
            if _identity(os.stat(view.path)) != self._identity:
                return False
            self._work()
        except Exception:  # noqa: BLE001 - the pass says nothing; the view reads as before
            self._break()
        with self._lock:
            while self._working and not self._broken:
                self._done.wait()
            if self._broken:
                return False
            crcs = [
                (crc, length)
                for (index, _, length), crc in zip(self._chunks, self._crcs)
                if index == member.index
            ]
        combined = 0
        for crc, length in crcs:
            if crc is None:
                return False
            combined = crc32_combine(combined, crc, length)
        return combined == target.crc

    def close(self) -> None:
        """Stop the threads (each within one read) and wait for them."""
        self._stopped = True
        for thread in self._threads:
            if thread.ident is not None:  # started
                thread.join()


class CrcPending(BaseException):
    """Raised instead of waiting for the pass, inside `deferring()`: the runner sets the rule
    that asked aside and runs it again after the others. A BaseException, like GeneratorExit,
    so that no rule's `except Exception` mistakes it for a fault of the archive."""


# The pass of the run in progress (one at a time: see `early_crc_pass`), and the switch
# interval to restore when it stops.
_active: CrcPass | None = None
_interval_before: float | None = None
_thread = threading.local()  # .defers: this thread runs rules that can be run again later


@contextlib.contextmanager
def deferring() -> Iterator[None]:
    """While active, a wait for the pass in this thread raises CrcPending instead."""
    before = getattr(_thread, "defers", False)
    _thread.defers = True
    try:
        yield
    finally:
        _thread.defers = before


def crc_held(view: ArchiveView, member: Member, *, may_defer: bool = False) -> bool:
    """Whether the early pass has read all of `member` and found the CRC-32 the zip declares
    (then nobody needs to read it again to check it); False when it cannot tell. With
    `may_defer`, inside `deferring()`, raises CrcPending rather than wait for the pass."""
    crc_pass = _active
    if crc_pass is None or member.size < MIN_MEMBER_BYTES:
        return False
    if may_defer and getattr(_thread, "defers", False) and crc_pass.pending(view, member):
        raise CrcPending
    return crc_pass.held(view, member)


def _usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _may_hold_big_members(path: Path | str) -> bool:
    """Whether `path` is a regular file big enough to hold a big member and ends with a zip's
    end record: a model folder's `.params` file, which pre-commit passes too, does not."""
    try:
        facts = os.stat(path)
        if not stat.S_ISREG(facts.st_mode) or facts.st_size < MIN_MEMBER_BYTES:
            return False
        with _open_unbuffered(path) as handle:
            return zip_records.read_directory_place(handle, facts.st_size) is not None
    except (OSError, OverflowError, struct.error):
        return False  # the run reports it


def _same_file(first: Path | str, second: Path | str) -> bool:
    """Whether both name one file (`./a.model` and `a.model`, or a link and its target)."""
    try:
        return os.path.samefile(first, second)
    except OSError:
        return False


def _start(path: Path | str) -> CrcPass:
    global _active, _interval_before
    _active = CrcPass(path, workers=max(1, min(_usable_cpus() - 1, 3)))
    _interval_before = sys.getswitchinterval()
    sys.setswitchinterval(min(_interval_before, _SWITCH_INTERVAL))
    return _active


def stop() -> None:
    """Stop the pass of this run (its threads end within one read) and forget it: at the end
    of the run, and before a fork, which must not copy threads in the middle of their work."""
    global _active, _interval_before
    crc_pass, _active = _active, None
    if crc_pass is not None:
        crc_pass.close()
    if _interval_before is not None:
        sys.setswitchinterval(_interval_before)
        _interval_before = None


def start_before_parsing(args: Sequence[str]) -> None:
    """Start the pass for `mar-lint check ARGS` before click has parsed them (see
    mar_lint.launcher): on the first argument that names a zip which may hold big members.
    A guess, since an option's value may look like a path; `early_crc_pass` keeps the pass
    only when the parsed command line confirms it, and stops it otherwise."""
    if _active is not None:
        return
    for arg in args:
        if not arg.startswith("-") and _may_hold_big_members(arg):
            with contextlib.suppress(RuntimeError):  # no thread to be had: nothing started
                _start(arg)
            return


@contextlib.contextmanager
def early_crc_pass(paths: Sequence[Path | str], jobs: int) -> Iterator[None]:
    """While active, the big stored members of one of `paths` (a local zip file) are CRC'd
    in the background, one thread per core but one (the main thread helps when it asks): the
    file the pass started before parsing picked, if it is one of `paths`, else the first of
    them that is such a zip. Not when the run may fork worker processes (`jobs` other than 1
    with several paths): a fork must not copy a process with threads in the middle of their
    work."""
    may_fork = jobs != 1 and len(paths) > 1
    local = [path for path in paths if not isinstance(path, str)]  # str: a URL
    if _active is not None and (may_fork or not any(_same_file(_active.path, p) for p in local)):
        stop()  # a guess the command line did not confirm
    if _active is None:
        found = None if may_fork else next(filter(_may_hold_big_members, local), None)
        if found is None:
            yield
            return
        try:
            _start(found)
        except RuntimeError:  # no thread to be had: the run reads as it always did
            yield
            return
    try:
        yield
    finally:
        stop()
