"""The raw zip writer `repack` uses: the one place that relies on `zipfile` internals.

The output is the same bytes for the same input:
- members in the order given (the fixer sorts them by name), every timestamp 1980-01-01
  00:00 (the earliest a zip can hold), mode 0o644, made on Unix, no extra fields;
- unchanged zip members are copied as their compressed bytes: read from the source at the
  local header's data offset, written behind a new local header with the CRC-32 and sizes of
  the source's central directory, never inflated and deflated again (a member whose local
  header disagrees with the central directory, or whose bytes overlap another's, stops the
  write: its bytes are not one consistent member's);
- new bytes (changed JSON) keep their member's compression method;
- a model folder's files are deflated, as `mxnet-model-export` writes them, and read as
  checks read them (a link or special file stops the write);
- a link or special-file entry of a zip is written as the plain file its bytes make, never
  as a link (MMS would follow it out of the model folder);
- the file is written atomically (`mar_lint.files.atomic_write`).
"""

from __future__ import annotations

import os
import shutil
import warnings
import zipfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from mar_lint.archive import ArchiveView, Member, MemberError
from mar_lint.files import atomic_write
from mar_lint.limits import READ_CHUNK

FIXED_DATE_TIME = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o644
DIR_MODE = 0o755
UNIX = 3  # the "made by" system of the central directory
_DATA_DESCRIPTOR_FLAG = 0x08
_METHODS = {"stored": zipfile.ZIP_STORED, "deflated": zipfile.ZIP_DEFLATED}
_METHODS.update(bzip2=zipfile.ZIP_BZIP2, lzma=zipfile.ZIP_LZMA)


@dataclass(frozen=True)
class Written:
    """What `write_zip` wrote: the output's members, in order, each with the source member
    whose compressed bytes it holds unchanged (None when it was written anew)."""

    copied: tuple[Member | None, ...]


def write_zip(
    view: ArchiveView,
    members: Sequence[tuple[str, Member]],
    new_bytes: dict[int, bytes],
    target: Path,
) -> Written:
    """Write `members` ((name in the output, source member), in order) to `target` as a zip,
    atomically; a member whose index is in `new_bytes` gets those bytes instead of its own.

    Raises OSError, MemberError or zipfile.BadZipFile; `target` is then left as it was."""
    with warnings.catch_warnings(), atomic_write(target, FILE_MODE) as handle:
        # Duplicate names no fix removed are kept as they were: not worth a warning here.
        warnings.filterwarnings("ignore", "Duplicate name", UserWarning)
        method = _main_method(view)  # once: each member written anew may need it
        with zipfile.ZipFile(handle, "w") as out:
            copied = [
                _write_member(out, view, name, member, new_bytes, method)
                for name, member in members
            ]
    return Written(tuple(copied))


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


def _write_member(
    out: zipfile.ZipFile,
    view: ArchiveView,
    name: str,
    member: Member,
    new_bytes: dict[int, bytes],
    main_method: int,
) -> Member | None:
    """Write one member; returns the source member when its compressed bytes were copied.
    `main_method` is the archive's most used method (`_main_method`)."""
    if member.is_dir:
        info = _zip_info(name, zipfile.ZIP_STORED)
        info.external_attr = (0o040000 | DIR_MODE) << 16 | 0x10  # a folder, MS-DOS flag too
        out.writestr(info, b"")
    elif view.kind == "folder":
        data = new_bytes.get(member.index)
        if data is None:
            _write_file(out, view, name, member, main_method)
        else:
            out.writestr(_zip_info(name, main_method), data)
    elif member.index in new_bytes:
        method = _METHODS.get(member.compression, main_method)
        out.writestr(_zip_info(name, method), new_bytes[member.index])
    else:
        _copy_raw(view, member, name, out)
        return member
    return None


def _write_file(
    out: zipfile.ZipFile, view: ArchiveView, name: str, member: Member, method: int
) -> None:
    """A folder's file, read the way checks read it: no links followed, no special files."""
    with view.stream(member) as source, out.open(_zip_info(name, method), "w") as sink:
        shutil.copyfileobj(source, sink, READ_CHUNK)


def _copy_raw(view: ArchiveView, member: Member, name: str, out: zipfile.ZipFile) -> None:
    """Copy a member's compressed bytes unchanged behind a new local header.

    zipfile has no public way to add precompressed data: the header is built with
    `ZipInfo.FileHeader` and the entry appended to the writer's list, which `ZipFile.close`
    turns into the central directory (Zip64 records included when sizes need them). The
    CRC-32 and sizes come from the source's central directory, as does the data's length.
    """
    source = member.info
    assert source is not None
    # Bytes whose records disagree, or that other members share, are not one member's to copy.
    problem = view.layout_problem(member)
    if problem:
        raise MemberError(f"{member.name} {problem}")
    data_start = view.data_start(member)
    info = _zip_info(name, source.compress_type)
    info.flag_bits = source.flag_bits & ~_DATA_DESCRIPTOR_FLAG  # sizes go in the header
    info.CRC, info.compress_size, info.file_size = (
        source.CRC,
        source.compress_size,
        source.file_size,
    )
    zip64 = max(info.file_size, info.compress_size) > zipfile.ZIP64_LIMIT
    fp = out.fp
    assert fp is not None
    with view.open_file() as handle:
        handle.seek(data_start)
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
        chunk = source.read(min(READ_CHUNK, count - done))
        if not chunk:
            raise MemberError(f"{name}: the archive ends inside its data")
        sink.write(chunk)
        done += len(chunk)
