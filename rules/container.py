"""The zip container: can it be read, and is its layout what MMS expects?"""

from __future__ import annotations

from collections.abc import Iterator

from mar_lint import container_facts as facts
from mar_lint.findings import Consequence, Fix, Problem, RemoveMember, RenameMember, Severity
from mar_lint.model import ModelView
from mar_lint.registry import rule
from mar_lint.text import plural


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
    for reason in facts.disagreements(view.members, view.layout):
        yield _problem(reason, hint="rebuild the archive from the original files")
    for index, failure in view.read_failures.items():
        yield Problem(f"cannot be read: {failure}", member=view.members[index].name)


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
        reason = facts.unsupported(member)
        if reason:
            yield _problem(reason)


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
    for clash in view.name_clashes:
        severity, fix = Severity.WARNING if clash.warning else None, _drop_copies(clash)
        yield Problem(
            clash.message, member=clash.member, severity=severity, hint=clash.hint, fix=fix
        )


def _drop_copies(clash: facts.Clash) -> Fix | None:
    """Identical copies go safely; of differing ones, keeping the last is a choice."""
    drop = tuple(RemoveMember(clash.member, index=m.index) for m in clash.earlier)
    identical = f"drop the earlier identical {plural(len(drop), 'copy')} of {clash.member!r}"
    last = f"keep only the last copy of {clash.member!r}"
    return Fix(identical if clash.warning else last, drop, clash.warning) if drop else None


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
    yield from map(_problem, facts.inflation_reasons(view))


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
    yield from map(_problem, facts.unsafe_paths(view, view.references.values()))


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
    inside = [m.name for m in view.members if m.name.startswith(view.root) and m.name != view.root]
    renames = tuple(RenameMember(name, name[len(view.root) :]) for name in inside)
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
    for junk in facts.junk_units(view.members, view.junk, view.references.values()):
        yield Problem(
            f"{junk.unit!r}{junk.counted} is {junk.what}, not part of the model",
            member=junk.unit,
            fix=Fix(f"remove {junk.unit!r}{junk.counted}", tuple(map(RemoveMember, junk.names))),
        )


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
    yield from map(_problem, facts.limit_reasons(view))


def _problem(reason: facts.Reason, hint: str | None = None) -> Problem:
    risk = Consequence.UNCHECKED_RISK if reason.risk_only else None
    return Problem(
        reason.message, member=reason.member, location=reason.location, hint=hint, consequence=risk
    )
