"""What the container rules (MAR0xx) know about an archive's members beyond their bytes: the
leftovers of tools and operating systems, members MMS cannot unpack as plain files, and names
that unpack to one file (or to different files with different tools).

`ModelView.junk` and `ModelView.name_clashes` work these out once per archive.
"""

from __future__ import annotations

import fnmatch
import unicodedata
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from mar_lint.archive import PORTABLE_COMPRESSIONS, Member, unsafe_path_reason
from mar_lint.limits import Limits
from mar_lint.zip_layout import Layout, Placement

# NAME_MAX of ext4, XFS, APFS: MMS writes every member under its file name.
MAX_FILE_NAME_BYTES = 255

# Folders and files that tools and operating systems leave behind (§2.1: model-archiver skips
# most of them), with what they are.
JUNK_FOLDERS = {
    "__MACOSX": "macOS Finder metadata",
    "__pycache__": "Python bytecode cache",
    ".git": "a Git repository",
    ".svn": "a Subversion working copy",
    ".hg": "a Mercurial repository",
    ".ipynb_checkpoints": "Jupyter checkpoints",
}
JUNK_FILES = {
    "._*": "macOS AppleDouble metadata",
    ".DS_Store": "macOS Finder metadata",
    "Thumbs.db": "a Windows thumbnail cache",
    "*.pyc": "Python bytecode",
    "*.pyo": "Python bytecode",
    "*.sw[po]": "a Vim swap file",
    "*~": "an editor backup file",
    ".#*": "an Emacs lock file",
    "#*#": "an Emacs auto-save file",
    "*.log": "a log file",
    "nohup.out": "a log file",
}


@dataclass(frozen=True)
class Junk:
    """A member that a tool or an operating system left behind."""

    unit: str  # the junk folder ("__MACOSX/") or file the member belongs to
    what: str  # what it is ("macOS Finder metadata")


def junk(member: Member) -> Junk | None:
    """The junk folder or file the member belongs to, and what it is; None for real content."""
    parts = member.name.rstrip("/").split("/")
    folders = parts if member.is_dir else parts[:-1]
    for depth, part in enumerate(folders):
        if part in JUNK_FOLDERS:
            return Junk("/".join(parts[: depth + 1]) + "/", JUNK_FOLDERS[part])
    if not member.is_dir:
        for pattern, what in JUNK_FILES.items():
            if fnmatch.fnmatchcase(parts[-1], pattern):
                return Junk(member.name, what)
    return None


@dataclass(frozen=True)
class Unsupported:
    """Why MMS cannot unpack a member as a plain file."""

    problem: str
    unpacked: bool  # MMS 0.x on Python 3 still unpacks it (as a file holding a link's target)


def unsupported(member: Member) -> Unsupported | None:
    """Why MMS cannot unpack the member as a plain file; None when it can."""
    # MMS's zipfile writes a link or special member as a plain file holding the target: the
    # danger is in other unzip tools, which MMS does not check for.
    if member.is_symlink:
        return Unsupported("is a symbolic link: it can point out of the model folder", True)
    if member.special:
        return Unsupported(f"is {member.special}, not a file", True)
    if member.encrypted:
        return Unsupported("is encrypted: MMS cannot decrypt it", False)
    if member.is_dir:
        return None
    if member.basename in ("", "."):
        return Unsupported("has no file name: MMS cannot unpack it to a file", False)
    length = len(member.basename.encode())
    if length > MAX_FILE_NAME_BYTES:
        return Unsupported(
            f"has a file name of {length} bytes: MMS unpacks it under that name, and file "
            f"systems refuse names over {MAX_FILE_NAME_BYTES}",
            False,
        )
    if member.compression not in PORTABLE_COMPRESSIONS:
        return Unsupported(
            f"is compressed with {member.compression}: only stored and deflated members "
            "unpack in every MMS (not in MMS 0.x on Python 2, nor in MMS 1.x); mar-lint "
            "does not read it",
            # MMS 0.x on Python 3 unpacks bzip2 and LZMA (its zipfile can): not a refusal.
            not member.compression.startswith("method "),
        )
    return None


def unsafe_name_reasons(member: Member, placement: Placement | None) -> Iterator[str]:
    """Why the member's names could land outside the model folder or unpack otherwise: its
    name, the name as stored (a NUL byte), and its Unicode Path extra field's name."""
    reason = unsafe_path_reason(member.name)
    if reason:
        yield f"member name {member.name!r} {reason}"
    if placement is None:
        return  # a folder: no headers
    if b"\x00" in placement.raw_name:
        stored = placement.raw_name.decode("utf-8", "replace")
        yield (
            f"member name {stored!r} holds a NUL byte: Python's zipfile (MMS 0.x) cuts it "
            f"to {member.name!r}, other tools keep the rest or refuse it"
        )
    other = placement.unicode_name
    reason = unsafe_path_reason(other) if other else None
    if reason:
        yield f"the Unicode Path extra field's name {other!r} {reason}"


def limit_reason(member: Member, limits: Limits) -> str | None:
    """Why the member's name is beyond the limits: too many bytes, or too many levels."""
    length = len(member.name.encode("utf-8", "surrogateescape"))
    if length > limits.max_name_length:
        return f"the name is {length:,} bytes long, over the limit of {limits.max_name_length:,}"
    depth = len([part for part in member.name.split("/") if part])
    if depth > limits.max_path_depth:
        return f"the path is {depth} levels deep, over the limit of {limits.max_path_depth}"
    return None


def contents_differ(members: Sequence[Member]) -> bool:
    """Whether the members' contents differ, from the CRC and size the directory declares."""
    declared = {(m.info.CRC, m.size) for m in members if m.info is not None}
    # Folder files have no declared CRC: they would have to be read to compare them.
    return len(declared) > 1 or any(m.info is None for m in members)


@dataclass(frozen=True)
class ToolNames:
    """A member whose Unicode Path extra field names it otherwise than its header."""

    member: Member
    unicode_name: str  # the name Info-ZIP unzip and 7-Zip unpack it under
    header_name: str  # the name Python's zipfile (MMS 0.x) unpacks it under


@dataclass(frozen=True)
class LookAlikes:
    """Base names equal but for case (they clash on macOS and Windows) or for Unicode
    normalisation only (`café` composed or decomposed: they clash on macOS)."""

    names: list[str]
    normalisation_only: bool


@dataclass(frozen=True)
class NameClashes:
    """Names that unpack to one file, or to different files with different tools."""

    copies: dict[str, list[Member]]  # a name stored more than once -> every copy, in order
    # a base name that the last copies of several names share once MMS flattens the archive
    # (junk aside) -> those members
    flattened: dict[str, list[Member]]
    look_alikes: list[LookAlikes]
    file_and_folder: list[str]  # names that are a file and a folder at once
    tool_names: list[ToolNames]


def name_clashes(
    members: Sequence[Member], files: Sequence[Member], layout: Layout | None, junk: set[int]
) -> NameClashes:
    """The clashes among `members`, of which `files` are the regular files and `junk` the
    indexes of tool leftovers."""
    copies: dict[str, list[Member]] = defaultdict(list)
    for member in files:
        copies[member.name].append(member)
    by_basename: dict[str, list[Member]] = defaultdict(list)
    for kept in (same_name[-1] for same_name in copies.values()):
        if kept.basename and kept.index not in junk:
            by_basename[kept.basename].append(kept)
    by_case: dict[str, list[str]] = defaultdict(list)
    for basename in sorted(by_basename):
        by_case[unicodedata.normalize("NFC", basename).casefold()].append(basename)
    return NameClashes(
        copies={name: same for name, same in copies.items() if len(same) > 1},
        flattened={base: found for base, found in by_basename.items() if len(found) > 1},
        look_alikes=[
            LookAlikes(names, len({unicodedata.normalize("NFC", n) for n in names}) == 1)
            for names in by_case.values()
            if len(names) > 1
        ],
        file_and_folder=_files_and_folders(members, files),
        tool_names=_tool_names(members, layout),
    )


def _files_and_folders(members: Sequence[Member], regular: Sequence[Member]) -> list[str]:
    files = {m.name for m in regular}
    folders = {m.name.rstrip("/") for m in members if m.is_dir}
    for name in files:
        parts = name.split("/")
        folders.update("/".join(parts[:depth]) for depth in range(1, len(parts)))
    return sorted(files & folders)


def _tool_names(members: Sequence[Member], layout: Layout | None) -> list[ToolNames]:
    if layout is None:
        return []  # a folder: no headers
    found = []
    for member in members:
        placement = layout.placements[member.index]
        if placement.unicode_name is None or member.info is None:
            continue
        # The header's own name, as MMS 0.x's zipfile decodes it (Python 3.12+'s zipfile
        # applies the extra field itself, so `member.name` may already be the field's).
        utf8 = member.info.flag_bits & 0x800
        header = placement.raw_name.decode("utf-8" if utf8 else "cp437", "replace")
        if placement.unicode_name != header:
            found.append(ToolNames(member, placement.unicode_name, header))
    return found
