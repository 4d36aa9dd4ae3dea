"""The zip records mar-lint reads itself (PKWARE's APPNOTE.TXT, section numbers below), with
nothing but `struct`: light enough for the early CRC pass, which lists an archive's members
before `zipfile` has even been imported (mar_lint.crc_pass), and shared with the layout checks
(mar_lint.zip_layout)."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import IO, NamedTuple

LOCAL = struct.Struct("<4sHHHHHIIIHH")  # 4.3.7, 30 bytes
CENTRAL = struct.Struct("<4sHHHHHHIIIHHHHHII")  # 4.3.12, 46 bytes
END = struct.Struct("<4sHHHHIIH")  # 4.3.16, 22 bytes
ZIP64_LOCATOR = struct.Struct("<4sIQI")  # 4.3.15, 20 bytes, just before END
ZIP64_END = struct.Struct("<4sQHHIIQQQQ")  # 4.3.14, 56 bytes
LOCAL_SIGNATURE = b"PK\x03\x04"
CENTRAL_SIGNATURE = b"PK\x01\x02"
END_SIGNATURE = b"PK\x05\x06"
ZIP64_LOCATOR_SIGNATURE = b"PK\x06\x07"
ZIP64_END_SIGNATURE = b"PK\x06\x06"
ZIP64_EXTRA = 0x0001
SATURATED = 0xFFFFFFFF  # a 4-byte field whose value is in the Zip64 extra field instead
MAX_COMMENT = 0xFFFF  # an end record lies at most this far, plus its own size, from the end


def extras(extra: bytes) -> dict[int, bytes]:
    """An extra field's blocks by header ID (4.5.1); the first of each ID counts."""
    found: dict[int, bytes] = {}
    at = 0
    while at + 4 <= len(extra):
        kind, length = struct.unpack_from("<HH", extra, at)
        found.setdefault(kind, extra[at + 4 : at + 4 + length])
        at += 4 + length
    return found


def zip64_values(fields: tuple[int, ...], extra: bytes) -> tuple[int, ...]:
    """`fields` (uncompressed size, compressed size, local header offset: the order of 4.5.3)
    with each SATURATED one read from the Zip64 extra field, in turn, while it has bytes; one
    it has no bytes for stays SATURATED."""
    zip64 = extras(extra).get(ZIP64_EXTRA, b"")
    values = []
    for value in fields:
        if value == SATURATED and len(zip64) >= 8:
            value, zip64 = struct.unpack_from("<Q", zip64)[0], zip64[8:]
        values.append(value)
    return tuple(values)


def data_offset(local_header: bytes, header_offset: int) -> int:
    """Where a member's data starts: past its local header at `header_offset`, whose fixed
    30 bytes (or more) are `local_header`, and the name and extra field that header sizes."""
    name_length, extra_length = struct.unpack_from("<HH", local_header, 26)
    return header_offset + LOCAL.size + name_length + extra_length


def read_data_start(handle: IO[bytes], header_offset: int) -> int | None:
    """Where the data of the member whose local header is at `header_offset` starts (see
    `data_offset`); None when the file holds no local header there."""
    handle.seek(header_offset)
    header = handle.read(LOCAL.size)
    if len(header) < LOCAL.size or not header.startswith(LOCAL_SIGNATURE):
        return None
    return data_offset(header, header_offset)


class Directory(NamedTuple):
    """Where the central directory lies and how many entries it holds, as an end record
    says."""

    entries: int
    size: int
    offset: int


def read_directory_place(handle: IO[bytes], file_size: int) -> Directory | None:
    """The central directory the last end record in the file names (through its Zip64
    record when the end record defers to one); None when there is none to be found.

    The search is that of Python's zipfile, not its every check: mar_lint.zip_layout reads
    the end record through zipfile itself, and whoever uses this one compares its findings
    with that. Raises OSError or struct.error when the file cannot be read there."""
    tail = min(file_size, END.size + MAX_COMMENT)
    handle.seek(file_size - tail)
    data = handle.read(tail)
    at = data.rfind(END_SIGNATURE)
    if at < 0 or len(data) - at < END.size:
        return None
    _, _, _, _, entries, size, offset, _ = END.unpack_from(data, at)
    if SATURATED not in (size, offset) and entries != 0xFFFF:
        return Directory(entries, size, offset)
    locator_at = file_size - tail + at - ZIP64_LOCATOR.size
    if locator_at < 0:
        return None
    handle.seek(locator_at)
    signature, _, record_at, _ = ZIP64_LOCATOR.unpack(handle.read(ZIP64_LOCATOR.size))
    if signature != ZIP64_LOCATOR_SIGNATURE:
        return None
    handle.seek(record_at)
    record = ZIP64_END.unpack(handle.read(ZIP64_END.size))
    if record[0] != ZIP64_END_SIGNATURE:
        return None
    return Directory(entries=record[7], size=record[8], offset=record[9])


class CentralEntry(NamedTuple):
    """What one central directory entry (4.3.12) declares, Zip64 values resolved."""

    flags: int
    method: int
    crc: int
    compressed_size: int
    size: int
    header_offset: int


def central_entries(directory: bytes, count: int) -> Iterator[CentralEntry | None]:
    """The first `count` entries of a central directory's bytes, in order: None for an entry
    whose Zip64 extra field is short. Stops early at bytes that are no entry."""
    at = 0
    for _ in range(count):
        if len(directory) - at < CENTRAL.size:
            return
        fields = CENTRAL.unpack_from(directory, at)
        if fields[0] != CENTRAL_SIGNATURE:
            return
        name_length, extra_length, comment_length = fields[10:13]
        extra_at = at + CENTRAL.size + name_length
        extra = directory[extra_at : extra_at + extra_length]
        at = extra_at + extra_length + comment_length
        values = zip64_values((fields[9], fields[8], fields[16]), extra)
        if SATURATED in values:  # the Zip64 extra field is short
            yield None
            continue
        size, compressed_size, header_offset = values
        yield CentralEntry(fields[3], fields[4], fields[7], compressed_size, size, header_offset)
