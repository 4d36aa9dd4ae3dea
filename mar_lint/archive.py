"""The archive view: the members of a `.model` zip read in place, or of an unpacked model folder.

Every archive is hostile until proven otherwise. The view never extracts anything to disk,
never follows links out of a model folder, caps every read, and parses each JSON member at
most once (the parsed value is shared by every rule that asks for it).
"""

from __future__ import annotations

import io
import json
import lzma
import os
import posixpath
import re
import stat
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, BinaryIO, Protocol, Self, cast

from mar_lint.crc_pass import crc_held
from mar_lint.limits import READ_CHUNK, Limits
from mar_lint.zip_layout import (
    EndRecord,
    Layout,
    MemberDataError,
    MemberReader,
    read_end_record,
    read_layout,
    signature_windows,
)

MANIFEST = "MANIFEST.json"
LFS_POINTER_PREFIX = b"version https://git-lfs.github.com/spec/"

# Folders that operating systems and tools add beside the real content; they do not count
# when deciding whether an archive was made of a folder instead of its contents.
_JUNK_TOP_LEVEL = ("__MACOSX",)

# File types a zip's external attributes or a folder can hold that are neither files, folders
# nor links: opening a named pipe blocks, reading a device never ends.
_SPECIAL_FILES = {
    stat.S_IFIFO: "a named pipe (FIFO)",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}

_CENTRAL_HEADER = b"PK\x01\x02"
_MIN_CENTRAL_HEADER_BYTES = 46

# What reading a damaged member can raise: zipfile's own errors and those of the
# decompressors underneath it (zlib.error and LZMAError are not OSErrors).
_READ_ERRORS = (
    zipfile.BadZipFile,
    EOFError,
    OSError,
    ValueError,
    NotImplementedError,
    zlib.error,
    lzma.LZMAError,
    struct.error,
)

# The compression methods every MMS release unpacks (Python 2's zipfile and MMS 1.x's
# java.util.zip know no other), and the only ones mar-lint reads: a bzip2 or LZMA
# decompressor cannot be bounded by the bytes it produces the way zlib's can.
PORTABLE_COMPRESSIONS = ("stored", "deflated")

_COMPRESSION_NAMES = {
    zipfile.ZIP_STORED: "stored",
    zipfile.ZIP_DEFLATED: "deflated",
    zipfile.ZIP_BZIP2: "bzip2",
    zipfile.ZIP_LZMA: "lzma",
}


class MemberError(Exception):
    """A member could not be read: too large, corrupt, or not a regular file."""


class MemberTooLarge(MemberError):
    """A member larger than the limit its reader sets: it was not read (nor checked)."""


class MemberRefused(MemberError):
    """A member mar-lint will not read at all: a link or special file, encrypted, compressed
    with an unknown method, or declared beyond the size or ratio limits (a possible bomb)."""


class SourceError(OSError):
    """The bytes of an archive that is not a local file could not be fetched (the network
    failed, or the transfer limit was reached): a fact about the source, not the archive."""


class MemberUnavailable(MemberError):
    """A member's bytes could not be fetched (a SourceError): nothing is known about them."""


class ArchiveSource(Protocol):
    """An archive that is not a local file (`mar_lint.remote.RemoteArchive`): `open` gives a
    seekable binary file of the whole archive, whose reads may raise SourceError."""

    verify_crc: bool  # False: the integrity pass reads nothing that no rule needed
    failure: str | None  # why fetching stopped, once it has

    def open(self) -> BinaryIO: ...

    def close(self) -> None:
        """Let go of what fetching kept (connections, cached bytes)."""


def _member_error(exc: BaseException) -> MemberError:
    if isinstance(exc, SourceError):
        return MemberUnavailable(str(exc))
    return MemberError(describe_read_error(exc))


def describe_read_error(exc: BaseException) -> str:
    """What went wrong while reading a member, in words, with the library's message."""
    text = str(exc) or type(exc).__name__
    if isinstance(exc, zipfile.BadZipFile) and "CRC" in text:
        return "CRC-32 mismatch: the bytes are not the ones that were zipped"
    if isinstance(exc, EOFError):
        return "the compressed data ends before the declared size (a truncated member)"
    if isinstance(exc, (zlib.error, lzma.LZMAError)):
        return f"the compressed data is corrupt ({text})"
    return text


@dataclass(frozen=True)
class Member:
    """One entry of the archive, as declared by the zip central directory or the folder."""

    name: str  # as stored: a zip name or a folder-relative POSIX path
    size: int  # declared uncompressed size
    compressed_size: int
    compression: str  # "stored", "deflated", ... ; "method N" for unknown methods
    index: int  # position in the archive: duplicate names have distinct indexes
    is_dir: bool = False
    is_symlink: bool = False
    encrypted: bool = False
    info: zipfile.ZipInfo | None = field(default=None, compare=False, repr=False)
    special: str | None = None  # "a named pipe (FIFO)", "a character device", ...: not a file

    @property
    def basename(self) -> str:
        """The name MMS gives the file when it flattens the archive on load (§1.7)."""
        return posixpath.basename(self.name.rstrip("/"))


@dataclass(frozen=True)
class ParsedJson:
    """A JSON member that parsed: the member is there, and `value` is what it holds."""

    member: Member
    value: Any


@dataclass(frozen=True)
class JsonObject:
    """A JSON member that parsed to an object, as a manifest or a signature must."""

    member: Member
    value: dict[str, Any]


@dataclass(frozen=True)
class JsonDocument:
    """A JSON member parsed once: either `value` or the reason it could not be read.

    `parsed` and `object` give the member and its value with the types narrowed: a rule asks
    `if (signature := view.signature.object) is None: return` and then uses
    `signature.member.name` and `signature.value` without `None` checks."""

    member: Member | None  # None: no such member (error says "missing"), or not a file
    value: Any = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.member is not None and self.error is None

    @property
    def parsed(self) -> ParsedJson | None:
        """The member and its value when it parsed; None when it is missing or unreadable."""
        if self.member is None or self.error is not None:
            return None
        return ParsedJson(self.member, self.value)

    @property
    def object(self) -> JsonObject | None:
        """The member and its value when it parsed to a JSON object; None otherwise."""
        if self.member is None or self.error is not None or not isinstance(self.value, dict):
            return None
        return JsonObject(self.member, self.value)


_DRIVE = re.compile(r"^[A-Za-z]:")


def unsafe_path_reason(name: str) -> str | None:
    """Why a member name or manifest reference could land outside the model folder, if it can."""
    if "\\" in name:
        return "contains a backslash, a path separator on Windows"
    if _DRIVE.match(name):
        return "starts with a drive letter"
    if name.startswith("/"):
        return "is an absolute path"
    if ".." in name.split("/"):
        return "has a `..` component that climbs out of the model folder"
    return None


def sniff_format(head: bytes, size: int) -> str | None:
    """Name what a file that is not a readable zip actually is, from its first bytes."""
    if size == 0:
        return "the file is empty (0 bytes)"
    if head.startswith(LFS_POINTER_PREFIX):
        return "the file is a Git LFS pointer, not the archive: run `git lfs pull` to fetch it"
    text = head.lstrip()[:64].lower()
    if text.startswith((b"<!doctype html", b"<html", b"<?xml", b"<head")):
        return "the file is an HTML or XML page (a download that returned a web page?)"
    if head.startswith(b"\x1f\x8b"):
        return "the file is gzip-compressed (a .tar.gz?), not a zip"
    if len(head) >= 262 and head[257:262] == b"ustar":
        return "the file is a tar archive, not a zip"
    for magic, name in (
        (b"BZh", "bzip2-compressed data"),
        (b"\xfd7zXZ\x00", "xz-compressed data"),
        (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
        (b"Rar!", "a RAR archive"),
        (b"\x12\x01\x00\x00\x00\x00\x00\x00", "an MXNet .params file"),
    ):
        if head.startswith(magic):
            return f"the file is {name}, not a zip"
    if text.startswith((b"{", b"[")):
        return "the file is JSON text, not a zip"
    if head.startswith(b"PK\x03\x04"):
        return (
            "the zip is truncated: its end-of-central-directory record is missing "
            "(an incomplete download or copy)"
        )
    return "the file is not a zip archive"


# One JSON string, or an unterminated one up to the end of the text. Linear whatever the
# input: every alternative consumes what it scans and the match cannot fail from a quote (a
# pattern that could fail would rescan the rest of the text from every later quote, which
# is quadratic on a long run of escaped quotes).
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\(?:.|\Z)[^"\\]*)*(?:"|\Z)', re.DOTALL)
_NOT_BRACKETS = bytes(set(range(256)) - set(b"[]{}"))


def json_shape_problem(data: bytes, limits: Limits) -> str | None:
    """Why JSON text would cost too much to parse, found in linear time without parsing it:
    too deep (Python's parser recurses per level: 200,000 `[` must never reach `json.loads`),
    too many values (each is a Python object), or a string too long."""
    strings = _JSON_STRING.findall(data)
    longest = max(map(len, strings), default=2) - 2
    if longest > limits.max_json_string:
        return f"holds a string of over {limits.max_json_string:,} bytes (the limit)"
    outside = _JSON_STRING.sub(b'""', data)  # brackets and commas inside strings do not count
    brackets = outside.translate(None, _NOT_BRACKETS)
    values = len(brackets) // 2 + outside.count(b",") + 1
    if values > limits.max_json_values:
        return f"holds more than {limits.max_json_values:,} values (the limit)"
    if len(brackets) <= limits.max_json_depth:
        return None
    depth = 0
    for bracket in brackets:  # at most 2 x max_json_values of them
        if bracket in b"[{":
            depth += 1
            if depth > limits.max_json_depth:
                return f"nests deeper than {limits.max_json_depth} levels (the limit)"
        else:
            depth -= 1
    return None


# What MMS makes of encodings Python's `json.loads(bytes)` would detect: it reads JSON with
# `json.load(open(path))`, text mode in a UTF-8 locale (reference/mms-loader.md), and fails.
_BOMS = (
    (b"\xef\xbb\xbf", "a UTF-8 byte-order mark"),
    (b"\xff\xfe\x00\x00", "a UTF-32 byte-order mark"),
    (b"\x00\x00\xfe\xff", "a UTF-32 byte-order mark"),
    (b"\xff\xfe", "a UTF-16 byte-order mark"),
    (b"\xfe\xff", "a UTF-16 byte-order mark"),
)


def parse_json(data: bytes, limits: Limits) -> tuple[Any, str | None]:
    """Parse JSON bytes as MMS does (UTF-8 text, no byte-order mark), under the limits:
    (value, None) or (None, why it failed)."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            return None, (
                f"starts with {name}: MMS reads JSON as UTF-8 text (json.load(open(path))) "
                "and fails to parse it"
            )
    if b"\x00" in data[:4] and len(data) >= 2:
        return None, (
            "is UTF-16 or UTF-32 text: MMS reads JSON as UTF-8 text (json.load(open(path))) "
            "and fails to parse it"
        )
    problem = json_shape_problem(data, limits)
    if problem:
        return None, f"not parsed: it {problem}"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, f"not UTF-8 text ({exc.reason} at byte {exc.start})"
    try:
        return json.loads(text), None
    except json.JSONDecodeError as exc:
        return None, f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
    except (ValueError, RecursionError) as exc:
        return None, f"not valid JSON: {exc}"


def walk_bounded(
    root: str | os.PathLike[str], max_depth: int, skip_hidden: bool = False
) -> Iterator[tuple[str, list[str] | None, list[str]]]:
    """`os.walk` top-down, sorted, without recursion and without following folder links:
    (folder, its sub-folders, its files). A folder `max_depth` levels below `root` is not
    entered: it comes as (folder, None, []) so the caller can say so. Sub-folders removed
    from the list by the caller are not entered (as with `os.walk`); with `skip_hidden`,
    folders whose names start with "." are left out."""
    pending: list[tuple[str, int]] = [(os.fspath(root), 0)]
    while pending:
        top, depth = pending.pop()
        if depth > max_depth:
            yield top, None, []
            continue
        dirs: list[str] = []
        files: list[str] = []
        try:
            with os.scandir(top) as entries:
                for entry in entries:
                    try:
                        is_dir = entry.is_dir()  # a link to a folder counts, as in os.walk
                    except OSError:
                        is_dir = False
                    (dirs if is_dir else files).append(entry.name)
        except OSError:
            continue  # os.walk skips folders it cannot list
        dirs.sort()
        files.sort()
        if skip_hidden:
            dirs[:] = [d for d in dirs if not d.startswith(".")]
        yield top, dirs, files
        for name in reversed(dirs):  # popped in sorted order
            if not os.path.islink(os.path.join(top, name)):
                pending.append((os.path.join(top, name), depth + 1))


class ArchiveView:
    """Read-only access to the members of one archive or model folder."""

    def __init__(self, path: Path | ArchiveSource, limits: Limits | None = None) -> None:
        # A remote archive is read through its source's file, by the same code as a local one.
        self.source: ArchiveSource | None = None
        # `path` is a Path, or the source itself (its str() is the URL reports show).
        self.path: Any
        if isinstance(path, (str, os.PathLike)):
            self.path = Path(path)
            self.kind = "folder" if self.path.is_dir() else "zip"
        else:
            self.source = self.path = path
            self.kind = "zip"
        self.limits = limits or Limits()
        self.unreadable: str | None = None  # why this is not an archive we can read (MAR001)
        # A folder the walk did not enter because it lies beyond `max_folder_depth` (MAR009).
        self.too_deep: str | None = None
        # Why a readable archive was not opened past its listing: it holds more members than
        # the limit (MAR009). `unreadable` then says the same, so no other rule runs.
        self.refused: str | None = None
        self.members: tuple[Member, ...] = ()
        self._zip: zipfile.ZipFile | None = None
        # Where each zip member's bytes lie and what its records disagree on (zip only).
        self.layout: Layout | None = None
        self._json: dict[int, JsonDocument] = {}
        self._bytes: dict[int, bytes] = {}
        # Member index -> None when it was read to its end (zip CRC verified), or why reading
        # failed. Whoever streams a member records it here, so integrity checks never read a
        # member a second time.
        self.read_results: dict[int, str | None] = {}
        self._verified = False
        try:
            if self.kind == "folder":
                self.members = tuple(self._walk_folder())
            else:
                self._open_zip()
        except SourceError as exc:
            self.unreadable = f"cannot fetch the archive: {exc}"
        except OSError as exc:
            self.unreadable = f"cannot read the file: {exc.strerror or exc}"
        if self.refused:
            self.members, self.unreadable = (), self.refused
        if self.unreadable is None and not any(not m.is_dir for m in self.members):
            self.unreadable = f"the {self.kind} holds no files"
        self.root = self._find_root()
        self._latest = {m.name: m for m in self.members}  # a duplicate name: the last copy wins

    # -- opening ---------------------------------------------------------------------------

    def _refuse_member_count(self) -> None:
        self.refused = (
            f"the {self.kind} holds more than {self.limits.max_members:,} members (the limit): "
            "it was not checked further"
        )

    def _count_central_headers(self, handle: IO[bytes], record: EndRecord) -> int:
        """How many members the central directory may hold, found before `zipfile` builds an
        object for each of them: the declared count, or, when the directory is big enough
        to hold more than the limit, the central-header signatures it contains."""
        declared, cd_size = record.entries, record.directory_size
        if declared > self.limits.max_members:
            return declared
        if cd_size <= _MIN_CENTRAL_HEADER_BYTES * self.limits.max_members:
            return declared  # too small to hold more than the limit
        # zipfile walks the directory by its size, not its count: count what is really there.
        start = max(record.location - cd_size, 0)
        found = 0
        for window in signature_windows(handle, start, start + cd_size):
            found += window.count(_CENTRAL_HEADER)
            if found > self.limits.max_members:
                break
        return found

    def open_file(self) -> BinaryIO:
        """A new binary handle of the whole archive file (local or remote)."""
        if self.source is None:
            return open(self.path, "rb")
        return self.source.open()

    def _open_zip(self) -> None:
        with self.open_file() as handle:
            head = handle.read(512)
            size = handle.seek(0, os.SEEK_END)
            damaged = False
            try:  # the end-of-central-directory record, as zipfile itself finds it
                end_record = read_end_record(handle)
            except (OSError, struct.error):
                end_record = None
            except zipfile.BadZipFile:  # a Zip64 locator that claims several disks
                end_record, damaged = None, True
            if end_record is not None:
                if self._count_central_headers(handle, end_record) > self.limits.max_members:
                    self._refuse_member_count()
                    return
        try:
            self._zip = zipfile.ZipFile(self.path if self.source is None else self.open_file())
            infos = self._zip.infolist()
        except (*_READ_ERRORS, zipfile.LargeZipFile) as exc:
            if self.source is not None and self.source.failure:
                self.unreadable = f"cannot fetch the archive: {self.source.failure}"
            elif end_record is not None or damaged:
                self.unreadable = f"the zip is damaged: {describe_read_error(exc)}"
            else:
                self.unreadable = sniff_format(head, size)
            return
        if end_record is None:  # zipfile searches as read_end_record does: not expected
            self.unreadable = "the zip is damaged: its end record cannot be read"
            return
        try:
            with self.open_file() as handle:
                self.layout = read_layout(handle, infos, self._zip.start_dir, end_record)
        except (*_READ_ERRORS, TypeError, IndexError) as exc:
            self.unreadable = f"the zip is damaged: {describe_read_error(exc)}"
            return
        self.members = tuple(self._zip_member(i, info) for i, info in enumerate(infos))

    @staticmethod
    def _zip_member(index: int, info: zipfile.ZipInfo) -> Member:
        unix_mode = info.external_attr >> 16
        return Member(
            name=info.filename,
            size=info.file_size,
            compressed_size=info.compress_size,
            compression=_COMPRESSION_NAMES.get(info.compress_type, f"method {info.compress_type}"),
            index=index,
            is_dir=info.filename.endswith("/"),  # ZipInfo.is_dir() fails on an empty name
            is_symlink=stat.S_ISLNK(unix_mode),
            encrypted=bool(info.flag_bits & 0x1),
            info=info,
            special=_SPECIAL_FILES.get(stat.S_IFMT(unix_mode)),
        )

    def _walk_folder(self) -> Iterator[Member]:
        """Files (and links to folders) under the folder, in sorted order, never following a
        folder link. Iterative, with a bound on depth: `os.walk` recurses per level and a
        folder nested 1,200 deep would raise RecursionError."""
        index = 0
        for top, dirs, files in walk_bounded(self.path, self.limits.max_folder_depth):
            if dirs is None:
                self.too_deep = top
                continue
            for name in files + [d for d in dirs if os.path.islink(os.path.join(top, d))]:
                full = os.path.join(top, name)
                info = os.lstat(full)
                relative = Path(full).relative_to(self.path).as_posix()
                yield Member(
                    name=relative,
                    size=info.st_size,
                    compressed_size=info.st_size,
                    compression="stored",
                    index=index,
                    is_symlink=stat.S_ISLNK(info.st_mode),
                    special=_SPECIAL_FILES.get(stat.S_IFMT(info.st_mode)),
                )
                index += 1
                if index > self.limits.max_members:
                    self._refuse_member_count()
                    return

    def _find_root(self) -> str:
        """The folder inside the archive that holds the model (§7): "" or "name/"."""
        names = [m.name for m in self.members if not m.is_dir]
        if not names or MANIFEST in names:
            return ""
        tops = {n.split("/", 1)[0] for n in names if "/" in n}
        tops -= set(_JUNK_TOP_LEVEL)
        loose = [n for n in names if "/" not in n]
        if len(tops) == 1 and not loose:
            return f"{tops.pop()}/"
        return ""

    # -- members ---------------------------------------------------------------------------

    def close(self) -> None:
        if self._zip is not None:
            handle = self._zip.fp
            self._zip.close()
            if self.source is not None and handle is not None:
                handle.close()  # zipfile leaves a file it was given open
            self._zip = None
        if self.source is not None:
            self.source.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def files(self) -> list[Member]:
        """Regular members (no directory entries, links or special files) in archive order."""
        return [m for m in self.members if not (m.is_dir or m.is_symlink or m.special)]

    def get(self, name: str) -> Member | None:
        """The member stored under `name`; for a duplicated name, the last copy, as MMS uses."""
        return self._latest.get(name)

    def in_root(self, name: str) -> Member | None:
        """The member at `name` relative to the model root."""
        return self.get(self.root + name)

    def flattened(self) -> dict[str, Member]:
        """Basename -> member, the way MMS lays an archive out on disk when it loads it (§1.7):
        folders are dropped and the last member with a given basename wins."""
        return {m.basename: m for m in self.files if m.basename}

    def size_limit_reason(self, member: Member) -> str | None:
        """Why the member's declared size or compression ratio is beyond the limits (a
        possible compression bomb), judged from the directory alone, before any inflation."""
        limits = self.limits
        if member.size > limits.max_member_bytes:
            return (
                f"declares {member.size:,} bytes uncompressed, over the limit of "
                f"{limits.max_member_bytes:,}"
            )
        if (
            member.size >= limits.ratio_floor_bytes
            and member.size > limits.max_ratio * member.compressed_size
        ):
            ratio = member.size / max(member.compressed_size, 1)
            return (
                f"declares {member.size:,} bytes from {member.compressed_size:,} compressed, "
                f"a ratio of {ratio:,.0f}:1, over the limit of {limits.max_ratio:,}:1"
            )
        return None

    def refusal(self, member: Member) -> str | None:
        """Why mar-lint will not read the member at all ("is encrypted", ...), if it will not."""
        if member.is_dir or member.is_symlink or member.special:
            return "is not a regular file"
        if member.encrypted:
            return "is encrypted"
        if member.compression.startswith("method "):
            return f"is compressed with an unsupported {member.compression}"
        if member.compression not in PORTABLE_COMPRESSIONS:
            return f"is compressed with {member.compression}, which mar-lint does not inflate"
        return self.layout_problem(member) or self.size_limit_reason(member)

    def layout_problem(self, member: Member) -> str | None:
        """Why the member's bytes are ambiguous (its records disagree, or they overlap another
        member's), judged before reading any of them."""
        if self.layout is None or member.is_dir:
            return None
        if member.index in self.layout.overlapping:
            return "overlaps the bytes of other members (a zip bomb that reuses its data)"
        placement = self.layout.placements[member.index]
        if placement.problems:
            return f"has headers that disagree: {'; '.join(placement.problems)}"
        return None

    def data_start(self, member: Member) -> int:
        """Where a zip member's compressed bytes start in the file (past its local header);
        MemberError when its local header is not where the directory says."""
        placement = self.layout.placements[member.index] if self.layout is not None else None
        if placement is None or placement.data_start is None:
            raise MemberError(f"{member.name} has no local header where the directory says")
        return placement.data_start

    def stream(self, member: Member) -> IO[bytes]:
        """A forward-only stream of the member's bytes (zip CRC checked at its end; a zip
        member never yields more than its declared size). A damaged member raises MemberError
        while it is read; one it will not read (see `refusal`) raises MemberRefused here."""
        reason = self.refusal(member)
        if reason:
            raise MemberRefused(f"{member.name} {reason}")
        try:
            raw: _RawReader
            if self._zip is not None and member.info is not None:
                raw = MemberReader(self.open_file(), member.info, self.data_start(member))
            else:
                # O_NONBLOCK: a file swapped for a named pipe after listing must not hang us.
                flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
                raw = os.fdopen(os.open(self.path / member.name, flags), "rb")
        except (*_READ_ERRORS, RuntimeError) as exc:
            raise _member_error(exc) from exc
        return cast(IO[bytes], _MemberStream(raw))  # a BufferedIOBase: every IO read works

    def seekable_stream(self, member: Member) -> IO[bytes] | None:
        """A seekable stream of a stored zip member's bytes, for readers that skip most of
        them (the params header walk of a remote archive); None for other members. Its CRC
        is never checked: it is not read to its end."""
        reason = self.refusal(member)
        if reason:
            raise MemberRefused(f"{member.name} {reason}")
        info = member.info
        if (
            self._zip is None
            or self.layout is None
            or info is None
            or info.compress_type != zipfile.ZIP_STORED
        ):
            return None
        start = self.data_start(member)
        window = _Window(self.open_file(), start, info.compress_size)
        return cast(IO[bytes], _MemberStream(window))

    def read(self, member: Member, limit: int) -> bytes:
        """All bytes of a member of at most `limit` bytes; read once, kept for later callers."""
        if member.index in self._bytes:
            return self._bytes[member.index]
        if member.size > limit:
            raise MemberTooLarge(
                f"{member.name} is {member.size:,} bytes, over the {limit:,}-byte limit"
            )
        try:
            with self.stream(member) as handle:
                data = handle.read(limit + 1)
        except MemberRefused:
            raise
        except MemberUnavailable as exc:  # not read: nothing to record about the member
            raise MemberUnavailable(f"{member.name} could not be fetched: {exc}") from exc
        except MemberError as exc:
            self.read_results[member.index] = str(exc)
            raise MemberError(f"{member.name} is corrupt: {exc}") from exc
        if len(data) > limit:
            raise MemberTooLarge(f"{member.name} holds more than {limit:,} bytes")
        self.read_results[member.index] = None
        self._bytes[member.index] = data
        return data

    def json(self, member: Member | None) -> JsonDocument:
        """The member parsed as JSON, once per member, under the size and nesting limits."""
        if member is None:
            return JsonDocument(None, error="missing")
        if member.index not in self._json:
            try:
                value, error = parse_json(
                    self.read(member, self.limits.max_json_bytes), self.limits
                )
            except MemberError as exc:
                value, error = None, str(exc)
            self._json[member.index] = JsonDocument(member, value, error)
        return self._json[member.index]

    def verify(self) -> dict[int, str | None]:
        """Read every regular member that nobody has read yet, once, to its end: the
        integrity pass. Returns `read_results`.

        Members `refusal` names are skipped (never inflated); each read stops at the declared
        size, and the pass stops before the members read in total would pass
        `max_total_bytes`, so the work is bounded by the limits whatever the archive claims.
        """
        if self._verified:
            return self.read_results
        self._verified = True
        if self.source is not None and not self.source.verify_crc:
            return self.read_results  # a remote check reads only what the rules need
        budget = self.limits.max_total_bytes
        for member in self.files:
            if self.source is not None and self.source.failure:
                break  # nothing more can be fetched
            if member.index in self.read_results or self.refusal(member):
                continue
            budget -= member.size
            if budget < 0:
                break
            self.read_through(member)
        return self.read_results

    def read_through(self, member: Member, sink: IO[bytes] | None = None) -> str | None:
        """Read a member to its end in chunks, copying them to `sink` if given, and never past
        its declared size (a lying header is cut off there, and its CRC then fails). Records
        and returns the outcome: None, or what is wrong with it."""
        if sink is None and crc_held(self, member):  # read and checked early: mar_lint.crc_pass
            self.read_results[member.index] = None
            return None
        count = 0
        problem = None
        try:
            with self.stream(member) as handle:
                # One byte past the declared size tells a file that grew since it was listed.
                while count <= member.size:
                    chunk = handle.read(min(READ_CHUNK, member.size + 1 - count))
                    if not chunk:
                        break
                    count += len(chunk)
                    if sink is not None:
                        sink.write(chunk)
        except MemberUnavailable as exc:
            return f"could not be fetched: {exc}"  # says nothing about the member: not recorded
        except MemberError as exc:
            problem = str(exc)
        if problem is None and count != member.size:
            problem = f"holds {count:,} bytes where {member.size:,} are declared"
        self.read_results[member.index] = problem
        return problem

    def unverified(self) -> list[Member]:
        """The regular members that were never read to their end (their CRC-32 unchecked),
        besides those refused: after a remote check without --verify-crc, most of the bytes."""
        return [m for m in self.files if m.index not in self.read_results and not self.refusal(m)]


class RangeFile(io.RawIOBase):
    """A read-only, seekable file of `length()` bytes whose reads go to `fetch(start, end)`:
    a stored member read in place (`_Window`), or a remote archive (`mar_lint.remote`)."""

    def __init__(self) -> None:
        super().__init__()
        self._pos = 0

    def length(self) -> int:
        raise NotImplementedError

    def fetch(self, start: int, end: int) -> bytes:
        raise NotImplementedError

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.length()}[whence]
        if base + offset < 0:
            raise OSError(22, "Invalid argument: seek before the start of the file")
        self._pos = base + offset
        return self._pos

    def read(self, size: int | None = -1) -> bytes:
        # Fetched first, then handed over: a hostile size allocates nothing before `fetch`
        # (for a remote archive, the transfer limit) has been consulted.
        left = max(self.length() - self._pos, 0)
        count = left if size is None or size < 0 else min(size, left)
        if count == 0:
            return b""
        data = self.fetch(self._pos, self._pos + count)
        self._pos += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class _Window(RangeFile):
    """`length` bytes of a seekable file from `start`: a stored member read in place."""

    def __init__(self, handle: IO[bytes], start: int, length: int) -> None:
        super().__init__()
        self._handle, self._start, self._length = handle, start, length

    def length(self) -> int:
        return self._length

    def fetch(self, start: int, end: int) -> bytes:
        self._handle.seek(self._start + start)
        return self._handle.read(end - start)

    def close(self) -> None:
        if not self.closed:
            self._handle.close()
        super().close()


class _RawReader(Protocol):
    """What `_MemberStream` reads from: a member reader, a window, or a folder's file."""

    def read(self, size: int, /) -> bytes: ...

    def close(self) -> None: ...


class _MemberStream(io.BufferedIOBase):
    """A member's bytes, with every failure of the decompressors underneath raised as a
    MemberError, so callers catch one exception type whatever the damage."""

    def __init__(self, raw: _RawReader) -> None:
        super().__init__()
        self._raw = raw

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        try:
            return self._raw.read(-1 if size is None else size)
        except MemberDataError as exc:
            raise MemberError(str(exc)) from exc
        except _READ_ERRORS as exc:
            raise _member_error(exc) from exc

    read1 = read

    def seekable(self) -> bool:
        return isinstance(self._raw, _Window)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if not isinstance(self._raw, _Window):
            raise io.UnsupportedOperation("seek")
        return self._raw.seek(offset, whence)

    def tell(self) -> int:
        if not isinstance(self._raw, _Window):
            raise io.UnsupportedOperation("tell")
        return self._raw.tell()

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()
