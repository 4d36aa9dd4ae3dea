"""What a zip's bytes say beyond what `zipfile` reports: each member's local header checked
against its central directory entry, where each member's bytes lie, and bytes no entry
accounts for.

Unzip tools disagree on which of a zip's records they trust. Python's zipfile (MMS 0.x)
reads the central directory found through the last end record; `java.util.zip.ZipInputStream`
(MMS 1.x) streams the local headers from the start of the file; Info-ZIP unzip and 7-Zip honour
the Unicode Path extra field. An archive whose records disagree is a different archive for
each of them, so every disagreement is a finding, and a member whose bytes are ambiguous is
never read. Reads here are a few fixed-size records per member plus a chunked scan of the
bytes between members (normally none), so the cost is bounded by the file's size.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from mar_lint.limits import READ_CHUNK
from mar_lint.zip_records import (
    CENTRAL_SIGNATURE,
    END_SIGNATURE,
    LOCAL,
    LOCAL_SIGNATURE,
    ZIP64_EXTRA,
    data_offset,
    extras,
    zip64_values,
)

_DESCRIPTOR_SIGNATURE = b"PK\x07\x08"
_ENCRYPTED = 0x0001 | 0x0040  # traditional and strong encryption
_DESCRIPTOR = 0x0008  # CRC and sizes follow the data
_UTF8_NAME = 0x0800  # the name is UTF-8 (otherwise cp437)
_UNICODE_PATH_EXTRA = 0x7075


@dataclass(frozen=True)
class Placement:
    """Where one member's bytes lie, and what its records disagree on."""

    start: int  # its local header
    data_start: int | None  # its compressed data; None without a local header there
    end: int  # past its data and data descriptor
    raw_name: bytes  # the name as the central directory stores it, NUL bytes included
    problems: tuple[str, ...] = ()  # local header or data descriptor against the directory
    unicode_name: str | None = None  # another name, from a Unicode Path extra field
    # Python's zipfile (MMS 0.x) fails to open it too: no local header, or another name there.
    zipfile_fails: bool = False


@dataclass(frozen=True)
class Layout:
    placements: tuple[Placement, ...]
    overlapping: frozenset[int]  # member indexes whose bytes overlap another member's
    later_overlaps: int  # how many members start inside an earlier member's bytes
    stray: tuple[str, ...]  # bytes or records no member accounts for


def _unicode_name(extra: bytes, raw_name: bytes) -> str | None:
    """The name a Unicode Path extra field gives, when it is current (its CRC is that of the
    header's name, as Info-ZIP unzip requires before it uses the field)."""
    field = extras(extra).get(_UNICODE_PATH_EXTRA)
    if field is None or len(field) < 5 or field[0] != 1:
        return None
    if struct.unpack_from("<I", field, 1)[0] != zlib.crc32(raw_name):
        return None
    return field[5:].decode("utf-8", "replace")


def _directory_name(info: zipfile.ZipInfo) -> bytes:
    """The name as the member's central directory entry stores it, NUL bytes included,
    without reading the directory again: zipfile decoded those bytes (UTF-8 when the entry
    says so, cp437 otherwise, both exactly reversible) and kept the whole name as
    `orig_filename`."""
    return info.orig_filename.encode("utf-8" if info.flag_bits & _UTF8_NAME else "cp437")


def _local_sizes(fields: tuple, extra: bytes) -> tuple[int, int]:
    """(compressed, uncompressed) sizes a local header declares, Zip64 extra included."""
    usize, csize = zip64_values((fields[8], fields[7]), extra)
    return csize, usize


def _header_problems(
    fields: tuple, local_name: bytes, local_extra: bytes, raw_name: bytes, info: zipfile.ZipInfo
) -> list[str]:
    """What a local header (its unpacked `fields`, name and extra field) says otherwise than
    the member's central directory entry."""
    problems = []
    flags, method, crc = fields[2], fields[3], fields[6]
    if local_name != raw_name:
        problems.append(f"its local header names it {local_name.decode('utf-8', 'replace')!r}")
    if method != info.compress_type:
        problems.append(
            f"its local header says compression method {method}, the directory {info.compress_type}"
        )
    if (flags ^ info.flag_bits) & _ENCRYPTED:
        side = "local header" if flags & _ENCRYPTED else "directory"
        problems.append(f"only its {side} marks it encrypted")
    csize, usize = _local_sizes(fields, local_extra)
    declared = (crc, csize, usize)
    expected = (info.CRC, info.compress_size, info.file_size)
    uses_descriptor = bool((flags | info.flag_bits) & _DESCRIPTOR)
    # With a data descriptor the local values may be left 0 (Info-ZIP leaves only the CRC
    # and compressed size 0 when it streams files whose size it knows).
    if any(
        mine != theirs and not (uses_descriptor and mine == 0)
        for mine, theirs in zip(declared, expected)
    ):
        problems.append(
            f"its local header declares CRC {crc:08x} and {csize:,}/{usize:,} bytes "
            f"(compressed/uncompressed), the directory CRC {info.CRC:08x} and "
            f"{info.compress_size:,}/{info.file_size:,}"
        )
    return problems


def _place(handle: IO[bytes], info: zipfile.ZipInfo, raw_name: bytes, size: int) -> Placement:
    start = info.header_offset
    problems: list[str] = []
    unicode_name = _unicode_name(info.extra, raw_name)
    guess_end = start + LOCAL.size + len(raw_name) + info.compress_size
    if start < 0 or start + LOCAL.size > size:
        where = "before the start of the file" if start < 0 else "past the end of the file"
        problems.append(f"its central directory entry puts its local header {where}")
        return Placement(
            max(start, 0), None, max(guess_end, 0), raw_name, tuple(problems), zipfile_fails=True
        )
    handle.seek(start)
    header = handle.read(LOCAL.size)
    fields = LOCAL.unpack(header)
    if fields[0] != LOCAL_SIGNATURE:
        problems.append(f"there is no local header at offset {start:,}, where the directory says")
        return Placement(start, None, guess_end, raw_name, tuple(problems), unicode_name, True)
    local_name = handle.read(fields[9])
    local_extra = handle.read(fields[10])
    data_start = data_offset(header, start)
    problems.extend(_header_problems(fields, local_name, local_extra, raw_name, info))
    uses_descriptor = bool((fields[2] | info.flag_bits) & _DESCRIPTOR)
    unicode_name = unicode_name or _unicode_name(local_extra, local_name)
    end = data_start + info.compress_size
    if uses_descriptor:
        end, problem = _descriptor(handle, end, info, ZIP64_EXTRA in extras(local_extra))
        if problem:
            problems.append(problem)
    if end > size:
        problems.append(f"its data runs {end - size:,} bytes past the end of the file")
    fails = local_name != raw_name
    return Placement(start, data_start, end, raw_name, tuple(problems), unicode_name, fails)


def _descriptor(
    handle: IO[bytes], at: int, info: zipfile.ZipInfo, zip64: bool
) -> tuple[int, str | None]:
    """(end of the data descriptor at `at`, what it disagrees on with the directory)."""
    handle.seek(at)
    head = handle.read(24)
    skip = 4 if head[:4] == _DESCRIPTOR_SIGNATURE else 0
    fmt = "<IQQ" if zip64 else "<III"
    length = struct.calcsize(fmt)
    if len(head) < skip + length:
        return at, "its data descriptor is missing (the file ends)"
    crc, csize, usize = struct.unpack_from(fmt, head, skip)
    if (crc, csize, usize) == (info.CRC, info.compress_size, info.file_size):
        return at + skip + length, None
    return at + skip + length, (
        f"its data descriptor declares CRC {crc:08x} and {csize:,}/{usize:,} bytes "
        f"(compressed/uncompressed), the directory CRC {info.CRC:08x} and "
        f"{info.compress_size:,}/{info.file_size:,}"
    )


def _overlaps(placements: tuple[Placement, ...]) -> tuple[frozenset[int], int]:
    """Members whose bytes (local header to data end) overlap another's, and how many start
    inside an earlier one."""
    # A member without a local header has no bytes anyone can read: it overlaps nothing.
    located = [i for i, p in enumerate(placements) if p.data_start is not None]
    order = sorted(located, key=lambda i: placements[i].start)
    involved: set[int] = set()
    later = 0
    reach, owner = -1, -1
    for index in order:
        placement = placements[index]
        if placement.start < reach:
            involved.update((index, owner))
            later += 1
        if placement.end > reach:
            reach, owner = placement.end, index
    return frozenset(involved), later


def signature_windows(handle: IO[bytes], start: int, end: int) -> Iterator[bytes]:
    """The bytes [start, end) (fewer if the file ends first), read in chunks, each chunk with
    the 3 bytes before it in front: a 4-byte record signature split between two reads is
    in one window, and no signature is in two."""
    tail = b""
    handle.seek(start)
    left = end - start
    while left > 0:
        chunk = handle.read(min(READ_CHUNK, left))
        if not chunk:
            break
        left -= len(chunk)
        window = tail + chunk
        yield window
        tail = window[-3:]


def _scan(handle: IO[bytes], start: int, end: int) -> set[bytes]:
    """Which record signatures the bytes [start, end) hold, read in chunks."""
    found: set[bytes] = set()
    for window in signature_windows(handle, start, end):
        for signature in (LOCAL_SIGNATURE, CENTRAL_SIGNATURE, END_SIGNATURE):
            if signature in window:
                found.add(signature)
    return found


def _stray(
    handle: IO[bytes], placements: tuple[Placement, ...], directory: int, declared: int
) -> list[str]:
    """Bytes between the start of the file and the central directory that no member covers."""
    problems = []
    if declared != directory:
        problems.append(
            f"the end record puts the central directory at offset {declared:,}, but it is at "
            f"{directory:,}: tools that trust the offset look for every member elsewhere"
        )
    reach = 0
    gaps: list[tuple[int, int]] = []
    located = [p for p in placements if p.data_start is not None]
    for placement in sorted(located, key=lambda p: p.start):
        if placement.start > reach:
            gaps.append((reach, placement.start))
        reach = max(reach, placement.end)
    if directory > reach:
        gaps.append((reach, directory))
    for start, end in gaps:
        found = _scan(handle, start, end)
        where = "before the first member" if start == 0 else f"at offset {start:,}"
        text = f"{end - start:,} bytes {where} belong to no member"
        if LOCAL_SIGNATURE in found:
            text += (
                ", and they hold a local header the central directory does not list: another "
                "archive hidden in this one (streaming unzip tools such as java.util.zip, "
                "which MMS 1.x uses, unpack its members instead)"
            )
        elif found & {CENTRAL_SIGNATURE, END_SIGNATURE}:
            text += (
                ", and they hold another central directory: tools that take the first one "
                "see other members"
            )
        problems.append(text)
    return problems


@dataclass(frozen=True)
class EndRecord:
    """The end-of-central-directory record, as zipfile itself finds it (the Zip64 values
    when there are Zip64 records)."""

    entries: int  # members the directory declares
    directory_size: int
    directory_offset: int  # where the directory says it starts
    location: int  # where the record itself starts
    comment: bytes


def read_end_record(handle: IO[bytes]) -> EndRecord | None:
    """The end record of the zip open as `handle`, found by `zipfile`'s own search (these
    are zipfile internals: the one place mar-lint reads them); None when there is none.

    Raises OSError or struct.error when the file cannot be read there, zipfile.BadZipFile
    for a Zip64 locator that claims several disks."""
    record = zipfile._EndRecData(handle)  # type: ignore[attr-defined]
    if record is None:
        return None
    return EndRecord(
        entries=record[zipfile._ECD_ENTRIES_TOTAL],  # type: ignore[attr-defined]
        directory_size=record[zipfile._ECD_SIZE],  # type: ignore[attr-defined]
        directory_offset=record[zipfile._ECD_OFFSET],  # type: ignore[attr-defined]
        location=record[zipfile._ECD_LOCATION],  # type: ignore[attr-defined]
        comment=record[zipfile._ECD_COMMENT],  # type: ignore[attr-defined]
    )


def read_layout(
    handle: IO[bytes], infos: list[zipfile.ZipInfo], start_dir: int, end_record: EndRecord
) -> Layout:
    """The layout of a zip that zipfile has listed as `infos` (its central directory at
    `start_dir`, found through `end_record`)."""
    size = handle.seek(0, 2)
    placements = tuple(_place(handle, info, _directory_name(info), size) for info in infos)
    overlapping, later = _overlaps(placements)
    stray = _stray(handle, placements, start_dir, end_record.directory_offset)
    comment = end_record.comment
    if END_SIGNATURE in comment or CENTRAL_SIGNATURE in comment:
        stray.append(
            "the archive comment holds another central directory: tools that search the "
            "file for its end record differently see other members"
        )
    return Layout(placements, overlapping, later, tuple(stray))


class MemberDataError(Exception):
    """A member's bytes are not what its directory entry declares."""


class MemberReader:
    """A forward-only reader of one stored or deflated member, from the data range its own
    local header gives: the inflater is fed in chunks and never asked for more than the caller
    wants, so memory is bounded by the bytes actually produced, whatever the headers claim.
    Producing more than the declared size, running out of compressed bytes before it, or a
    CRC-32 that does not hold raises MemberDataError; a corrupt deflate stream, zlib.error."""

    def __init__(self, handle: IO[bytes], info: zipfile.ZipInfo, data_start: int) -> None:
        self._handle = handle
        self._size = info.file_size
        self._crc_expected = info.CRC
        self._left = info.compress_size  # compressed bytes not yet read
        self._produced = 0
        self._crc = 0
        self._at = data_start
        self._inflater = (
            zlib.decompressobj(-zlib.MAX_WBITS)
            if info.compress_type == zipfile.ZIP_DEFLATED
            else None
        )
        self._done = False

    def _compressed(self, count: int) -> bytes:
        count = min(count, self._left)
        if count <= 0:
            return b""
        self._handle.seek(self._at)
        data = self._handle.read(count)
        self._at += len(data)
        self._left -= len(data)
        if len(data) < count:
            self._left = 0  # the file ends inside the member's data
        return data

    def _next(self, want: int) -> bytes:
        """Up to `want` (> 0) more bytes of the member; b"" when its data is exhausted."""
        if self._inflater is None:
            return self._compressed(want)
        while not self._inflater.eof:
            data = self._inflater.unconsumed_tail or self._compressed(READ_CHUNK)
            if not data:
                return b""
            piece = self._inflater.decompress(data, want)
            if piece:
                return piece
        return b""

    def read(self, count: int) -> bytes:
        """Up to `count` bytes; fewer only at the member's end, where the size and CRC are
        checked."""
        if self._done:
            return b""
        if count < 0:  # all of it, and one byte more to tell a member that outruns its size
            count = self._size - self._produced + 1
        pieces = []
        wanted = count
        while wanted > 0 and self._produced < self._size:
            piece = self._next(min(wanted, self._size - self._produced, READ_CHUNK))
            if not piece:
                raise MemberDataError(
                    f"the compressed data ends after {self._produced:,} of the "
                    f"{self._size:,} declared bytes (a truncated member)"
                )
            self._produced += len(piece)
            self._crc = zlib.crc32(piece, self._crc)
            pieces.append(piece)
            wanted -= len(piece)
        if self._produced >= self._size and wanted > 0:
            self._finish()
        return b"".join(pieces)

    def _finish(self) -> None:
        self._done = True
        if self._inflater is not None and self._next(1):
            raise MemberDataError(
                f"inflates past the {self._size:,} bytes its header declares (a lying "
                "header: inflation stopped there)"
            )
        if self._inflater is None and self._left > 0:
            raise MemberDataError(
                f"holds {self._size + self._left:,} stored bytes where {self._size:,} are declared"
            )
        if self._crc != self._crc_expected:
            raise MemberDataError("CRC-32 mismatch: the bytes are not the ones that were zipped")

    def close(self) -> None:
        self._handle.close()
