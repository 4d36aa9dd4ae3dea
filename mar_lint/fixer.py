"""Apply the fixes findings carry, and write the corrected archive.

Which fixes apply (ruff's safety model): safe fixes always, unsafe ones (a contract change, or
a choice between candidates) only when asked. A fix is applied whole or not at all.

How conflicts are resolved, deterministically: fixes are taken safe first, then by rule code,
then in the order the rule reported them. A fix is held back when it would remove or rename
a member an earlier fix edits, edit or rename a member an earlier fix removes, rename a
member to two names or to a name another member keeps, or change a JSON value an earlier fix
set (setting a whole `data_shape` after an earlier fix set its first dimension is fine when
the new shape keeps that dimension). Removing a member an earlier fix moves is no conflict:
the move becomes moot. Held-back fixes are listed with the reason.

How the archive is written, so the same input gives the same bytes:
- members sorted by name (duplicate names keep their archive order), every timestamp
  1980-01-01 00:00 (the earliest a zip can hold), mode 0o644, made on Unix, no extra fields;
- unchanged members are copied as their compressed bytes: read from the source at the local
  header's data offset, written behind a new local header with the CRC-32 and sizes of the
  source's central directory, never inflated and deflated again (a member whose local header
  disagrees with the central directory, or whose bytes overlap another's, stops the write:
  its bytes are not one consistent member's);
- changed JSON members are serialised with the indentation of the original (its first
  indented line; 4 spaces for MANIFEST.json and 2 for other members when the original has
  none), keys in their original order, non-ASCII kept as UTF-8, and the original's final
  newline; they keep their member's compression method;
- model folders become zips deflated, as `mxnet-model-export` writes them; their files are
  read as checks read them (a link or special file stops the write: exit 2);
- a link or special-file entry of a zip is written as the plain file its bytes make, never
  as a link (MMS would follow it out of the model folder);
- the file is written to a temporary file in the target folder and renamed over the target
  only when complete: an error or Ctrl-C leaves no partial file. Like `cp` and `zip`, it
  does not fsync: the rename is atomic for every reader; surviving a power cut right after
  it is left to the file system (ext4 flushes a file renamed over another).
With `--in-place` on a model folder, only the changed files are rewritten (each atomically),
removed members are deleted and renamed ones moved.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import stat
import tempfile
import warnings
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

from mar_lint.archive import MANIFEST, ArchiveView, Member, MemberError
from mar_lint.findings import Finding, RemoveMember, RenameMember, SetJson

FIXED_DATE_TIME = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o644
DIR_MODE = 0o755
UNIX = 3  # the "made by" system of the central directory
_DATA_DESCRIPTOR_FLAG = 0x08
_CHUNK = 1 << 20
UNSAFE_HELD = "unsafe: needs --unsafe-fixes"
_METHODS = {"stored": zipfile.ZIP_STORED, "deflated": zipfile.ZIP_DEFLATED}
_METHODS.update(bzip2=zipfile.ZIP_BZIP2, lzma=zipfile.ZIP_LZMA)
_INDENT = re.compile(r"\n([ \t]+)\S")


class FixError(Exception):
    """The archive cannot be written (an unreadable source member, a failed write)."""


class EditFailed(Exception):
    """One edit of a fix cannot be applied to this archive."""


@dataclass(frozen=True)
class HeldBack:
    finding: Finding
    reason: str


@dataclass
class Plan:
    """The fixes chosen for one archive and the archive they produce."""

    applied: list[Finding] = field(default_factory=list)
    held_back: list[HeldBack] = field(default_factory=list)
    documents: dict[int, Any] = field(default_factory=dict)  # member index -> new JSON value
    removed: set[int] = field(default_factory=set)  # member indexes
    renamed: dict[int, str] = field(default_factory=dict)  # member index -> new name

    @property
    def changes(self) -> bool:
        return bool(self.documents or self.removed or self.renamed)


@dataclass(frozen=True)
class Written:
    """What `write_archive` wrote: the output's members, in order, each with the source member
    whose compressed bytes it holds unchanged (None when it was written anew)."""

    copied: tuple[Member | None, ...]


class _Planner:
    def __init__(self, view: ArchiveView) -> None:
        self.view = view
        self.plan = Plan()
        # (member index, pointer) -> the value an applied fix set there.
        self.claims: dict[tuple[int, str], Any] = {}
        self.edited: set[int] = set()

    def member(self, name: str) -> Member:
        member = self.view.get(name)
        if member is None:
            raise EditFailed(f"{name!r} is not in the archive")
        return member

    def try_fix(self, finding: Finding) -> None:
        assert finding.fix is not None
        documents = dict(self.plan.documents)
        removed, renamed = set(self.plan.removed), dict(self.plan.renamed)
        claims, edited = dict(self.claims), set(self.edited)
        try:
            for edit in finding.fix.edits:
                if isinstance(edit, SetJson):
                    member = self.member(edit.member)
                    if member.index in removed:
                        raise EditFailed(f"an earlier fix removes {edit.member!r}")
                    if member.index not in documents:
                        documents[member.index] = self.original(member)
                    else:
                        documents[member.index] = copy.deepcopy(documents[member.index])
                    documents[member.index] = set_pointer(
                        documents[member.index], edit.pointer, edit.value
                    )
                    claims[(member.index, edit.pointer)] = edit.value
                    edited.add(member.index)
                elif isinstance(edit, RemoveMember):
                    for member in self.copies(edit):
                        if member.index in edited:
                            raise EditFailed(f"an earlier fix edits {member.name!r}")
                        renamed.pop(member.index, None)  # a removed member moves nowhere
                        removed.add(member.index)
                elif isinstance(edit, RenameMember):
                    member = self.member(edit.member)
                    if member.index in removed:
                        raise EditFailed(f"an earlier fix removes {edit.member!r}")
                    if renamed.get(member.index, edit.new_name) != edit.new_name:
                        raise EditFailed(f"an earlier fix renames {edit.member!r} otherwise")
                    renamed[member.index] = edit.new_name
            self.check_claims(documents, self.claims)  # what earlier fixes set still holds
            self.check_names(removed, renamed)
        except EditFailed as exc:
            self.plan.held_back.append(HeldBack(finding, str(exc)))
            return
        self.plan.documents, self.plan.removed, self.plan.renamed = documents, removed, renamed
        self.claims, self.edited = claims, edited
        self.plan.applied.append(finding)

    def original(self, member: Member) -> Any:
        document = self.view.json(member)
        if not document.ok:
            raise EditFailed(f"{member.name!r} cannot be read as JSON: {document.error}")
        return copy.deepcopy(document.value)

    def copies(self, edit: RemoveMember) -> list[Member]:
        found = [
            m for m in self.view.members if m.name == edit.member and edit.index in (None, m.index)
        ]
        if not found:
            raise EditFailed(f"{edit.member!r} is not in the archive")
        return found

    @staticmethod
    def check_claims(documents: dict[int, Any], claims: dict[tuple[int, str], Any]) -> None:
        for (index, pointer), value in claims.items():
            try:
                now = get_pointer(documents[index], pointer)
            except EditFailed:
                now = _MISSING
            if now != value:
                raise EditFailed(f"it would change {pointer} that an earlier fix set")

    def check_names(self, removed: set[int], renamed: dict[int, str]) -> None:
        names = Counter(
            renamed.get(m.index, m.name) for m in self.view.members if m.index not in removed
        )
        for name in renamed.values():
            if names[name] > 1:
                raise EditFailed(f"{name!r} would be taken by two members")


_MISSING = object()


def plan_fixes(view: ArchiveView, findings: Iterable[Finding], unsafe: bool) -> Plan:
    """Choose the fixes to apply and work out the archive they produce (nothing is written)."""
    fixable = [(i, f) for i, f in enumerate(findings) if f.fix is not None]
    fixable.sort(key=lambda pair: (not pair[1].fix.safe, pair[1].code, pair[0]))  # type: ignore[union-attr]
    planner = _Planner(view)
    for _, finding in fixable:
        if not finding.fix.safe and not unsafe:  # type: ignore[union-attr]
            planner.plan.held_back.append(HeldBack(finding, UNSAFE_HELD))
        else:
            planner.try_fix(finding)
    plan = planner.plan
    # A fix that sets a value the member already holds changes nothing.
    for index in [i for i, doc in plan.documents.items() if doc == view.json(_at(view, i)).value]:
        del plan.documents[index]
    return plan


def _at(view: ArchiveView, index: int) -> Member:
    return view.members[index]


# -- JSON pointers ---------------------------------------------------------------------------


def _tokens(pointer: str) -> list[str]:
    if pointer and not pointer.startswith("/"):
        raise EditFailed(f"{pointer!r} is not a JSON pointer")
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer.split("/")[1:]]


def _step(node: Any, token: str, pointer: str) -> Any:
    if isinstance(node, dict) and token in node:
        return node[token]
    if isinstance(node, list) and token.isdigit() and int(token) < len(node):
        return node[int(token)]
    raise EditFailed(f"{pointer} does not exist")


def get_pointer(document: Any, pointer: str) -> Any:
    node = document
    for token in _tokens(pointer):
        node = _step(node, token, pointer)
    return node


def set_pointer(document: Any, pointer: str, value: Any) -> Any:
    """`document` with the value at `pointer` set (its parent must exist; "-" appends)."""
    tokens = _tokens(pointer)
    if not tokens:
        return copy.deepcopy(value)
    parent = document
    for token in tokens[:-1]:
        parent = _step(parent, token, pointer)
    last = tokens[-1]
    if isinstance(parent, dict):
        parent[last] = copy.deepcopy(value)
    elif isinstance(parent, list) and last == "-":
        parent.append(copy.deepcopy(value))
    elif isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
        parent[int(last)] = copy.deepcopy(value)
    else:
        raise EditFailed(f"the parent of {pointer} cannot hold {last!r}")
    return document


# -- serialisation ---------------------------------------------------------------------------


def serialise(value: Any, name: str, original: bytes) -> bytes:
    """JSON text in the original's style (see the module docstring)."""
    text = original.decode("utf-8", "replace")
    found = _INDENT.search(text)
    indent: str | int = (
        found.group(1) if found else (4 if PurePosixPath(name).name == MANIFEST else 2)
    )
    result = json.dumps(value, indent=indent, ensure_ascii=False)
    if text.endswith("\n"):
        result += "\n"
    return result.encode("utf-8")


def new_json(view: ArchiveView, plan: Plan) -> dict[int, bytes]:
    """Member index -> the new bytes of each changed JSON member."""
    return {
        index: serialise(
            value,
            _at(view, index).name,
            view.read(_at(view, index), view.limits.max_json_bytes),
        )
        for index, value in sorted(plan.documents.items())
    }


def output_members(view: ArchiveView, plan: Plan) -> list[tuple[str, Member]]:
    """(name in the output, source member) for every member kept, sorted by output name."""
    kept = [
        (plan.renamed.get(m.index, m.name), m) for m in view.members if m.index not in plan.removed
    ]
    return sorted(kept, key=lambda pair: (pair[0], pair[1].index))


# -- writing ---------------------------------------------------------------------------------


@contextmanager
def atomic_output(target: Path, mode: int = FILE_MODE) -> Iterator[IO[bytes]]:
    """A file in the target's folder that becomes `target` only when the block completes."""
    handle = tempfile.NamedTemporaryFile(
        "w+b", dir=target.parent, prefix=f".{target.name}.", suffix=".tmp", delete=False
    )
    try:
        with handle:
            yield handle
        os.chmod(handle.name, mode)
        os.replace(handle.name, target)
    except BaseException:  # KeyboardInterrupt too: no partial file is left behind
        Path(handle.name).unlink(missing_ok=True)
        raise


def _zip_info(name: str, method: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=FIXED_DATE_TIME)
    info.compress_type = method
    info.create_system = UNIX
    info.external_attr = (0o100000 | FILE_MODE) << 16  # a regular file, rw-r--r--
    return info


def _main_method(view: ArchiveView) -> int:
    methods = Counter(m.compression for m in view.files if m.compression in _METHODS)
    if view.kind == "folder" or not methods:
        return zipfile.ZIP_DEFLATED
    return _METHODS[max(sorted(methods), key=lambda name: methods[name])]


def write_archive(view: ArchiveView, plan: Plan, target: Path) -> Written:
    """Write the planned archive to `target` as a zip (atomically)."""
    changed = new_json(view, plan)
    try:
        with warnings.catch_warnings(), atomic_output(target) as handle:
            # Duplicate names no fix removed are kept as they were: not worth a warning here.
            warnings.filterwarnings("ignore", "Duplicate name", UserWarning)
            with zipfile.ZipFile(handle, "w") as out:
                copied = [
                    _write_member(out, view, name, member, changed)
                    for name, member in output_members(view, plan)
                ]
    except (OSError, MemberError, zipfile.BadZipFile) as exc:
        raise FixError(f"cannot write {target}: {exc}") from exc
    return Written(tuple(copied))


def _write_member(
    out: zipfile.ZipFile, view: ArchiveView, name: str, member: Member, changed: dict[int, bytes]
) -> Member | None:
    """Write one member; returns the source member when its compressed bytes were copied."""
    if member.is_dir:
        info = _zip_info(name, zipfile.ZIP_STORED)
        info.external_attr = (0o040000 | DIR_MODE) << 16 | 0x10  # a folder, MS-DOS flag too
        out.writestr(info, b"")
    elif view.kind == "folder":
        data = changed.get(member.index)
        if data is None:
            _write_file(out, view, name, member)
        else:
            out.writestr(_zip_info(name, _main_method(view)), data)
    elif member.index in changed:
        method = _METHODS.get(member.compression, _main_method(view))
        out.writestr(_zip_info(name, method), changed[member.index])
    else:
        _copy_raw(view, member, name, out)
        return member
    return None


def _write_file(out: zipfile.ZipFile, view: ArchiveView, name: str, member: Member) -> None:
    """A folder's file, read the way checks read it: no links followed, no special files."""
    with view.stream(member) as source, out.open(_zip_info(name, _main_method(view)), "w") as sink:
        shutil.copyfileobj(source, sink, _CHUNK)


def _copy_raw(view: ArchiveView, member: Member, name: str, out: zipfile.ZipFile) -> None:
    """Copy a member's compressed bytes unchanged behind a new local header.

    zipfile has no public way to add precompressed data: the header is built with
    `ZipInfo.FileHeader` and the entry appended to the writer's list, which `ZipFile.close`
    turns into the central directory (Zip64 records included when sizes need them). The
    CRC-32 and sizes come from the source's central directory, as does the data's length.
    """
    source = member.info
    assert source is not None and view.layout is not None
    # Bytes whose records disagree, or that other members share, are not one member's to copy.
    problem = view.layout_problem(member)
    if problem:
        raise MemberError(f"{member.name} {problem}")
    info = _zip_info(name, source.compress_type)
    info.flag_bits = source.flag_bits & ~_DATA_DESCRIPTOR_FLAG  # sizes go in the header
    info.CRC, info.compress_size, info.file_size = (
        source.CRC,
        source.compress_size,
        source.file_size,
    )
    zip64 = max(info.file_size, info.compress_size) > zipfile.ZIP64_LIMIT
    with open(view.path, "rb") as handle:
        handle.seek(view.layout.placements[member.index].data_start)  # type: ignore[arg-type]
        fp = out.fp
        assert fp is not None
        info.header_offset = fp.tell()
        fp.write(info.FileHeader(zip64))
        _copy_bytes(handle, fp, info.compress_size, member.name)
    out.filelist.append(info)
    out.NameToInfo[info.filename] = info
    out.start_dir = fp.tell()  # where the next entry, or the central directory, goes
    out._didModify = True  # type: ignore[attr-defined]


def _copy_bytes(source: IO[bytes], sink: IO[bytes], count: int, name: str) -> None:
    """Copy `count` bytes from the source's position to the sink's, in the kernel where it
    can (`copy_file_range`, as `cp` does), else through a buffer."""
    sink.flush()
    start, at = source.tell(), sink.tell()
    done = 0
    try:
        while done < count:
            step = os.copy_file_range(
                source.fileno(), sink.fileno(), count - done, start + done, at + done
            )
            if step == 0:
                break
            done += step
    except (AttributeError, OSError):  # no copy_file_range here, or not between these files
        pass
    source.seek(start + done)
    sink.seek(at + done)
    while done < count:
        chunk = source.read(min(_CHUNK, count - done))
        if not chunk:
            raise MemberError(f"{name}: the archive ends inside its data")
        sink.write(chunk)
        done += len(chunk)


def write_folder_in_place(view: ArchiveView, plan: Plan) -> None:
    """Apply the plan to a model folder: rewrite changed JSON files atomically, delete removed
    files and move renamed ones."""
    changed = new_json(view, plan)
    root = view.path.resolve()
    try:
        for index, data in changed.items():
            path = _inside(root, _at(view, index).name)
            with atomic_output(path, stat.S_IMODE(path.stat().st_mode)) as handle:
                handle.write(data)
        left: set[Path] = set()
        for index in sorted(plan.removed):
            path = _inside(root, _at(view, index).name)
            path.unlink(missing_ok=True)
            left.add(path.parent)
        for index, new_name in sorted(plan.renamed.items()):
            path, target = _inside(root, _at(view, index).name), _inside(root, new_name)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, target)
            left.add(path.parent)
        _remove_empty_folders(root, left)
    except OSError as exc:
        raise FixError(f"cannot update {view.path}: {exc}") from exc


def _remove_empty_folders(root: Path, folders: set[Path]) -> None:
    """Remove the folders that removals and moves emptied (never `root` itself)."""
    for folder in sorted(folders, key=lambda f: len(f.parts), reverse=True):
        while folder != root and root in folder.parents and not any(folder.iterdir()):
            folder.rmdir()
            folder = folder.parent


def _inside(root: Path, name: str) -> Path:
    """The path of a member in the folder; never outside it."""
    path = (root / name).resolve()
    if root not in path.parents:
        raise FixError(f"{name!r} is outside the model folder")
    return path
