"""The zip container: can it be read, and is its layout what MMS expects?"""

from __future__ import annotations

import fnmatch
import os
import unicodedata
from collections import defaultdict
from collections.abc import Iterator

from mar_lint.archive import MANIFEST, PORTABLE_COMPRESSIONS, Member, unsafe_path_reason
from mar_lint.findings import Consequence, Fix, Problem, RemoveMember, RenameMember, Severity
from mar_lint.model import ModelView
from mar_lint.registry import rule

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


@rule(
    "MAR001",
    "archive-unreadable",
    "error",
    "the file is not a readable zip archive (empty, truncated, LFS pointer, other format)",
    on_unreadable=True,
    consequence=Consequence.REFUSED,
)
def archive_unreadable(view: ModelView) -> Iterator[Problem]:
    """Why it matters: MMS unzips the archive before anything else; when that fails the model
    never loads, and the server's message ("Failed to open model file") does not say why.
    Common causes: a Git LFS pointer committed instead of the archive (run `git lfs pull`), an
    interrupted download or copy (a truncated zip), a web page saved under the archive's name,
    or a `.tar.gz` renamed to `.model`.

    Example: `resnet-18.model` is 133 bytes, a Git LFS pointer:

        version https://git-lfs.github.com/spec/v1
        oid sha256:4d0f6c8b3e1f4a2d9c7b5e3a1f0d8c6b4a2e0f9d7c5b3a1e8f6d4c2b0a9e7f5d
        size 46839420

    Fix: rebuild the archive with `mxnet-model-export`, or fetch the real file again.
    """
    if view.unreadable and not view.refused:  # a refused archive is readable: MAR009 says why
        yield Problem(view.unreadable, hint="rebuild the archive or fetch the real file again")


@rule(
    "MAR002",
    "member-corrupt",
    "error",
    "a member fails its CRC or size check, cannot be read, or the zip's records disagree",
    consequence=Consequence.REFUSED,
)
def member_corrupt(view: ModelView) -> Iterator[Problem]:
    """Why it matters: every member is read once, to its end, and checked against the size and
    CRC-32 the zip declares. A member that fails was damaged after it was zipped (a bad copy,
    a truncated upload, a disk error, or tampering): MMS either fails to unpack the archive
    ("Failed to open model file") or, for a stored member whose CRC nobody checks, serves wrong
    weights. A local header or data descriptor that disagrees with the central directory, or
    bytes no entry accounts for (another archive prepended), make a different archive for tools
    that stream the local headers (java.util.zip, which MMS 1.x uses): mar-lint reads no such
    member.

    Example: `unzip -t` on an archive whose weights were damaged in transit:

        testing: resnet-18-0000.params   bad CRC 5e2b1f0a  (should be 9c1d33e7)

    Fix: rebuild the archive from the original files, or fetch it again.
    """
    rebuild = "rebuild the archive from the original files"
    risk = Consequence.UNCHECKED_RISK  # MMS 0.x's zipfile reads the directory and loads it
    for problem in view.layout.stray if view.layout else ():
        yield Problem(problem, hint=rebuild, consequence=risk)
    for member in view.members:
        placement = view.layout.placements[member.index] if view.layout else None
        if placement and placement.problems:
            yield Problem(
                f"its headers disagree: {'; '.join(placement.problems)}",
                member=member.name,
                hint=rebuild,
                consequence=None if placement.zipfile_fails else risk,
            )
    # The members the model needs are read by their readers first: no member is read twice.
    view.manifest, view.signature, view.symbol, view.params  # noqa: B018
    results = view.verify()
    for member in view.files:
        failure = results.get(member.index)
        if failure and not view.refusal(member):  # refused members: MAR004 and MAR006
            yield Problem(f"cannot be read: {failure}", member=member.name)


@rule(
    "MAR004",
    "unsupported-member",
    "error",
    "a member is a link or special file, encrypted, or compressed in a way MMS cannot unpack",
    consequence=Consequence.REFUSED,
)
def unsupported_member(view: ModelView) -> Iterator[Problem]:
    """Why it matters: MMS unpacks every member as a plain file. A symbolic link either breaks the
    unpack or, where links are restored, points the server at a file outside the model
    (`/etc/passwd`, a credentials file); a named pipe or device blocks or never ends. MMS has
    no password for an encrypted member, and only stored and deflated members unpack in every
    MMS release: MMS 0.x on Python 3 unpacks bzip2 and LZMA too, but on Python 2 (its zipfile)
    and MMS 1.x (java.util.zip) know no other method. mar-lint reads none of these members, so
    nothing else is checked in them. MMS writes each member under its file name, so a name
    over 255 bytes fails the unpack ("File name too long" on Linux and macOS file systems).

    Example: `zip --symlinks` stored a link, and `zip -e` an encrypted member:

        synset.txt -> /etc/passwd        (a symbolic link)
        resnet-18-0000.params            (encrypted)

    Fix: zip the real files (`zip` without `--symlinks` and without `-e`; `mxnet-model-export`
    does this), with the default compression.
    """
    for member in view.members:
        # MMS's zipfile writes a link or special member as a plain file holding the target:
        # the danger is in other unzip tools, which MMS does not check for.
        unpacked = bool(member.is_symlink or member.special)
        if member.is_symlink:
            problem = "is a symbolic link: it can point out of the model folder"
        elif member.special:
            problem = f"is {member.special}, not a file"
        elif member.encrypted:
            problem = "is encrypted: MMS cannot decrypt it"
        elif not member.is_dir and member.basename in ("", "."):
            problem = "has no file name: MMS cannot unpack it to a file"
        elif not member.is_dir and len(member.basename.encode()) > MAX_FILE_NAME_BYTES:
            problem = (
                f"has a file name of {len(member.basename.encode())} bytes: MMS unpacks it "
                f"under that name, and file systems refuse names over {MAX_FILE_NAME_BYTES}"
            )
        elif not member.is_dir and member.compression not in PORTABLE_COMPRESSIONS:
            problem = (
                f"is compressed with {member.compression}: only stored and deflated members "
                "unpack in every MMS (not in MMS 0.x on Python 2, nor in MMS 1.x); mar-lint "
                "does not read it"
            )
            # MMS 0.x on Python 3 unpacks bzip2 and LZMA (its zipfile can): not a refusal.
            unpacked = not member.compression.startswith("method ")
        else:
            continue
        yield Problem(
            problem,
            member=member.name,
            consequence=Consequence.UNCHECKED_RISK if unpacked else None,
        )


@rule(
    "MAR005",
    "duplicate-member",
    "error",
    "two members have the same name, or the same file name once MMS flattens the archive",
    consequence=Consequence.UNCHECKED_RISK,
)
def duplicate_member(view: ModelView) -> Iterator[Problem]:
    """Why it matters: a zip can hold one name twice (re-exporting from a folder that still holds
    an old MANIFEST.json does it). MMS uses the last copy, `unzip` stops to ask which to keep,
    and other tools take the first. MMS 0.x also flattens the archive when it unpacks it
    (§1.7): `a/labels.txt` and `b/labels.txt` both become `labels.txt`, and the last one
    silently wins. Names that differ only in case overwrite each other on macOS and Windows,
    and names that differ only in Unicode normalisation (`café` composed or decomposed) on
    macOS. A name that is both a file and a folder, or a Unicode Path extra field naming the
    file otherwise (Info-ZIP unzip and 7-Zip use it, zipfile does not), unpack as different
    files with different tools.

    Example: a zip listing with one name twice and two names MMS flattens to one:

        MANIFEST.json        (the old export's)
        MANIFEST.json        (the new one: MMS uses this copy)
        a/labels.txt
        b/labels.txt         (MMS unpacks both as labels.txt; this one wins)

    Fix: keep one copy of each file, and give files in different folders different names.

    Repack: safe and unsafe: it drops the earlier copies of identical duplicates (safe); when
    the copies differ it keeps the last, the one MMS uses, only with `--unsafe-fixes`.
    """
    yield from _ambiguous_names(view)
    copies: dict[str, list[Member]] = defaultdict(list)
    for member in view.files:
        copies[member.name].append(member)
    for name, same_name in copies.items():
        if len(same_name) > 1:
            yield _duplicate_name(name, same_name)
    by_basename: dict[str, list[Member]] = defaultdict(list)
    for kept in (same_name[-1] for same_name in copies.values()):
        if kept.basename and not _junk(kept):
            by_basename[kept.basename].append(kept)
    for basename, colliding in by_basename.items():
        if len(colliding) > 1:
            yield _flattened_collision(basename, colliding)
    by_case: dict[str, list[str]] = defaultdict(list)
    for basename in sorted(by_basename):
        by_case[unicodedata.normalize("NFC", basename).casefold()].append(basename)
    for variants in by_case.values():
        if len(variants) > 1:
            same_letters = len({unicodedata.normalize("NFC", v) for v in variants}) == 1
            how = "Unicode normalisation" if same_letters else "case"
            where = "macOS" if same_letters else "macOS and Windows"
            yield Problem(
                f"{', '.join(map(ascii, variants))} differ only in {how}: on {where} one "
                "overwrites the other",
                member=variants[-1],
                severity=Severity.WARNING,
                hint=f"give the files names that differ in more than {how}",
            )


def _ambiguous_names(view: ModelView) -> Iterator[Problem]:
    """Names other tools unpack differently: a file that is also a folder, and a Unicode
    Path extra field that names the member otherwise."""
    files = {m.name for m in view.files}
    folders = {m.name.rstrip("/") for m in view.members if m.is_dir}
    for name in files:
        parts = name.split("/")
        folders.update("/".join(parts[:depth]) for depth in range(1, len(parts)))
    for name in sorted(files & folders):
        yield Problem(
            f"{name!r} is both a file and a folder: unzip tools fail on one of them",
            member=name,
            hint="rename the file or the folder",
        )
    for member in view.members:
        placement = view.layout.placements[member.index] if view.layout else None
        other = placement.unicode_name if placement else None
        if other is None or member.info is None:
            continue
        # The header's own name, as MMS 0.x's zipfile decodes it (Python 3.12+'s zipfile
        # applies the extra field itself, so `member.name` may already be the field's).
        utf8 = member.info.flag_bits & 0x800
        header = placement.raw_name.decode("utf-8" if utf8 else "cp437", "replace")  # type: ignore[union-attr]
        if other != header:
            yield Problem(
                f"its Unicode Path extra field names it {other!r}: Info-ZIP unzip and 7-Zip "
                f"unpack it under that name, zipfile (MMS 0.x) as {header!r}",
                member=member.name,
                hint="rebuild the archive, so that every tool sees one name",
            )


def _flattened_collision(basename: str, colliding: list[Member]) -> Problem:
    names = ", ".join(repr(m.name) for m in colliding)
    return Problem(
        f"{names} {'both' if len(colliding) == 2 else 'all'} become {basename!r} when MMS "
        f"flattens the archive: the last, {colliding[-1].name!r}, overwrites the others",
        member=colliding[-1].name,
        severity=None if _differ(colliding) else Severity.WARNING,
        hint="give the files different names",
    )


def _differ(members: list[Member]) -> bool:
    """Whether the members' contents differ, from the CRC and size the directory declares."""
    if any(m.info is None for m in members):
        return True  # folder files would have to be read to compare them
    return len({(m.info.CRC, m.size) for m in members}) > 1  # type: ignore[union-attr]


def _duplicate_name(name: str, copies: list[Member]) -> Problem:
    earlier = copies[:-1]
    drop = tuple(RemoveMember(name, index=m.index) for m in earlier)
    if _differ(copies):
        return Problem(
            f"{name!r} is stored {len(copies)} times with different contents: MMS uses the "
            "last copy, other tools may use the first",
            member=name,
            fix=Fix(f"keep only the last copy of {name!r}", drop, safe=False),
        )
    return Problem(
        f"{name!r} is stored {len(copies)} times (identical copies): MMS uses the last",
        member=name,
        severity=Severity.WARNING,
        fix=Fix(
            f"drop the earlier identical {_count(earlier, 'copy', 'copies')} of {name!r}", drop
        ),
    )


@rule(
    "MAR006",
    "compression-bomb",
    "error",
    "a member or the whole archive inflates beyond the size or ratio limits (a zip bomb)",
    consequence=Consequence.UNCHECKED_RISK,
)
def compression_bomb(view: ModelView) -> Iterator[Problem]:
    """Why it matters: MMS unpacks the whole archive to disk before it loads anything, and nothing
    limits sizes. A member that inflates a thousand times or to gigabytes (a "zip bomb"), or
    members that share the same compressed bytes (overlapping entries, the trick behind
    non-recursive zip bombs), fill the server's disk or memory. mar-lint judges members by what
    the zip directory declares and never inflates them past their declared size.

    Example: `unzip -v` on a 9 MB archive with a member of 9 GB:

         Length   Method    Size  Cmpr  Name
        9000000000  Defl:X  8736829  100%  padding.bin

    Fix: if the member is real, store it without the extreme padding that compresses so well;
    otherwise remove it. Raise the limits (`[limits]` in `.mar-lint.toml`: `max-ratio`,
    `max-member-bytes`, `max-total-bytes`) only for archives you trust.
    """
    for member in view.files:
        reason = view.size_limit_reason(member)
        if reason:
            yield Problem(reason, member=member.name)
    total = sum(m.size for m in view.files)
    if total > view.limits.max_total_bytes:
        yield Problem(
            f"the members declare {total:,} bytes in total, over the limit of "
            f"{view.limits.max_total_bytes:,}"
        )
    if view.layout and view.layout.overlapping:
        overlapping = sorted(view.layout.overlapping)
        names = ", ".join(repr(view.members[i].name) for i in overlapping[:5])
        more = f" and {len(overlapping) - 5} more" if len(overlapping) > 5 else ""
        yield Problem(
            f"{view.layout.later_overlaps} members overlap other members' compressed bytes "
            f"({names}{more}): a zip that reuses its data this way is built to inflate far "
            f"beyond its size; mar-lint inflates none of these {len(overlapping)} members"
        )


@rule(
    "MAR003",
    "unsafe-path",
    "error",
    "a member name or manifest reference escapes the model folder",
    consequence=Consequence.UNCHECKED_RISK,
)
def unsafe_path(view: ModelView) -> Iterator[Problem]:
    """Why it matters: member names and manifest references must stay inside the model folder.
    MMS 0.x flattens names by their base name, but MMS 1.x unzips without checking
    (`ZipUtils.unzip`): a member named `../../etc/cron.d/x` or `/etc/x` is written outside the
    model store ("zip slip"), and so do other unzip tools. A backslash or a drive letter is a
    Windows path that breaks on Linux servers.

    Example: a zip listing and a manifest reference that leave the model folder:

        ../../etc/cron.d/mar-lint
        "Model": {"Symbol": "/tmp/resnet-18-symbol.json", ...}

    Fix: rebuild the archive from the model folder itself, with relative names only, and name
    files in MANIFEST.json by their plain file names.
    """
    for member in view.members:
        reason = unsafe_path_reason(member.name)
        if reason:
            yield Problem(f"member name {member.name!r} {reason}", member=member.name)
        placement = view.layout.placements[member.index] if view.layout else None
        if placement and b"\x00" in placement.raw_name:
            stored = placement.raw_name.decode("utf-8", "replace")
            yield Problem(
                f"member name {stored!r} holds a NUL byte: Python's zipfile (MMS 0.x) cuts it "
                f"to {member.name!r}, other tools keep the rest or refuse it",
                member=member.name,
            )
        reason = unsafe_path_reason(placement.unicode_name or "") if placement else None
        if reason:
            yield Problem(
                f"the Unicode Path extra field's name {placement.unicode_name!r} {reason}",  # type: ignore[union-attr]
                member=member.name,
            )
    for reference in view.references.values():
        if isinstance(reference.value, str):
            reason = unsafe_path_reason(reference.value)
            if reason:
                yield Problem(
                    f"Model.{reference.key} {reference.value!r} {reason}",
                    member=view.root + MANIFEST,
                    location=reference.pointer,
                )


@rule(
    "MAR007",
    "nested-root",
    "warning",
    "every member sits under one top-level folder: a folder was zipped instead of its contents",
    consequence=Consequence.UNCHECKED_RISK,
)
def nested_root(view: ModelView) -> Iterator[Problem]:
    """Why it matters: `mxnet-model-export` writes every member at the root of the archive. An
    archive made with `zip -r model.model mymodel/` puts them all under `mymodel/`: MMS 0.x
    flattens the names when it unpacks, MMS 1.x looks one folder down for the manifest, but
    other tools (and a manifest that names `mymodel/signature.json`) do not.

    Example: every member under one folder:

        mymodel/MANIFEST.json
        mymodel/signature.json
        mymodel/resnet-18-symbol.json
        mymodel/resnet-18-0000.params

    Fix: zip the folder's contents (`cd mymodel && zip -r ../mymodel.model .`).

    Repack: safe: it moves every member up to the root.
    """
    if not view.root:
        return
    renames = tuple(
        RenameMember(m.name, m.name[len(view.root) :])
        for m in view.members
        if m.name.startswith(view.root) and m.name != view.root
    )
    yield Problem(
        f"every member is inside the folder {view.root!r}: the folder was zipped instead of "
        "its contents",
        fix=Fix(f"move the {len(renames)} members of {view.root!r} to the archive root", renames),
    )


@rule(
    "MAR008",
    "junk-member",
    "warning",
    "the archive holds OS, editor or tool leftovers (__MACOSX, .DS_Store, *.pyc, .git, logs)",
    consequence=Consequence.UNCHECKED_RISK,
)
def junk_member(view: ModelView) -> Iterator[Problem]:
    """Why it matters: zipping a model folder by hand picks up whatever sits in it: Finder
    metadata (`__MACOSX/`, `._*`, `.DS_Store`), bytecode caches, a `.git` folder, editor swap
    files, training logs. MMS unpacks all of it next to the model: it wastes space and time,
    and a `.git` folder or a log can leak credentials and internal paths to whoever gets the
    archive.

    Example: a zip listing made on a Mac from a Git checkout:

        __MACOSX/._resnet-18-0000.params
        .DS_Store
        .git/config
        train.log

    Fix: build archives with `mxnet-model-export` or `zip -x '__MACOSX/*' '*.DS_Store' ...`.

    Repack: safe: it removes them (never a file the manifest names).
    """
    referenced = {m.index for r in view.references.values() for m in r.matches}
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for member in view.members:
        junk = None if member.index in referenced else _junk(member)
        if junk:
            groups[junk].append(member.name)
    for (unit, what), listed in groups.items():
        names = tuple(dict.fromkeys(listed))
        count = f" ({_count(names, 'member', 'members')})" if unit.endswith("/") else ""
        yield Problem(
            f"{unit!r}{count} is {what}, not part of the model",
            member=unit,
            fix=Fix(f"remove {unit!r}{count}", tuple(RemoveMember(n) for n in names)),
        )


def _junk(member: Member) -> tuple[str, str] | None:
    """(the junk folder or file the member belongs to, what it is), or None."""
    parts = member.name.rstrip("/").split("/")
    folders = parts if member.is_dir else parts[:-1]
    for depth, part in enumerate(folders):
        if part in JUNK_FOLDERS:
            return "/".join(parts[: depth + 1]) + "/", JUNK_FOLDERS[part]
    if not member.is_dir:
        for pattern, what in JUNK_FILES.items():
            if fnmatch.fnmatchcase(parts[-1], pattern):
                return member.name, what
    return None


@rule(
    "MAR009",
    "limits-exceeded",
    "error",
    "the archive has more members, longer names or deeper paths than the limits allow",
    on_unreadable=True,
    consequence=Consequence.UNCHECKED_RISK,
)
def limits_exceeded(view: ModelView) -> Iterator[Problem]:
    """Why it matters: a model archive holds a handful of files with short names. Tens of
    thousands of members, names of thousands of bytes or folders nested dozens deep are what
    hostile archives use to exhaust memory, file-system limits (255 bytes per name, 4096 per
    path on Linux) or the tools that unpack them; mar-lint stops listing an archive with too
    many members and checks nothing else in it.

    Example: an archive of 60,000 members, or one member nested 40 folders deep:

        a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/x

    Fix: package only the files the model needs, with short names, at most a few folders deep.
    Raise the limits (`[limits]` in `.mar-lint.toml`: `max-members`, `max-name-length`,
    `max-path-depth`) only for archives you trust.
    """
    if view.refused:
        yield Problem(view.refused)
        return
    limits = view.limits
    if view.too_deep:
        where = os.path.relpath(view.too_deep, view.path)
        yield Problem(
            f"folders nest deeper than {limits.max_folder_depth} levels (the limit): what lies "
            "below was not listed or checked",
            member=where[:200] + ("..." if len(where) > 200 else ""),
        )
    for member in view.members:
        length = len(member.name.encode("utf-8", "surrogateescape"))
        depth = len([part for part in member.name.split("/") if part])
        if length > limits.max_name_length:
            yield Problem(
                f"the name is {length:,} bytes long, over the limit of {limits.max_name_length:,}",
                member=member.name[:200] + "...",
            )
        elif depth > limits.max_path_depth:
            yield Problem(
                f"the path is {depth} levels deep, over the limit of {limits.max_path_depth}",
                member=member.name,
            )


def _count(items: tuple[str, ...] | list[Member], one: str, many: str) -> str:
    return f"{len(items)} {one if len(items) == 1 else many}"
