"""What the container rules (MAR0xx) find in an archive's listing and headers: members MMS
cannot unpack as plain files, names that escape the model folder or exceed the limits, the
leftovers of tools and operating systems, and names that unpack to one file (or to different
files with different tools). Each is a `Reason` (or a `Clash`) a rule turns into a finding.

`ModelView.junk` and `ModelView.name_clashes` work the shared ones out once per archive.
"""

from __future__ import annotations

import fnmatch
import os
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mar_lint.archive import (
    MANIFEST,
    PORTABLE_COMPRESSIONS,
    ArchiveView,
    Member,
    unsafe_path_reason,
)
from mar_lint.text import listed, plural
from mar_lint.zip_layout import Layout, Placement

if TYPE_CHECKING:
    from mar_lint.model import Reference

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
class Reason:
    """One thing wrong with the container."""

    message: str
    member: str | None = None  # None: the archive as a whole
    location: str | None = None  # a JSON pointer into `member`
    # MMS 0.x still loads the archive: a risk with other tools, not a refusal.
    risk_only: bool = False


def unsupported(member: Member) -> Reason | None:
    """Why MMS cannot unpack the member as a plain file; None when it can."""
    # MMS's zipfile writes a link or special member as a plain file holding the target: the
    # danger is in other unzip tools, which MMS does not check for.
    name = member.name
    if member.is_symlink:
        return Reason("is a symbolic link: it can point out of the model folder", name, None, True)
    if member.special:
        return Reason(f"is {member.special}, not a file", name, None, True)
    if member.encrypted:
        return Reason("is encrypted: MMS cannot decrypt it", name)
    if member.is_dir:
        return None
    if member.basename in ("", "."):
        return Reason("has no file name: MMS cannot unpack it to a file", name)
    length = len(member.basename.encode())
    if length > MAX_FILE_NAME_BYTES:
        return Reason(
            f"has a file name of {length} bytes: MMS unpacks it under that name, and file "
            f"systems refuse names over {MAX_FILE_NAME_BYTES}",
            name,
        )
    if member.compression not in PORTABLE_COMPRESSIONS:
        return Reason(
            f"is compressed with {member.compression}: only stored and deflated members "
            "unpack in every MMS (not in MMS 0.x on Python 2, nor in MMS 1.x); mar-lint "
            "does not read it",
            name,
            # MMS 0.x on Python 3 unpacks bzip2 and LZMA (its zipfile can): not a refusal.
            risk_only=not member.compression.startswith("method "),
        )
    return None


def disagreements(members: Sequence[Member], layout: Layout | None) -> Iterator[Reason]:
    """Bytes or records no member accounts for, and members whose local header or data
    descriptor disagrees with the central directory. MMS 0.x's zipfile reads the directory
    and loads the archive, unless the member's own header is missing or names another file."""
    if layout is None:
        return  # a folder: no headers
    for stray in layout.stray:
        yield Reason(stray, risk_only=True)
    for member in members:
        placement = layout.placements[member.index]
        if placement.problems:
            message = f"its headers disagree: {'; '.join(placement.problems)}"
            yield Reason(message, member.name, risk_only=not placement.zipfile_fails)


def inflation_reasons(view: ArchiveView) -> Iterator[Reason]:
    """Members, or the whole archive, that inflate beyond the limits, and members that share
    compressed bytes (the trick behind non-recursive zip bombs); judged by what the directory
    declares, without inflating anything."""
    for member in view.files:
        reason = view.size_limit_reason(member)
        if reason:
            yield Reason(reason, member.name)
    total, limit = sum(m.size for m in view.files), view.limits.max_total_bytes
    if total > limit:
        yield Reason(f"the members declare {total:,} bytes in total, over the limit of {limit:,}")
    if view.layout and view.layout.overlapping:
        overlapping = [repr(view.members[i].name) for i in sorted(view.layout.overlapping)]
        yield Reason(
            f"{view.layout.later_overlaps} members overlap other members' compressed bytes "
            f"({listed(overlapping, 5)}): a zip that reuses its data this way is built to "
            f"inflate far beyond its size; mar-lint inflates none of these "
            f"{len(overlapping)} members"
        )


def unsafe_paths(view: ArchiveView, references: Iterable[Reference]) -> Iterator[Reason]:
    """Member names, names as stored (a NUL byte), Unicode Path extra field names and manifest
    references that could land outside the model folder."""
    for member in view.members:
        reason = unsafe_path_reason(member.name)
        if reason:
            yield Reason(f"member name {member.name!r} {reason}", member.name)
        placement = view.layout.placements[member.index] if view.layout else None
        yield from _stored_name_reasons(member, placement)
    for reference in references:
        value = reference.value
        reason = unsafe_path_reason(value) if isinstance(value, str) else None
        if reason:
            message = f"Model.{reference.key} {value!r} {reason}"
            yield Reason(message, view.root + MANIFEST, reference.pointer)


def _stored_name_reasons(member: Member, placement: Placement | None) -> Iterator[Reason]:
    if placement is None:
        return  # a folder: no headers
    if b"\x00" in placement.raw_name:
        stored = placement.raw_name.decode("utf-8", "replace")
        yield Reason(
            f"member name {stored!r} holds a NUL byte: Python's zipfile (MMS 0.x) cuts it "
            f"to {member.name!r}, other tools keep the rest or refuse it",
            member.name,
        )
    other = placement.unicode_name
    reason = unsafe_path_reason(other) if other else None
    if reason:
        yield Reason(f"the Unicode Path extra field's name {other!r} {reason}", member.name)


def limit_reasons(view: ArchiveView) -> Iterator[Reason]:
    """The folder below which the walk of a model folder stopped, names with too many bytes
    and paths with too many levels."""
    limits = view.limits
    if view.too_deep:
        yield Reason(
            f"folders nest deeper than {limits.max_folder_depth} levels (the limit): what lies "
            "below was not listed or checked",
            _cut(os.path.relpath(view.too_deep, view.path)),
        )
    for member in view.members:
        length = len(member.name.encode("utf-8", "surrogateescape"))
        depth = len([part for part in member.name.split("/") if part])
        if length > limits.max_name_length:
            message = (
                f"the name is {length:,} bytes long, over the limit of {limits.max_name_length:,}"
            )
            yield Reason(message, _cut(member.name))
        elif depth > limits.max_path_depth:
            message = f"the path is {depth} levels deep, over the limit of {limits.max_path_depth}"
            yield Reason(message, _cut(member.name))


def _cut(name: str, keep: int = 200) -> str:
    """A name of thousands of bytes, cut for the report."""
    return name[:keep] + ("..." if len(name) > keep else "")


@dataclass(frozen=True)
class JunkUnit:
    """A junk folder or file, with the members that make it up."""

    unit: str  # "__MACOSX/", "model/.DS_Store"
    what: str
    names: tuple[str, ...]

    @property
    def counted(self) -> str:
        """' (3 members)' for a folder, '' for a file."""
        return f" ({plural(len(self.names), 'member')})" if self.unit.endswith("/") else ""


def junk_units(
    members: Sequence[Member], junk: dict[int, Junk], references: Iterable[Reference]
) -> list[JunkUnit]:
    """The junk the model does not use (a referenced file is never junk), by folder or file."""
    referenced = {m.index for r in references for m in r.matches}
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for member in members:
        found = junk.get(member.index)
        if found and member.index not in referenced:
            groups[found.unit, found.what].append(member.name)
    return [JunkUnit(u, w, tuple(dict.fromkeys(names))) for (u, w), names in groups.items()]


def contents_differ(members: Sequence[Member]) -> bool:
    """Whether the members' contents differ, from the CRC and size the directory declares."""
    declared = {(m.info.CRC, m.size) for m in members if m.info is not None}
    # Folder files have no declared CRC: they would have to be read to compare them.
    return len(declared) > 1 or any(m.info is None for m in members)


@dataclass(frozen=True)
class Clash:
    """Names that unpack to one file, or a file that unpacks under different names."""

    message: str
    member: str  # the name the finding points at
    hint: str | None = None
    warning: bool = False  # identical copies, or a clash on some systems only
    earlier: tuple[Member, ...] = ()  # the earlier copies of a name stored several times


def name_clashes(
    members: Sequence[Member], files: Sequence[Member], layout: Layout | None, junk: set[int]
) -> list[Clash]:
    """The clashes among `members`, of which `files` are the regular files and `junk` the
    indexes of tool leftovers: names that are a file and a folder, names a Unicode Path extra
    field changes, names stored twice, names equal once MMS flattens the archive, and names
    equal but for case or Unicode normalisation."""
    clashes = [*_files_and_folders(members, files), *_tool_names(members, layout)]
    copies: dict[str, list[Member]] = defaultdict(list)
    for member in files:
        copies[member.name].append(member)
    clashes += [_stored_twice(name, same) for name, same in copies.items() if len(same) > 1]
    by_basename: dict[str, list[Member]] = defaultdict(list)
    for kept in (same_name[-1] for same_name in copies.values()):
        if kept.basename and kept.index not in junk:
            by_basename[kept.basename].append(kept)
    clashes += [_flattened(base, found) for base, found in by_basename.items() if len(found) > 1]
    by_case: dict[str, list[str]] = defaultdict(list)
    for basename in sorted(by_basename):
        by_case[unicodedata.normalize("NFC", basename).casefold()].append(basename)
    return clashes + [_look_alikes(names) for names in by_case.values() if len(names) > 1]


def _files_and_folders(members: Sequence[Member], regular: Sequence[Member]) -> Iterator[Clash]:
    files = {m.name for m in regular}
    folders = {m.name.rstrip("/") for m in members if m.is_dir}
    for name in files:
        parts = name.split("/")
        folders.update("/".join(parts[:depth]) for depth in range(1, len(parts)))
    for name in sorted(files & folders):
        message = f"{name!r} is both a file and a folder: unzip tools fail on one of them"
        yield Clash(message, name, "rename the file or the folder")


def _tool_names(members: Sequence[Member], layout: Layout | None) -> Iterator[Clash]:
    if layout is None:
        return  # a folder: no headers
    for member in members:
        placement = layout.placements[member.index]
        other = placement.unicode_name
        if other is None or member.info is None:
            continue
        # The header's own name, as MMS 0.x's zipfile decodes it (Python 3.12+'s zipfile
        # applies the extra field itself, so `member.name` may already be the field's).
        utf8 = member.info.flag_bits & 0x800
        header = placement.raw_name.decode("utf-8" if utf8 else "cp437", "replace")
        if other != header:
            yield Clash(
                f"its Unicode Path extra field names it {other!r}: Info-ZIP unzip and 7-Zip "
                f"unpack it under that name, zipfile (MMS 0.x) as {header!r}",
                member.name,
                "rebuild the archive, so that every tool sees one name",
            )


def _stored_twice(name: str, copies: list[Member]) -> Clash:
    count = len(copies)
    if contents_differ(copies):
        message = (
            f"{name!r} is stored {count} times with different contents: MMS uses the last "
            "copy, other tools may use the first"
        )
        return Clash(message, name, earlier=tuple(copies[:-1]))
    message = f"{name!r} is stored {count} times (identical copies): MMS uses the last"
    return Clash(message, name, warning=True, earlier=tuple(copies[:-1]))


def _flattened(basename: str, colliding: list[Member]) -> Clash:
    names, last = ", ".join(repr(m.name) for m in colliding), colliding[-1].name
    return Clash(
        f"{names} {'both' if len(colliding) == 2 else 'all'} become {basename!r} when MMS "
        f"flattens the archive: the last, {last!r}, overwrites the others",
        last,
        "give the files different names",
        warning=not contents_differ(colliding),
    )


def _look_alikes(names: list[str]) -> Clash:
    """Equal but for case (they clash on macOS and Windows) or for Unicode normalisation
    only (`café` composed or decomposed: they clash on macOS)."""
    normalisation_only = len({unicodedata.normalize("NFC", n) for n in names}) == 1
    how = "Unicode normalisation" if normalisation_only else "case"
    where = "macOS" if normalisation_only else "macOS and Windows"
    return Clash(
        f"{', '.join(map(ascii, names))} differ only in {how}: on {where} one overwrites the other",
        names[-1],
        f"give the files names that differ in more than {how}",
        warning=True,
    )
