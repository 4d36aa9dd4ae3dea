"""Seeded mutation fuzzing of `check`, `explore --format json` and `explore` through the real
CLI, over archives and unpacked model folders.

Real archives (from real MXNet exports) are mutated: byte flips, truncation, central
directory damage, hostile JSON values, graph attacks, params-header attacks, hostile member
names, and the zip structure itself, written byte by byte (local headers that disagree with
the central directory on name, sizes, CRC or flags; data descriptors, lying or not; extra
fields: Unicode path 0x7075, zip64, unknown and overrunning ones; two archives end to end; a
directory offset into itself). Model folders get links out of the folder, link loops, FIFOs,
unreadable files and folders, and folders named like members.

Cases are checked in batches by tests/fuzz_driver.py, a child process that runs the three
commands in-process on one MXNet sandbox, so a crash or a hang of any kind is seen. For every
case and command: no exception, exit 0 or 1; `check` prints one JSON document listing the
case, whose findings agree with the exit status, with no crashed rule (MAR901) and an error
for every truncated archive; `explore --format json` prints one JSON document.

The everyday run is a fixed number of seeded cases; the long run is opt-in:

    MAR_LINT_FUZZ_CASES=2000 MAR_LINT_FUZZ_SEED=7 python -m pytest -m fuzz_long tests/test_fuzz.py -s

A failing batch is replayed in halves; the cases that fail alone are saved (to
$MAR_LINT_FUZZ_SAVE, default a temporary folder) so they can become regression fixtures in
tests/fixtures/crashers/, which `test_crashers_stay_fixed` replays.
"""

from __future__ import annotations

import json
import os
import random
import stat
import struct
import subprocess
import sys
import tarfile
import tempfile
import time
import unicodedata
import zipfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytest
from builders import ArchiveSpec, write_zip

# Test archives hold duplicate names on purpose.
pytestmark = pytest.mark.filterwarnings("ignore:Duplicate name:UserWarning")

EVERYDAY_CASES = 80  # the default run: a fixed, seeded number of cases
LONG_CASES = int(os.environ.get("MAR_LINT_FUZZ_CASES", "2000"))  # the fuzz_long run
FUZZ_SEED = int(os.environ.get("MAR_LINT_FUZZ_SEED", "20181105"))
BATCH = 25  # cases per driver run: one Python start and one MXNet import serve them all
WORKERS = 2
BATCH_TIMEOUT = 240.0  # seconds; a hang shows up as a batch that does not finish
DRIVER = Path(__file__).with_name("fuzz_driver.py")
CRASHERS = Path(__file__).parent / "fixtures" / "crashers"
# Crashes already filed, whose fix is in code another change owns: (file, text of the
# traceback) -> why. The fuzzer counts and prints them instead of failing, and the crasher
# fixtures that reproduce them are expected failures (xfail) with that reason. Remove an
# entry with its fix. (The two explore crashes of issue 12 and explore's graph section on a
# graph the operator registry refuses were here until they were fixed.)
KNOWN_CRASH_SIGNATURES: dict[tuple[str, str], str] = {}


def known_crash(traceback_text: str) -> str | None:
    """Why a crash is already known (KNOWN_CRASH_SIGNATURES), or None."""
    for (where, text), why in KNOWN_CRASH_SIGNATURES.items():
        if where in traceback_text and text in traceback_text:
            return why
    return None


Members = list[tuple[str, bytes]]


@dataclass
class Case:
    """One mutated archive (its bytes) or model folder (a function that lays it out), what
    was done to it, and whether it was truncated."""

    mutations: list[str]
    data: bytes | None = None
    folder: Callable[[Path], None] | None = None
    truncated: bool = False

    def write(self, path: Path) -> Path:
        if self.folder is not None:
            path.mkdir()
            self.folder(path)
            return path
        path = path.with_suffix(".model")
        path.write_bytes(self.data or b"")
        return path


# -- hostile values ----------------------------------------------------------------------------


def deep(levels: int) -> Any:
    value: Any = 0
    for _ in range(levels):
        value = [value]
    return value


HOSTILE_VALUES: list[Any] = [
    None,
    True,
    -1,
    0,
    2**31,
    2**63,
    2**64 + 1,
    10**400,
    1e308,
    float("inf"),
    float("nan"),
    "",
    "x" * 70_000,
    "\ud800",
    "\x1b[2J\x00",
    "../../etc/passwd",
    "/abs/path",
    "C:\\x",
    "*",
    "[",
    "image/jpeg\n",
    [],
    {},
    deep(63),
    deep(66),
    {"$ref": "http://127.0.0.1:9/schema.json"},
    [[0, 2**40]],
    {"inputs": None},
]

HOSTILE_NAMES = [
    "../../../../tmp/evil",
    "/etc/cron.d/evil",
    "a\\..\\..\\b",
    "C:/Windows/evil",
    "\x1b[31mred\x1b[0m",
    "line\nbreak",
    "x" * 1100,
    "d/" * 40 + "x",
    "MANIFEST.json/",
    "./MANIFEST.json",
    "__MACOSX/._MANIFEST.json",
    "caf\u00e9/\u202emanifest.json",
    "",
    ".",
    "signature.json",
    "SIGNATURE.JSON",
]


def with_random_value(rng: random.Random, document: Any) -> Any:
    """The document with one randomly chosen value (at any depth) replaced by a hostile one."""
    if not isinstance(document, (dict, list)) or not document or rng.random() < 0.15:
        return rng.choice(HOSTILE_VALUES)
    if isinstance(document, dict):
        key = rng.choice(list(document))
        if rng.random() < 0.1:
            return {k: v for k, v in document.items() if k != key}  # drop a key
        return {**document, key: with_random_value(rng, document[key])}
    index = rng.randrange(len(document))
    return [*document[:index], with_random_value(rng, document[index]), *document[index + 1 :]]


# -- mutators: members -> members --------------------------------------------------------------


def member_named(members: Members, suffix: str) -> int:
    return next(i for i, (name, _) in enumerate(members) if name.endswith(suffix))


def replace_member(members: Members, index: int, data: bytes) -> Members:
    return [*members[:index], (members[index][0], data), *members[index + 1 :]]


def hostile_json(rng: random.Random, members: Members) -> tuple[Members, str]:
    index = member_named(members, rng.choice(["MANIFEST.json", "signature.json"]))
    name, data = members[index]
    roll = rng.random()
    if roll < 0.7:
        text = json.dumps(with_random_value(rng, json.loads(data))).encode()
    elif roll < 0.8:
        text = b"\xef\xbb\xbf" + data  # a byte-order mark
    elif roll < 0.9:
        text = data[: rng.randrange(len(data))] + bytes([rng.randrange(256)]) * 3
    else:
        text = b"[" * rng.choice([65, 1000, 200_000])
    return replace_member(members, index, text), f"hostile JSON in {name}"


def graph_attack(rng: random.Random, members: Members) -> tuple[Members, str]:
    index = member_named(members, "-symbol.json")
    graph = json.loads(members[index][1])
    nodes = graph["nodes"]
    last = len(nodes) - 1
    attacks: dict[str, Callable[[], None]] = {
        "head output index past the outputs": lambda: graph["heads"][0].__setitem__(
            1, rng.choice([1, 7, 2**32 - 1, 2**40, -1])
        ),
        "head node out of range": lambda: graph["heads"][0].__setitem__(
            0, rng.choice([last + 1, 2**32, -1])
        ),
        "input cycle": lambda: nodes[last]["inputs"].insert(0, [last, 0, 0]),
        "forward reference": lambda: nodes[1].__setitem__("inputs", [[last, 0, 0]]),
        "huge shape": lambda: (
            nodes[rng.randrange(len(nodes))]
            .setdefault("attrs", {})
            .__setitem__("__shape__", rng.choice(["(1, 1099511627776)", "(-3,)", "(" * 500, "()"]))
        ),
        "bad node_row_ptr": lambda: graph.__setitem__(
            "node_row_ptr", rng.choice([[], [0] * (last + 2), list(range(0, 2**40, 2**37))])
        ),
        "unknown key": lambda: rng.choice([graph, nodes[last]]).__setitem__("evil", 1),
        "duplicate node name": lambda: nodes[last].__setitem__("name", nodes[1]["name"]),
        "arg_nodes out of range": lambda: graph.__setitem__("arg_nodes", [last + 5, -2]),
        "unknown operator": lambda: nodes[last].__setitem__("op", "NoSuchOp"),
        "bad mxnet_version": lambda: graph.setdefault("attrs", {}).__setitem__(
            "mxnet_version", rng.choice([["int", 2**70], ["str", "x"], ["evil", 1], 10901])
        ),
        "deep subgraphs": lambda: nodes[last].__setitem__(
            "subgraphs", [{"nodes": [], "arg_nodes": [], "heads": []}] * 2
        ),
    }
    label = rng.choice([*sorted(attacks), "random value"])
    if label == "random value":
        graph = with_random_value(rng, graph)
    else:
        attacks[label]()
    return replace_member(members, index, json.dumps(graph).encode()), f"graph: {label}"


PARAMS_VALUES = [0, 1, 2, 0x112, 0xF993FACA, 2**31 - 1, 2**31, 2**32 - 1, 2**63 - 1, 2**64 - 1]


def params_attack(rng: random.Random, members: Members) -> tuple[Members, str]:
    index = member_named(members, ".params")
    data = bytearray(members[index][1])
    roll = rng.random()
    if roll < 0.6:  # a hostile number in a header field near the start or at a record
        offset = rng.choice([0, 8, 16, 24, 28, 32, 36, 40, 44, 48, 56]) + rng.choice([0, 0, 4])
        offset = min(offset, len(data) - 8)
        value = rng.choice(PARAMS_VALUES)
        fmt, bits = rng.choice([("<Q", 64), ("<I", 32)])
        struct.pack_into(fmt, data, offset, value % 2**bits)
        label = f"params: 0x{value:x} at byte {offset}"
    elif roll < 0.8:
        data = data[: rng.randrange(len(data))]
        label = "params: truncated"
    else:  # the name table: a hostile length in the last names
        offset = max(len(data) - rng.randrange(8, 200), 0)
        struct.pack_into("<Q", data, offset, rng.choice(PARAMS_VALUES))
        label = "params: name table"
    return replace_member(members, index, bytes(data)), label


def hostile_name(rng: random.Random, members: Members) -> tuple[Members, str]:
    name = rng.choice(HOSTILE_NAMES)
    if rng.random() < 0.5:
        index = rng.randrange(len(members))
        renamed = [*members[:index], (name, members[index][1]), *members[index + 1 :]]
        return renamed, f"renamed a member to {name[:40]!r}"
    return [*members, (name, b"x")], f"added a member named {name[:40]!r}"


MEMBER_MUTATORS = [hostile_json, graph_attack, params_attack, hostile_name]


# -- mutators: bytes -> bytes ------------------------------------------------------------------


def flip_bytes(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    mutable = bytearray(data)
    count = rng.choice([1, 2, 4, 16])
    for _ in range(count):
        mutable[rng.randrange(len(mutable))] ^= 1 << rng.randrange(8)
    return bytes(mutable), f"flipped {count} bits"


def damage_directory(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    end = data.rfind(b"PK\x05\x06")
    if end < 0:
        return flip_bytes(rng, data)
    cd_size, cd_offset = struct.unpack_from("<II", data, end + 12)
    mutable = bytearray(data)
    roll = rng.random()
    if roll < 0.4:  # a field of the end record: counts, size, offset, comment length
        field = rng.choice([8, 10, 12, 16, 20])
        fmt = "<H" if field in (8, 10, 20) else "<I"
        struct.pack_into(fmt, mutable, end + field, rng.choice([0, 1, 0xFFFF, 2**31]) % 2**16)
        label = f"end record field {field}"
    elif roll < 0.8:  # a field of a central header: flags, method, crc, sizes, lengths, offset
        start = cd_offset + rng.randrange(max(cd_size - 46, 1))
        start = data.find(b"PK\x01\x02", start)
        start = cd_offset if start < 0 else start
        field, fmt = rng.choice(
            [(8, "<H"), (10, "<H"), (16, "<I"), (20, "<I"), (24, "<I")]
            + [(28, "<H"), (30, "<H"), (38, "<I"), (42, "<I")]
        )
        limit = 2**16 if fmt == "<H" else 2**32
        value = rng.choice([0, 1, 8, 9, 99, 0xFFFF, 0xA1FF0000, 0xFFFFFFFF]) % limit
        if start + field + 4 <= len(mutable):
            struct.pack_into(fmt, mutable, start + field, value)
        label = f"central header field {field} = {value}"
    else:
        for _ in range(8):
            mutable[cd_offset + rng.randrange(max(cd_size, 1)) % len(mutable)] = rng.randrange(256)
        label = "random bytes in the central directory"
    return bytes(mutable), label


def truncate(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    cut = rng.choice([0, 1, 4, 22, rng.randrange(len(data)), len(data) - rng.randrange(1, 23)])
    return data[: max(cut, 0)], f"truncated to {cut} bytes"


BYTE_MUTATORS = [flip_bytes, damage_directory]


# -- the zip structure, written byte by byte ---------------------------------------------------


@dataclass
class RawMember:
    """One member as both of its headers describe it; the fields of `local` and `central`
    override the true values, so the two can disagree."""

    name: bytes
    data: bytes  # the bytes stored (compressed when method is 8)
    method: int
    crc: int
    size: int  # uncompressed
    local: dict[str, Any] = field(default_factory=dict)
    central: dict[str, Any] = field(default_factory=dict)
    descriptor: bytes = b""  # written after the data (flag bit 3)

    def header(self, which: str, offset: int = 0) -> bytes:
        fields = {
            "name": self.name,
            "flags": 0x800 if any(b > 127 for b in self.name) else 0,
            "method": self.method,
            "crc": self.crc,
            "csize": len(self.data),
            "size": self.size,
            "extra": b"",
            "offset": offset,
            "mode": 0o100644,
        }
        fields.update(self.local if which == "local" else self.central)
        name, extra = fields["name"], fields["extra"]
        # Version needed, flags, method, time, date, CRC-32, sizes, name and extra lengths:
        # the same fields, in the same order, in both headers.
        shared = struct.pack(
            "<HHHHIIIHH",
            fields["flags"],
            fields["method"],
            0,
            0x21,
            fields["crc"] % 2**32,
            fields["csize"] % 2**32,
            fields["size"] % 2**32,
            len(name),
            len(extra),
        )
        if which == "local":
            return struct.pack("<IH", 0x04034B50, 20) + shared + name + extra
        tail = struct.pack(
            "<HHHII", 0, 0, 0, (fields["mode"] << 16) % 2**32, fields["offset"] % 2**32
        )
        return struct.pack("<IHH", 0x02014B50, 0x031E, 20) + shared + tail + name + extra


def raw_members(members: Members, method: int) -> list[RawMember]:
    raw = []
    for name, data in members:
        if method == zipfile.ZIP_DEFLATED:
            packer = zlib.compressobj(6, zlib.DEFLATED, -15)
            stored = packer.compress(data) + packer.flush()
        else:
            stored = data
        raw.append(
            RawMember(
                name.encode("utf-8", "surrogatepass"), stored, method, zlib.crc32(data), len(data)
            )
        )
    return raw


def assemble(members: list[RawMember], comment: bytes = b"", cd_offset_shift: int = 0) -> bytes:
    body, central = bytearray(), bytearray()
    for member in members:
        offset = len(body)
        body += member.header("local") + member.data + member.descriptor
        central += member.header("central", offset)
    end = struct.pack(
        "<IHHHHIIH",
        0x06054B50,
        0,
        0,
        len(members),
        len(members),
        len(central),
        (len(body) + cd_offset_shift) % 2**32,
        len(comment) % 2**16,
    )
    return bytes(body + central + end + comment)


def extra_field(header_id: int, payload: bytes) -> bytes:
    return struct.pack("<HH", header_id, len(payload)) + payload


def unicode_path(header_name: bytes, shown: str, crc_ok: bool = True) -> bytes:
    """Info-ZIP's Unicode Path extra field (0x7075): tools that honour it use `shown`."""
    crc = zlib.crc32(header_name) if crc_ok else zlib.crc32(header_name) ^ 1
    return extra_field(0x7075, struct.pack("<BI", 1, crc) + shown.encode("utf-8", "surrogatepass"))


def zip64_extra(*values: int) -> bytes:
    return extra_field(0x0001, b"".join(struct.pack("<Q", v % 2**64) for v in values))


def descriptor(crc: int, csize: int, size: int, signed: bool, wide: bool) -> bytes:
    sizes = struct.pack("<QQ" if wide else "<II", csize, size)
    return (struct.pack("<I", 0x08074B50) if signed else b"") + struct.pack("<I", crc) + sizes


def structure_attack(rng: random.Random, members: list[RawMember]) -> tuple[bytes, str]:
    """One disagreement inside the zip structure, on a randomly chosen member."""
    target = rng.choice(members)
    other = rng.choice(members)
    lie = rng.choice([0, 1, -1, 17, 2**31, 0xFFFFFFFF])
    side = rng.choice(["local", "central"])
    attacks: dict[str, Callable[[], None]] = {
        "local name differs": lambda: target.local.__setitem__(
            "name",
            rng.choice(
                [other.name, b"../../evil.py", target.name.upper(), target.name + b"\0x", b""]
            ),
        ),
        "sizes differ": lambda: getattr(target, side).update(
            {rng.choice(["csize", "size"]): max(len(target.data) + lie, 0)}
        ),
        "crc differs": lambda: getattr(target, side).__setitem__("crc", target.crc ^ (1 + lie)),
        "flags differ": lambda: getattr(target, side).__setitem__(
            "flags", rng.choice([0x1, 0x8, 0x40, 0x800, 0x2000, 0xFFFF])
        ),
        "method differs": lambda: getattr(target, side).__setitem__(
            "method", rng.choice([0, 8, 12, 14, 99])
        ),
        "data descriptor": lambda: (
            target.local.update(flags=0x8, crc=0, csize=0, size=0),
            target.central.__setitem__("flags", 0x8),
            setattr(
                target,
                "descriptor",
                descriptor(
                    target.crc ^ rng.choice([0, 0, 1]),
                    len(target.data) + rng.choice([0, 0, 1, -1]),
                    target.size + rng.choice([0, 0, 7]),
                    signed=rng.random() < 0.7,
                    wide=rng.random() < 0.2,
                ),
            ),
        ),
        "unicode path extra": lambda: getattr(target, side).__setitem__(
            "extra",
            unicode_path(
                target.name,
                rng.choice(
                    [other.name.decode("utf-8", "replace"), "../evil.py", "/etc/x", "é\u0301"]
                ),
                crc_ok=rng.random() < 0.8,
            ),
        ),
        "zip64 extra": lambda: getattr(target, side).update(
            rng.choice(
                [
                    {
                        "size": 0xFFFFFFFF,
                        "csize": 0xFFFFFFFF,
                        "extra": zip64_extra(target.size, len(target.data)),
                    },
                    {"size": 0xFFFFFFFF, "csize": 0xFFFFFFFF, "extra": zip64_extra(2**62, 1)},
                    {"size": 0xFFFFFFFF, "extra": zip64_extra()},
                    {"offset": 0xFFFFFFFF, "extra": zip64_extra(2**40)},
                    {"extra": zip64_extra(1, 2, 3, 4)},
                ]
            )
        ),
        "unknown extra": lambda: getattr(target, side).__setitem__(
            "extra",
            rng.choice(
                [
                    extra_field(rng.randrange(2**16), os.urandom(rng.randrange(0, 40))),
                    struct.pack("<HH", 0x5455, 400) + b"\0" * 3,  # overruns its header
                    b"\x01",
                ]
            ),
        ),
        "mode": lambda: target.central.__setitem__(
            "mode",
            rng.choice([stat.S_IFLNK | 0o777, stat.S_IFIFO | 0o644, stat.S_IFDIR | 0o755, 0]),
        ),
    }
    whole: dict[str, Callable[[], bytes]] = {
        "two archives end to end": lambda: (
            assemble(members[: len(members) // 2]) + assemble(members[len(members) // 2 :])
        ),
        "directory offset into itself": lambda: assemble(
            members, cd_offset_shift=rng.randrange(1, 200)
        ),
        "a second end record in the comment": lambda: assemble(
            members, comment=struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, 46, 0, 0)
        ),
        "NFC/NFD twin names": lambda: assemble(
            [
                *members,
                RawMember(
                    unicodedata.normalize("NFD", "café.json").encode(),
                    b"{}",
                    0,
                    zlib.crc32(b"{}"),
                    2,
                ),
                RawMember("café.json".encode(), b"{}", 0, zlib.crc32(b"{}"), 2),
            ]
        ),
        "directory entry and file of one name": lambda: assemble(
            [
                *members,
                RawMember(target.name + b"/", b"", 0, 0, 0, central={"mode": stat.S_IFDIR | 0o755}),
            ]
        ),
    }
    label = rng.choice([*sorted(attacks), *sorted(whole)])
    if label in whole:
        return whole[label](), f"zip: {label}"
    attacks[label]()
    return assemble(members), f"zip: {label} ({side}, {target.name[:30]!r})"


# -- model folders -----------------------------------------------------------------------------


def folder_attack(rng: random.Random, names: list[str]) -> tuple[Callable[[Path], None], str]:
    """A change to a model folder, applied after its files are written. MANIFEST.json itself
    is left a file: a folder without one is not a model folder (issue 15, item 8 gives it a
    finding of its own)."""
    name = rng.choice([n for n in names if n != "MANIFEST.json"])

    def replace(folder: Path) -> Path:
        path = folder / name
        path.unlink()
        return path

    def unreadable(folder: Path) -> None:
        if rng.random() < 0.7:
            (folder / name).chmod(0)
        else:
            sub = folder / "private"
            sub.mkdir()
            (sub / "notes.txt").write_text("x")
            sub.chmod(0)

    attacks: dict[str, Callable[[Path], None]] = {
        "link out of the folder": lambda folder: replace(folder).symlink_to(
            rng.choice(
                [
                    "/etc/hostname",
                    "/dev/zero",
                    "../outside.json",
                    "/proc/self/environ",
                    "/nonexistent",
                ]
            )
        ),
        "folder link out": lambda folder: (folder / rng.choice(["up", "root"])).symlink_to(
            rng.choice(["..", "/", "/proc/self"]), target_is_directory=True
        ),
        "link loop": lambda folder: (
            replace(folder).symlink_to(name + ".loop"),
            (folder / (name + ".loop")).symlink_to(name),
        ),
        "self link": lambda folder: replace(folder).symlink_to(name),
        "folder link loop": lambda folder: (folder / "loop").symlink_to(
            ".", target_is_directory=True
        ),
        "fifo": lambda folder: os.mkfifo(replace(folder)),
        "unreadable": unreadable,
        "folder named like a member": lambda folder: (
            replace(folder).mkdir(),
            (folder / name / "inside.txt").write_text("x"),
        ),
        "deep folders": lambda folder: (folder / ("d/" * rng.choice([20, 40]))).mkdir(parents=True),
        "hostile file name": lambda folder: (
            folder / rng.choice(["\x1b[31mred", "line\nbreak", "x" * 250, "caf\u00e9.py", "-rf"])
        ).write_text("x"),
    }
    label = rng.choice(sorted(attacks))
    return attacks[label], f"folder: {label} ({name})"


def folder_case(rng: random.Random, members: Members) -> Case:
    """A model folder: the (possibly mutated) members as files, then folder attacks."""
    mutations: list[str] = []
    attacks = []
    for _ in range(rng.choice([1, 1, 2])):
        attack, label = folder_attack(rng, [name for name, _ in members])
        attacks.append(attack)
        mutations.append(label)

    def lay_out(folder: Path) -> None:
        (folder.parent / "outside.json").write_text('{"secret": 1}')
        for name, data in members:
            path = folder / name
            if (
                not path.resolve().is_relative_to(folder.resolve())
                or not name
                or name.endswith("/")
            ):
                continue  # a hostile name: only archives can hold it
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        for attack in attacks:
            try:
                attack(folder)
            except (FileNotFoundError, FileExistsError, IsADirectoryError, NotADirectoryError):
                pass  # an earlier attack took the name

    return Case(mutations, folder=lay_out)


def make_case(rng: random.Random, seeds: list[Members]) -> Case:
    members = list(rng.choice(seeds))
    mutations: list[str] = []
    kind = rng.choices(["bytes", "structure", "folder"], weights=[45, 30, 25])[0]
    chosen = rng.sample(range(len(MEMBER_MUTATORS)), rng.choice([0, 1, 1, 2]))
    mutators = [MEMBER_MUTATORS[i] for i in sorted(chosen)]  # renaming comes last
    if kind != "bytes":
        mutators = [m for m in mutators if m is not hostile_name]
    for mutate in mutators:
        members, label = mutate(rng, members)
        mutations.append(label)
    if kind == "folder":
        case = folder_case(rng, members)
        case.mutations[:0] = mutations
        return case
    compression = rng.choice([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
    if kind == "structure":
        data, label = structure_attack(rng, raw_members(members, compression))
        mutations.append(label)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            data = write_zip(Path(tmp) / "case.model", members, compression).read_bytes()
        if not mutations or rng.random() < 0.3:
            data, label = rng.choice(BYTE_MUTATORS)(rng, data)
            mutations.append(label)
    truncated = rng.random() < 0.15
    if truncated:
        data, label = truncate(rng, data)
        mutations.append(label)
    return Case(mutations, data=data, truncated=truncated)


# -- running -----------------------------------------------------------------------------------


def run_driver(paths: list[Path], timeout: float = BATCH_TIMEOUT) -> tuple[list[dict], str]:
    """The driver's answers for `paths`, and why it gave no complete answer ('' when it did)."""
    with tempfile.TemporaryDirectory(prefix="mar-lint-fuzz-cwd-") as cwd:
        try:
            done = subprocess.run(
                [sys.executable, str(DRIVER), *map(str, paths)],
                capture_output=True,
                timeout=timeout,
                check=False,
                cwd=cwd,  # never the folder of the cases
            )
        except subprocess.TimeoutExpired:
            return [], f"hung: no answer within {timeout:g} s"
    lines = [json.loads(line) for line in done.stdout.decode("utf-8", "replace").splitlines()]
    if done.returncode != 0 or len(lines) != len(paths) * 3:
        stderr = done.stderr.decode("utf-8", "replace")[-2000:]
        return lines, f"the driver exited with status {done.returncode}: {stderr}"
    return lines, ""


def problems_of(answer: dict, truncated: bool, known: list[str] | None = None) -> list[str]:
    """What is wrong with one command's run over one case; empty when every property holds.
    A known crash (KNOWN_CRASH_SIGNATURES) is added to `known` instead, when it is given."""
    command, code, stdout = answer["command"], answer["exit"], answer["stdout"]
    if answer["crash"]:
        why = known_crash(answer["crash"])
        if why and known is not None:
            known.append(f"{answer['case']}: {command}: {why}")
            return []
        return [f"{command}: crashed: {answer['crash']}"]
    if code not in (0, 1):
        return [f"{command}: exit status {code}: {answer['stderr']}"]
    if command == "explore-text":
        return []
    try:
        document = json.loads(stdout)
    except ValueError as exc:
        return [f"{command}: invalid JSON output ({exc}): {stdout[:300]!r}"]
    if command == "explore-json":
        return [] if isinstance(document, dict) else [f"{command}: not a JSON object"]
    archives = document.get("archives", [])
    if [a["path"] for a in archives] != [answer["case"]]:
        return [f"{command}: the report does not list exactly the case"]
    findings = archives[0]["findings"]
    found = []
    severities = {f["severity"] for f in findings}
    crashed = [f["message"] for f in findings if f["code"] == "MAR901"]
    if crashed:
        found.append(f"{command}: rule crashed: {crashed[0]}")
    if truncated and "error" not in severities:
        found.append(f"{command}: truncated, yet no error finding")
    if code != int("error" in severities):
        found.append(f"{command}: exit status {code} disagrees with the findings")
    return found


def batch_problems(
    paths: list[Path], truncated: set[Path], known: list[str]
) -> dict[Path, list[str]]:
    """Problems per case of one driver run; a run that died or hung blames all its cases."""
    answers, failure = run_driver(paths)
    found: dict[Path, list[str]] = {}
    for answer in answers:
        path = Path(answer["case"])
        found.setdefault(path, []).extend(problems_of(answer, path in truncated, known))
    if failure:
        for path in paths:
            found.setdefault(path, []).append(failure)
    return {path: problems for path, problems in found.items() if problems}


def isolate(paths: list[Path], truncated: set[Path]) -> list[tuple[Path, str]]:
    """The cases that fail on their own: a run that died or hung is halved until they show."""
    answers, failure = run_driver(paths)
    if not failure:
        return [
            (Path(a["case"]), problem)
            for a in answers
            for problem in problems_of(a, Path(a["case"]) in truncated, [])[:1]
        ]
    if len(paths) == 1:
        return [(paths[0], failure)]
    half = len(paths) // 2
    found = isolate(paths[:half], truncated) + isolate(paths[half:], truncated)
    return found or [(paths[0], f"fails only together with the others: {failure}")]


@pytest.fixture(scope="module")
def seeds(mlp_model, cnn_model) -> list[Members]:
    def encoded(spec: ArchiveSpec) -> Members:
        return [(n, d.encode() if isinstance(d, str) else d) for n, d in spec.members()]

    return [encoded(ArchiveSpec(mlp_model)), encoded(ArchiveSpec(cnn_model))]


def save_dir() -> Path:
    target = os.environ.get("MAR_LINT_FUZZ_SAVE")
    path = Path(target) if target else Path(tempfile.mkdtemp(prefix="mar-lint-crashers-"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def keep(path: Path, name: str) -> Path:
    """Save a failing case: an archive as is, a folder as a tar (which keeps its links,
    FIFOs and modes)."""
    if path.is_dir():
        saved = save_dir() / (name + ".tar")
        with tarfile.open(saved, "w") as tar:
            tar.add(path, arcname=path.name)
        return saved
    saved = save_dir() / name
    saved.write_bytes(path.read_bytes())
    return saved


def restore_permissions(folder: Path) -> None:
    """Make the unreadable parts removable again (for a user without root's capabilities)."""
    for top, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = Path(top, name)
            if not path.is_symlink() and not stat.S_ISFIFO(path.lstat().st_mode):
                path.chmod(0o755 if path.is_dir() else 0o644)


def fuzz(tmp_path: Path, seeds: list[Members], cases: int) -> None:
    failures: list[str] = []
    known: list[str] = []
    counter = {"archives": 0, "folders": 0, "truncated": 0}
    labels: dict[str, int] = {}
    started = time.monotonic()

    def one_batch(batch: int) -> tuple[list[str], dict[str, int], list[str]]:
        folder = tmp_path / f"batch-{batch:04d}"
        folder.mkdir()
        paths, truncated, described, kinds = [], set(), {}, []
        counts = {"archives": 0, "folders": 0, "truncated": 0}
        for number in range(batch * BATCH, min((batch + 1) * BATCH, cases)):
            rng = random.Random(f"{FUZZ_SEED}-{number}")
            case = make_case(rng, seeds)
            path = case.write(folder / f"case-{number:05d}")
            paths.append(path)
            described[path] = "; ".join(case.mutations)
            counts["folders" if case.folder else "archives"] += 1
            if case.truncated:
                truncated.add(path)
                counts["truncated"] += 1
            kinds.extend(label.split(":")[0].split(" ")[0] for label in case.mutations)
        found = []
        if batch_problems(paths, truncated, known):
            for path, problem in isolate(paths, truncated):
                saved = keep(path, f"seed{FUZZ_SEED}-{path.name}")
                found.append(f"{saved} ({described[path]}): {problem}")
        restore_permissions(folder)
        return found, counts, kinds

    batches = range((cases + BATCH - 1) // BATCH)
    with ThreadPoolExecutor(WORKERS) as pool:
        for found, counts, kinds in pool.map(one_batch, batches):
            failures.extend(found)
            for key, value in counts.items():
                counter[key] += value
            for kind in kinds:
                labels[kind] = labels.get(kind, 0) + 1
    print(
        f"\nfuzz: {counter['archives']} archives and {counter['folders']} model folders, each "
        f"through check, explore --format json and explore, in {time.monotonic() - started:.0f} s "
        f"(seed {FUZZ_SEED}), {counter['truncated']} truncated; mutations: "
        f"{dict(sorted(labels.items()))}; failures: {len(failures)}; known crashes, "
        f"owned elsewhere: {len(known)}" + "".join(f"\n  known: {k}" for k in known[:10])
    )
    assert not failures, "\n".join(failures[:20])
    assert counter["archives"] + counter["folders"] == cases
    assert counter["folders"] and counter["archives"]


def test_mutated_archives_and_folders_never_crash_or_hang(tmp_path, seeds):
    fuzz(tmp_path, seeds, EVERYDAY_CASES)


@pytest.mark.fuzz_long
def test_long_fuzz(tmp_path, seeds):
    """The opt-in long run: MAR_LINT_FUZZ_CASES cases (default 2000) from MAR_LINT_FUZZ_SEED."""
    fuzz(tmp_path, seeds, LONG_CASES)


@pytest.fixture(scope="module")
def crasher_runs() -> dict[Path, tuple[list[dict], str]]:
    """Every crasher through one driver run; one at a time when that run dies or hangs."""
    paths = sorted(CRASHERS.glob("*.model"))
    answers, failure = run_driver(paths, 180)
    if failure:
        return {path: run_driver([path], 120) for path in paths}
    return {path: ([a for a in answers if a["case"] == str(path)], "") for path in paths}


@pytest.mark.parametrize("path", sorted(CRASHERS.glob("*.model")), ids=lambda path: path.name)
def test_crashers_stay_fixed(path, crasher_runs):
    """Every archive that once crashed mar-lint is checked and explored cleanly now. A crash
    already filed against code owned elsewhere (KNOWN_CRASH_SIGNATURES) makes the test an
    expected failure, with the reason; every other property must still hold."""
    assert path.stat().st_size < 100_000
    answers, failure = crasher_runs[path]
    assert not failure, failure
    assert len(answers) == 3
    known: list[str] = []
    assert [problem for answer in answers for problem in problems_of(answer, False, known)] == []
    if known:
        pytest.xfail("; ".join(known))
