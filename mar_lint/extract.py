"""Unpack an archive into a folder, safely, under the same limits as `mar-lint check`.

Nothing is ever written outside the target folder: member names that could escape it are
refused, every target is resolved with `os.path.realpath` (so a link already inside the
folder cannot redirect a write), links, special files, encrypted members and possible bombs
are refused, and each file is written to a temporary name beside its target and renamed
into place only once its bytes are complete and its CRC has held. Existing files are kept
unless the caller asks to overwrite them.

With `flatten`, the layout is the one MMS produces when it loads an archive (formats.md
§1.7): every file lands under its base name, folders are dropped, and of several members
with one base name the last wins.
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass, field
from pathlib import Path

from mar_lint.archive import ArchiveView, Member, unsafe_path_reason
from mar_lint.files import atomic_write


@dataclass
class Skipped:
    name: str  # the member name as stored
    reason: str


@dataclass
class ExtractResult:
    """What an extraction did: files written (paths relative to the target, POSIX style),
    members left out and why."""

    target: str
    written: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.skipped


def extract(
    view: ArchiveView,
    target: Path,
    *,
    force: bool = False,
    flatten: bool = False,
) -> ExtractResult:
    """Write the members of `view` under `target` (created if missing) and say what happened.

    Raises OSError only when `target` itself cannot be created."""
    target.mkdir(parents=True, exist_ok=True)
    root = os.path.realpath(target)
    result = ExtractResult(str(target))
    chosen = _chosen_members(view, flatten)
    budget = view.limits.max_total_bytes
    for member in view.members:
        relative = posixpath.basename(member.name) if flatten else member.name
        reason = _refusal(view, member, relative, chosen, flatten)
        if reason is None and not member.is_dir and member.size > budget:
            reason = (
                f"would take the files written past {view.limits.max_total_bytes:,} bytes "
                "in total (the limit)"
            )
        if reason is None:
            reason = _write(view, member, root, relative, force)
        if reason is not None:
            result.skipped.append(Skipped(member.name, reason))
        elif not member.is_dir:
            budget -= member.size
            result.written.append(relative)
    return result


def _chosen_members(view: ArchiveView, flatten: bool) -> dict[str, Member]:
    """Target name -> the member that ends up there: the last one, as MMS (flattened) and
    every unzip tool (same name) leave it."""
    if flatten:
        return view.flattened()
    return {m.name: m for m in view.members}


def _refusal(
    view: ArchiveView, member: Member, relative: str, chosen: dict[str, Member], flatten: bool
) -> str | None:
    """Why the member is not written, judged from its name and the directory alone."""
    if flatten and member.is_dir:
        return "is a folder entry; MMS drops folders when it flattens an archive"
    name_problem = unsafe_path_reason(member.name if not flatten else relative)
    if name_problem:
        return f"its name {name_problem}"
    parts = [p for p in relative.rstrip("/").split("/") if p not in ("", ".")]
    if not parts or "\x00" in relative:
        return "its name does not name a file"
    if view.layout and b"\x00" in view.layout.placements[member.index].raw_name:
        return "its stored name holds a NUL byte: unzip tools disagree on where it ends"
    if len(member.name) > view.limits.max_name_length:
        return f"its name is longer than {view.limits.max_name_length:,} characters (the limit)"
    if len(parts) > view.limits.max_path_depth:
        return f"its path is deeper than {view.limits.max_path_depth} folders (the limit)"
    if member.is_symlink:
        return "is a symbolic link; links are never extracted"
    refusal = view.refusal(member)
    if refusal and not member.is_dir:
        return refusal
    winner = chosen.get(relative if flatten else member.name)
    if not member.is_dir and winner is not None and winner.index != member.index:
        where = "base name" if flatten else "name"
        return (
            f"a later member ({winner.name}) has the same {where} and replaces it, "
            f"as {'MMS does' if flatten else 'unzip does'}"
        )
    return None


def _inside(root: str, path: str) -> bool:
    return os.path.commonpath([root, path]) == root and path != root


def _make_folders(root: str, parts: list[str]) -> str | None:
    """Create the folders of `parts` under root, one at a time, refusing any that is a link
    or not a folder; returns why it could not, or None."""
    current = root
    for part in parts:
        current = os.path.join(current, part)
        if os.path.islink(current) or not _inside(root, os.path.realpath(current)):
            return f"{posixpath.join(*parts)} leads through a link; nothing was written"
        try:
            os.mkdir(current)
        except FileExistsError:
            if not os.path.isdir(current):
                return f"{current} exists and is not a folder"
        except OSError as exc:
            return f"cannot create a folder: {exc.strerror or exc}"
    return None


def _write(view: ArchiveView, member: Member, root: str, relative: str, force: bool) -> str | None:
    """Write one member (or create one folder entry); returns why it was not written."""
    parts = [p for p in relative.split("/") if p not in ("", ".")]
    if member.is_dir:
        return _make_folders(root, parts)
    problem = _make_folders(root, parts[:-1])
    if problem:
        return problem
    path = os.path.join(root, *parts)
    if not _inside(root, os.path.realpath(path)):
        return "its target resolves outside the folder (through a link); nothing was written"
    if os.path.lexists(path) and not force:
        return f"{'/'.join(parts)} exists already (use --force to overwrite it)"
    if os.path.isdir(path) and not os.path.islink(path):
        return f"{'/'.join(parts)} exists and is a folder"
    try:
        with atomic_write(Path(path)) as out:  # replaces a link itself, never its target
            problem = view.read_through(member, out)
            if problem is not None:
                raise _Incomplete(problem)
    except _Incomplete as exc:
        return str(exc)
    except OSError as exc:
        return f"cannot write it: {exc.strerror or exc}"
    return None


class _Incomplete(Exception):
    """A member's bytes failed while they were written: nothing replaces the target."""
