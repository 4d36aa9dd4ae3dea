"""The archive view: the members of a `.model` zip read in place, or of an unpacked model folder.

Every archive is hostile until proven otherwise. The view never extracts anything to disk,
never follows links out of a model folder, caps every read, and parses each JSON member at
most once (the parsed value is shared by every rule that asks for it).
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import stat
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from mar_lint.limits import Limits

MANIFEST = "MANIFEST.json"
LFS_POINTER_PREFIX = b"version https://git-lfs.github.com/spec/"

# Folders that operating systems and tools add beside the real content; they do not count
# when deciding whether an archive was made of a folder instead of its contents.
_JUNK_TOP_LEVEL = ("__MACOSX",)

_COMPRESSION_NAMES = {
    zipfile.ZIP_STORED: "stored",
    zipfile.ZIP_DEFLATED: "deflated",
    zipfile.ZIP_BZIP2: "bzip2",
    zipfile.ZIP_LZMA: "lzma",
}


class MemberError(Exception):
    """A member could not be read: too large, corrupt, or not a regular file."""


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

    @property
    def basename(self) -> str:
        """The name MMS gives the file when it flattens the archive on load (§1.7)."""
        return posixpath.basename(self.name.rstrip("/"))


@dataclass(frozen=True)
class JsonDocument:
    """A JSON member parsed once: either `value` or the reason it could not be read."""

    member: Member | None
    value: Any = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.member is not None and self.error is None


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


_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_JSON_BRACKET = re.compile(rb"[\[\]{}]")


def json_depth_exceeds(data: bytes, limit: int) -> bool:
    """True when JSON text nests deeper than `limit`, found without parsing it.

    Python's parser recurses per level, so a member made of 200,000 `[` must be refused
    before it reaches `json.loads`.
    """
    if data.count(b"[") + data.count(b"{") <= limit:
        return False
    depth = 0
    for bracket in _JSON_BRACKET.finditer(_JSON_STRING.sub(b'""', data)):
        if bracket.group() in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def parse_json(data: bytes, limits: Limits) -> tuple[Any, str | None]:
    """Parse JSON bytes under the nesting limit: (value, None) or (None, why it failed)."""
    if json_depth_exceeds(data, limits.max_json_depth):
        return None, f"JSON nests deeper than {limits.max_json_depth} levels"
    try:
        return json.loads(data), None
    except UnicodeDecodeError as exc:
        return None, f"not UTF-8 text ({exc.reason} at byte {exc.start})"
    except json.JSONDecodeError as exc:
        return None, f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
    except (ValueError, RecursionError) as exc:
        return None, f"not valid JSON: {exc}"


class ArchiveView:
    """Read-only access to the members of one archive or model folder."""

    def __init__(self, path: Path, limits: Limits | None = None) -> None:
        self.path = Path(path)
        self.limits = limits or Limits()
        self.kind = "folder" if self.path.is_dir() else "zip"
        self.unreadable: str | None = None  # why this is not an archive we can read (MAR001)
        self.members: tuple[Member, ...] = ()
        self._zip: zipfile.ZipFile | None = None
        self._json: dict[int, JsonDocument] = {}
        self._bytes: dict[int, bytes] = {}
        # Member index -> None when it was read to its end (zip CRC verified), or why reading
        # failed. Whoever streams a member records it here, so integrity checks never read a
        # member a second time.
        self.read_results: dict[int, str | None] = {}
        try:
            if self.kind == "folder":
                self.members = tuple(self._walk_folder())
            else:
                self._open_zip()
        except OSError as exc:
            self.unreadable = f"cannot read the file: {exc.strerror or exc}"
        if self.unreadable is None and not any(not m.is_dir for m in self.members):
            self.unreadable = f"the {self.kind} holds no files"
        self.root = self._find_root()
        self._latest = {m.name: m for m in self.members}  # a duplicate name: the last copy wins

    # -- opening ---------------------------------------------------------------------------

    def _open_zip(self) -> None:
        with open(self.path, "rb") as handle:
            head = handle.read(512)
            size = os.fstat(handle.fileno()).st_size
        try:
            self._zip = zipfile.ZipFile(self.path)
            infos = self._zip.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError) as exc:
            if head.startswith(b"PK") and size > 0:
                reason = sniff_format(head, size)
                if "truncated" not in reason:
                    reason = f"the zip is damaged: {exc}"
                self.unreadable = reason
            else:
                self.unreadable = sniff_format(head, size)
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
            is_dir=info.is_dir(),
            is_symlink=stat.S_ISLNK(unix_mode),
            encrypted=bool(info.flag_bits & 0x1),
            info=info,
        )

    def _walk_folder(self) -> Iterator[Member]:
        index = 0
        for top, dirs, files in os.walk(self.path):  # never follows directory links
            dirs.sort()
            for name in sorted(files) + [d for d in dirs if os.path.islink(os.path.join(top, d))]:
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
                )
                index += 1
                if index > self.limits.max_members:
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
            self._zip.close()
            self._zip = None

    def __enter__(self) -> ArchiveView:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def files(self) -> list[Member]:
        """Regular members (no directory entries, no links) in archive order."""
        return [m for m in self.members if not m.is_dir and not m.is_symlink]

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

    def stream(self, member: Member) -> IO[bytes]:
        """A forward-only stream of the member's bytes (zip CRC checked at its end)."""
        if member.is_symlink or member.is_dir:
            raise MemberError(f"{member.name} is not a regular file")
        if member.encrypted:
            raise MemberError(f"{member.name} is encrypted")
        try:
            if self._zip is not None:
                return self._zip.open(member.info)  # type: ignore[arg-type]
            flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
            return os.fdopen(os.open(self.path / member.name, flags), "rb")
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError) as exc:
            raise MemberError(f"cannot read {member.name}: {exc}") from exc

    def read(self, member: Member, limit: int) -> bytes:
        """All bytes of a member of at most `limit` bytes; read once, kept for later callers."""
        if member.index in self._bytes:
            return self._bytes[member.index]
        if member.size > limit:
            raise MemberError(
                f"{member.name} is {member.size:,} bytes, over the {limit:,}-byte limit"
            )
        try:
            with self.stream(member) as handle:
                data = handle.read(limit + 1)
        except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError) as exc:
            self.read_results[member.index] = str(exc)
            raise MemberError(f"{member.name} is corrupt: {exc}") from exc
        if len(data) > limit:
            raise MemberError(f"{member.name} holds more than {limit:,} bytes")
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
