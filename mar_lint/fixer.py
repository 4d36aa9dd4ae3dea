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

The archive written is the same bytes for the same input: `mar_lint.zip_writer` says how
(members sorted by name, fixed timestamps and modes, unchanged members copied as their
compressed bytes, atomic). Changed JSON members are serialised with the indentation of the
original (its first indented line; 4 spaces for MANIFEST.json and 2 for other members when
the original has none), keys in their original order, non-ASCII kept as UTF-8, and the
original's final newline.

With `--in-place` on a model folder, only the changed files are rewritten (each atomically),
removed members are deleted and renamed ones moved.
"""

from __future__ import annotations

import copy
import json
import os
import re
import stat
import zipfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from mar_lint import jsonpointer
from mar_lint.archive import MANIFEST, ArchiveView, Member, MemberError
from mar_lint.files import atomic_write
from mar_lint.findings import Finding, Fix, RemoveMember, RenameMember, SetJson
from mar_lint.zip_writer import Written, write_zip

__all__ = [
    "UNSAFE_HELD",
    "FixError",
    "HeldBack",
    "Plan",
    "Written",
    "new_json",
    "output_members",
    "plan_fixes",
    "serialise",
    "write_archive",
    "write_folder_in_place",
]

UNSAFE_HELD = "unsafe: needs --unsafe-fixes"
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


@dataclass
class _Draft:
    """The archive the fixes accepted so far produce, and what they claim in it."""

    documents: dict[int, Any] = field(default_factory=dict)  # member index -> new JSON value
    removed: set[int] = field(default_factory=set)
    renamed: dict[int, str] = field(default_factory=dict)
    # (member index, pointer) -> the value an applied fix set there.
    claims: dict[tuple[int, str], Any] = field(default_factory=dict)
    edited: set[int] = field(default_factory=set)  # members whose JSON a fix set

    def copy(self) -> _Draft:
        """A copy to try a fix on (documents are copied when first edited, see `set_json`)."""
        return _Draft(
            dict(self.documents),
            set(self.removed),
            dict(self.renamed),
            dict(self.claims),
            set(self.edited),
        )


class _Planner:
    def __init__(self, view: ArchiveView) -> None:
        self.view = view
        self.plan = Plan()
        self.draft = _Draft()

    def member(self, name: str) -> Member:
        member = self.view.get(name)
        if member is None:
            raise EditFailed(f"{name!r} is not in the archive")
        return member

    def try_fix(self, finding: Finding, fix: Fix) -> None:
        """Apply the fix whole to a copy of the draft, and keep it only if no edit failed and
        it conflicts with no earlier fix (see the module docstring)."""
        draft = self.draft.copy()
        try:
            for edit in fix.edits:
                if isinstance(edit, SetJson):
                    self.set_json(draft, edit)
                elif isinstance(edit, RemoveMember):
                    self.remove(draft, edit)
                elif isinstance(edit, RenameMember):
                    self.rename(draft, edit)
            self.check_claims(draft.documents, self.draft.claims)  # earlier fixes' values hold
            self.check_names(draft.removed, draft.renamed)
        except EditFailed as exc:
            self.plan.held_back.append(HeldBack(finding, str(exc)))
            return
        self.draft = draft
        self.plan.applied.append(finding)

    def set_json(self, draft: _Draft, edit: SetJson) -> None:
        member = self.member(edit.member)
        if member.index in draft.removed:
            raise EditFailed(f"an earlier fix removes {edit.member!r}")
        if member.index not in draft.documents:
            document = self.original(member)
        else:
            document = copy.deepcopy(draft.documents[member.index])
        try:
            draft.documents[member.index] = jsonpointer.set_value(
                document, edit.pointer, edit.value
            )
        except jsonpointer.PointerError as exc:
            raise EditFailed(str(exc)) from exc
        draft.claims[(member.index, edit.pointer)] = edit.value
        draft.edited.add(member.index)

    def remove(self, draft: _Draft, edit: RemoveMember) -> None:
        for member in self.copies(edit):
            if member.index in draft.edited:
                raise EditFailed(f"an earlier fix edits {member.name!r}")
            draft.renamed.pop(member.index, None)  # a removed member moves nowhere
            draft.removed.add(member.index)

    def rename(self, draft: _Draft, edit: RenameMember) -> None:
        member = self.member(edit.member)
        if member.index in draft.removed:
            raise EditFailed(f"an earlier fix removes {edit.member!r}")
        if draft.renamed.get(member.index, edit.new_name) != edit.new_name:
            raise EditFailed(f"an earlier fix renames {edit.member!r} otherwise")
        draft.renamed[member.index] = edit.new_name

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
                now = jsonpointer.resolve(documents[index], pointer)
            except jsonpointer.PointerError:
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
    fixable = [(i, f, f.fix) for i, f in enumerate(findings) if f.fix is not None]
    fixable.sort(key=lambda item: (not item[2].safe, item[1].code, item[0]))
    planner = _Planner(view)
    for _, finding, fix in fixable:
        if not fix.safe and not unsafe:
            planner.plan.held_back.append(HeldBack(finding, UNSAFE_HELD))
        else:
            planner.try_fix(finding, fix)
    plan, draft = planner.plan, planner.draft
    plan.documents, plan.removed, plan.renamed = draft.documents, draft.removed, draft.renamed
    # A fix that sets a value the member already holds changes nothing.
    for index in [i for i, doc in plan.documents.items() if doc == view.json(_at(view, i)).value]:
        del plan.documents[index]
    return plan


def _at(view: ArchiveView, index: int) -> Member:
    return view.members[index]


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


def write_archive(view: ArchiveView, plan: Plan, target: Path) -> Written:
    """Write the planned archive to `target` as a zip (atomically)."""
    try:
        return write_zip(view, output_members(view, plan), new_json(view, plan), target)
    except (OSError, MemberError, zipfile.BadZipFile) as exc:
        raise FixError(f"cannot write {target}: {exc}") from exc


def write_folder_in_place(view: ArchiveView, plan: Plan) -> None:
    """Apply the plan to a model folder: rewrite changed JSON files atomically, delete removed
    files and move renamed ones."""
    changed = new_json(view, plan)
    root = view.path.resolve()
    try:
        for index, data in changed.items():
            path = _inside(root, _at(view, index).name)
            with atomic_write(path, stat.S_IMODE(path.stat().st_mode)) as handle:
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
