"""Seeded, time-bounded mutation fuzzing of `mar-lint check` through the real CLI.

Real archives (from real MXNet exports) are mutated: byte flips, truncation, central
directory damage, hostile JSON values, graph attacks, params-header attacks and hostile
member names. Mutated archives are checked in batches by `python -m mar_lint check --format
json`, in child processes, so a crash or a hang of any kind is seen. For every archive: the
exit status is 0 or 1 and agrees with its findings, the output is one valid JSON document,
stderr holds no traceback, no rule crashed (MAR901), and a truncated archive has an error.

A failing batch is replayed one archive at a time; the archives that fail alone are saved
(to $MAR_LINT_FUZZ_SAVE, default a temporary folder) so they can become regression fixtures
in tests/fixtures/crashers/, which `test_crashers_stay_fixed` replays.

    MAR_LINT_FUZZ_SECONDS=600 MAR_LINT_FUZZ_SEED=7 python -m pytest tests/test_fuzz.py -s
"""

from __future__ import annotations

import json
import os
import random
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest
from builders import ArchiveSpec, write_zip

# Test archives hold duplicate names on purpose.
pytestmark = pytest.mark.filterwarnings("ignore:Duplicate name:UserWarning")

FUZZ_SECONDS = float(os.environ.get("MAR_LINT_FUZZ_SECONDS", "60"))
FUZZ_SEED = int(os.environ.get("MAR_LINT_FUZZ_SEED", "20181105"))
BATCH = 150  # archives per CLI run: one Python start and one MXNet import serve them all
WORKERS = 2
BATCH_TIMEOUT = 300.0  # seconds; a hang shows up as a batch that does not finish
CRASHERS = Path(__file__).parent / "fixtures" / "crashers"
# Crashers whose cause is in a module this suite does not fix: file name -> why.
KNOWN_CRASHERS: dict[str, str] = {}

Members = list[tuple[str, bytes]]


@dataclass
class Case:
    """One mutated archive: its bytes, what was done to it, and whether it was truncated."""

    data: bytes
    mutations: list[str]
    truncated: bool = False


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


def make_case(rng: random.Random, seeds: list[Members]) -> Case:
    members = list(rng.choice(seeds))
    mutations: list[str] = []
    chosen = rng.sample(range(len(MEMBER_MUTATORS)), rng.choice([0, 1, 1, 2]))
    for mutate in [MEMBER_MUTATORS[i] for i in sorted(chosen)]:  # renaming comes last
        members, label = mutate(rng, members)
        mutations.append(label)
    compression = rng.choice([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
    with tempfile.TemporaryDirectory() as tmp:
        data = write_zip(Path(tmp) / "case.model", members, compression).read_bytes()
    if not mutations or rng.random() < 0.3:
        data, label = rng.choice(BYTE_MUTATORS)(rng, data)
        mutations.append(label)
    truncated = rng.random() < 0.15
    if truncated:
        data, label = truncate(rng, data)
        mutations.append(label)
    return Case(data, mutations, truncated)


# -- running -----------------------------------------------------------------------------------


def run_check(paths: list[Path], timeout: float = BATCH_TIMEOUT) -> tuple[int, str, str]:
    try:
        done = subprocess.run(
            [sys.executable, "-m", "mar_lint", "check", "--format", "json", *map(str, paths)],
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return -1, "", f"hung: no answer within {timeout:g} s"
    return (
        done.returncode,
        done.stdout.decode("utf-8", "replace"),
        done.stderr.decode("utf-8", "replace"),
    )


def problems_of(
    paths: list[Path], truncated: set[Path], outcome: tuple[int, str, str]
) -> list[str]:
    """What is wrong with one CLI run over `paths`; empty when every property holds."""
    code, stdout, stderr = outcome
    if code not in (0, 1):
        return [f"exit status {code}: {stderr[-2000:]}"]
    if "Traceback" in stderr:
        return [f"traceback on stderr: {stderr[-2000:]}"]
    try:
        archives = json.loads(stdout)["archives"]
    except (ValueError, KeyError, TypeError) as exc:
        return [f"invalid JSON output ({exc}): {stdout[:500]!r}"]
    if [a["path"] for a in archives] != [str(p) for p in paths]:
        return ["the report does not list exactly the archives checked"]
    found = []
    errors = False
    for archive in archives:
        severities = {f["severity"] for f in archive["findings"]}
        errors = errors or "error" in severities
        crashed = [f["message"] for f in archive["findings"] if f["code"] == "MAR901"]
        if crashed:
            found.append(f"{archive['path']}: rule crashed: {crashed[0]}")
        if Path(archive["path"]) in truncated and "error" not in severities:
            found.append(f"{archive['path']}: truncated, yet no error finding")
    if code != int(errors):
        found.append(f"exit status {code} disagrees with the findings")
    return found


def isolate(paths: list[Path], truncated: set[Path]) -> list[tuple[Path, str]]:
    """The archives that fail on their own, found by halving a failing run."""
    problems = problems_of(paths, truncated, run_check(paths))
    if not problems:
        return []
    if len(paths) == 1:
        return [(paths[0], problems[0])]
    half = len(paths) // 2
    found = isolate(paths[:half], truncated) + isolate(paths[half:], truncated)
    return found or [(paths[0], f"fails only together with the others: {problems[0]}")]


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


def test_mutated_archives_never_crash_or_hang(tmp_path, seeds):
    deadline = time.monotonic() + FUZZ_SECONDS
    failures: list[str] = []
    counter = {"cases": 0, "batches": 0, "truncated": 0}
    labels: dict[str, int] = {}

    def one_batch(batch: int) -> tuple[list[str], int, list[str]]:
        """Build and check one batch: (failures, truncated count, mutation kinds)."""
        folder = tmp_path / f"batch-{batch:04d}"
        folder.mkdir()
        paths, truncated, described, kinds = [], set(), {}, []
        for number in range(BATCH):
            rng = random.Random(f"{FUZZ_SEED}-{batch}-{number}")
            case = make_case(rng, seeds)
            path = folder / f"case-{number:03d}.model"
            path.write_bytes(case.data)
            paths.append(path)
            described[path] = "; ".join(case.mutations)
            if case.truncated:
                truncated.add(path)
            kinds.extend(label.split(":")[0].split(" ")[0] for label in case.mutations)
        keep, found = None, []
        for path, problem in isolate(paths, truncated):
            keep = keep or save_dir()
            saved = keep / f"seed{FUZZ_SEED}-b{batch}-{path.name}"
            saved.write_bytes(path.read_bytes())
            found.append(f"{saved} ({described[path]}): {problem}")
        return found, len(truncated), kinds

    with ThreadPoolExecutor(WORKERS) as pool:
        batch = 0
        running = []
        while time.monotonic() < deadline or running:
            while len(running) < WORKERS and time.monotonic() < deadline:
                running.append(pool.submit(one_batch, batch))
                batch += 1
            found, truncated, kinds = running.pop(0).result()
            failures.extend(found)
            counter["batches"] += 1
            counter["cases"] += BATCH
            counter["truncated"] += truncated
            for kind in kinds:
                labels[kind] = labels.get(kind, 0) + 1
    print(
        f"\nfuzz: {counter['cases']} mutated archives in {counter['batches']} CLI runs "
        f"(seed {FUZZ_SEED}, {FUZZ_SECONDS:g} s budget), {counter['truncated']} truncated; "
        f"mutations: {dict(sorted(labels.items()))}; failures: {len(failures)}"
    )
    assert not failures, "\n".join(failures[:20])
    assert counter["cases"] >= BATCH


def crasher_params() -> list[Any]:
    return [
        pytest.param(
            path,
            id=path.name,
            marks=[pytest.mark.xfail(reason=KNOWN_CRASHERS[path.name], strict=False)]
            if path.name in KNOWN_CRASHERS
            else [],
        )
        for path in sorted(CRASHERS.glob("*.model"))
    ]


@pytest.mark.parametrize("path", crasher_params())
def test_crashers_stay_fixed(path):
    """Every archive that once crashed mar-lint is checked cleanly now."""
    assert path.stat().st_size < 100_000
    assert problems_of([path], set(), run_check([path], 120)) == []
