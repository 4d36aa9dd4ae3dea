"""The early CRC pass (mar_lint.crc_pass) only ever spares a second read: whatever the archive,
`check` reports what the sequential read reports, and a pass that fails says nothing."""

from __future__ import annotations

import random
import shutil
import struct
import zipfile
import zlib
from pathlib import Path

import pytest
from conftest import check, run_cli

from mar_lint import crc_pass
from mar_lint.archive import ArchiveView
from mar_lint.zip_records import data_offset

FIXTURES = Path(__file__).parent / "fixtures"
DIGITS = FIXTURES / "digits.model"
PARAMS = "digits-0000.params"  # 9,912 bytes, stored


@pytest.fixture
def small_members(monkeypatch):
    """Every member of the fixtures counts as big, in chunks and reads of odd sizes, so the
    pass covers the digits weights in several chunks and partial reads."""
    monkeypatch.setattr(crc_pass, "MIN_MEMBER_BYTES", 1_000)
    monkeypatch.setattr(crc_pass, "_CHUNK", 4_096)
    monkeypatch.setattr(crc_pass, "_READ", 1_500)


@pytest.fixture
def claims(monkeypatch):
    """What every CrcPass.held call answered, in order."""
    answers: list[bool] = []
    held = crc_pass.CrcPass.held

    def recording(self, view, member):
        answers.append(held(self, view, member))
        return answers[-1]

    monkeypatch.setattr(crc_pass.CrcPass, "held", recording)
    return answers


def damaged_copy(tmp_path: Path, name: str = PARAMS) -> Path:
    """digits.model with one byte of a member's stored data flipped: its CRC fails."""
    copy = tmp_path / "damaged.model"
    shutil.copy(DIGITS, copy)
    with zipfile.ZipFile(copy) as archive:
        info = archive.getinfo(name)
    data = bytearray(copy.read_bytes())
    at = data_offset(bytes(data[info.header_offset :]), info.header_offset)
    data[at + info.compress_size // 2] ^= 0xFF
    copy.write_bytes(bytes(data))
    return copy


def test_crc32_combine_is_zlibs():
    rng = random.Random(11)
    for _ in range(200):
        first = rng.randbytes(rng.randrange(0, 3_000))
        second = rng.randbytes(rng.choice([0, 1, 3, rng.randrange(0, 9_000)]))
        combined = crc_pass.crc32_combine(zlib.crc32(first), zlib.crc32(second), len(second))
        assert combined == zlib.crc32(first + second)


def params_of(view: ArchiveView):
    return next(m for m in view.files if m.name == PARAMS)


@pytest.mark.parametrize("workers", [0, 1, 2])
def test_the_pass_vouches_for_an_intact_member_only(small_members, tmp_path, workers):
    for path, intact in ((DIGITS, True), (damaged_copy(tmp_path), False)):
        early = crc_pass.CrcPass(path, workers)
        try:
            with ArchiveView(path) as view:
                assert early.held(view, params_of(view)) is intact
                assert not early.held(view, view.files[0])  # signature.json: too small
        finally:
            early.close()


def test_the_pass_says_nothing_about_another_file(small_members, tmp_path):
    other = tmp_path / "other.model"
    shutil.copy(DIGITS, other)
    early = crc_pass.CrcPass(DIGITS, 1)
    try:
        with ArchiveView(other) as view:
            assert not early.held(view, params_of(view))  # same listing, another file
    finally:
        early.close()


def test_check_reports_the_same_with_the_pass(small_members, claims, tmp_path):
    answers = {}
    for path in (DIGITS, FIXTURES / "digits-broken.model", damaged_copy(tmp_path)):
        count = len(claims)
        with_pass = check(path)
        answers[path.name] = claims[count:]
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(crc_pass, "MIN_MEMBER_BYTES", 1 << 62)  # no member is big: no pass
            without = check(path)
        assert with_pass.exit_code == without.exit_code
        assert with_pass.document == without.document
    # Asked for the weights: the damaged ones are read again, sequentially, and fail there.
    assert answers == {
        "digits.model": [True],
        "digits-broken.model": [True],
        "damaged.model": [False],
    }
    [failure] = check(damaged_copy(tmp_path)).only("MAR002")
    assert failure["member"] == PARAMS and "CRC-32 mismatch" in failure["message"]


def test_a_pass_that_fails_says_nothing(small_members, claims, monkeypatch):
    monkeypatch.setattr(crc_pass, "_READ", 0)  # every read comes back empty: the threads stop
    expected = check(DIGITS)
    assert expected.exit_code == 0 and not expected.findings
    assert claims and not any(claims)


def test_rules_that_wait_for_the_pass_run_last_and_report_in_place(
    small_members, claims, monkeypatch
):
    """With no thread reading, the pass is pending until asked: every rule that asks for
    the weights is set aside, run after the others, and its findings land where they were."""
    asked_early: list[int] = []
    pending = crc_pass.CrcPass.pending

    def recording(self, view, member):
        asked_early.append(member.index)
        return pending(self, view, member)

    monkeypatch.setattr(crc_pass.CrcPass, "pending", recording)
    broken = FIXTURES / "digits-broken.model"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(crc_pass, "MIN_MEMBER_BYTES", 1 << 62)  # no member is big: no pass
        without = check(broken)
    monkeypatch.setattr(crc_pass, "_active", crc_pass.CrcPass(broken, 0))
    deferred = check(broken)
    assert len(asked_early) > 1  # several rules asked, and were set aside
    assert claims == [True]  # then the weights were read once, by the pass
    assert deferred.document == without.document
    assert [f["code"] for f in deferred.findings] == [f["code"] for f in without.findings]


def test_no_pass_when_the_run_may_fork(small_members, claims, monkeypatch, tmp_path):
    """Several paths under --jobs: worker processes are forked, so no thread is started
    before; one path under --jobs is one archive, checked in this process, with the pass."""
    started: list[Path] = []
    init = crc_pass.CrcPass.__init__

    def recording(self, path, workers=1):
        started.append(path)
        init(self, path, workers)

    monkeypatch.setattr(crc_pass.CrcPass, "__init__", recording)
    copy = tmp_path / "copy.model"
    shutil.copy(DIGITS, copy)
    forked = check(DIGITS, copy, args=("--jobs", "2"))
    assert forked.exit_code == 0 and len(forked.document["archives"]) == 2
    assert started == [] and claims == []
    alone = check(DIGITS, args=("--jobs", "2"))
    assert alone.document["archives"] == forked.document["archives"][:1]
    assert started == [DIGITS] and claims == [True]


def stored_copy(tmp_path: Path, source: Path, variant: str) -> Path:
    """`source` written again with every member stored: "zip64" with Zip64 records for
    each, "comment" with an archive comment (the end record is then searched for)."""
    copy = tmp_path / f"{source.stem}-{variant}.model"
    with zipfile.ZipFile(source) as read, zipfile.ZipFile(copy, "w") as written:
        for info in read.infolist():
            target = zipfile.ZipInfo(info.filename, info.date_time)
            with written.open(target, "w", force_zip64=variant == "zip64") as member:
                member.write(read.read(info))
        if variant == "comment":
            written.comment = b"built by the mar-lint tests " * 100
    return copy


@pytest.mark.parametrize("variant", ["plain", "zip64", "comment"])
def test_the_early_listing_is_the_views(small_members, tmp_path, variant):
    """The pass lists members from the zip's records before zipfile is imported: it must
    name the very members a view hands it, or it would read for nothing and `check` would
    read the weights twice."""
    for source in (DIGITS, FIXTURES / "digits-broken.model"):
        path = stored_copy(tmp_path, source, variant)
        early = crc_pass.CrcPass(path, 0)
        with ArchiveView(path) as view:
            expected = [crc_pass._target_of(view, member) for member in view.files]
        assert len(early._targets) >= 2  # the symbol and the weights: 1,000 bytes or more
        assert sorted(early._targets.values()) == sorted(t for t in expected if t), source.name


def test_a_guess_before_parsing_is_kept_only_when_the_command_line_confirms_it(
    small_members, claims, tmp_path
):
    """mar_lint.launcher starts the pass on the first argument that names a big file, before
    click has parsed anything: `check` keeps it for that file, and replaces a guess that was
    an option's value with a pass on its real target."""
    spelled_otherwise = f"{DIGITS.parent}/./{DIGITS.name}"  # click's Path drops the "./"
    crc_pass.start_before_parsing(["--format", "json", spelled_otherwise])
    guessed = crc_pass._active
    assert guessed is not None and guessed.path == spelled_otherwise
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(crc_pass.CrcPass, "__init__", None)  # no second pass may start
        assert check(DIGITS).exit_code == 0
    assert claims == [True] and crc_pass._active is None  # kept, used, stopped at the end

    output = tmp_path / "report.json"
    shutil.copy(DIGITS, output)  # an existing big file, named as the report to overwrite
    crc_pass.start_before_parsing(["-o", str(output), str(DIGITS)])
    assert crc_pass._active is not None and crc_pass._active.path == str(output)
    assert run_cli("check", "--format", "json", "-o", str(output), str(DIGITS)).exit_code == 0
    assert claims == [True, True] and crc_pass._active is None  # DIGITS, by a pass of its own


def test_no_guess_survives_a_run_that_may_fork(small_members, claims, tmp_path):
    copy = tmp_path / "copy.model"
    shutil.copy(DIGITS, copy)
    crc_pass.start_before_parsing(["--jobs", "2", str(DIGITS), str(copy)])
    assert crc_pass._active is not None
    assert check(DIGITS, copy, args=("--jobs", "2")).exit_code == 0
    assert claims == [] and crc_pass._active is None


def test_entries_naming_one_blob_are_read_once(small_members, tmp_path):
    """A directory whose 2,000 entries all name one stored blob: the view refuses them
    (their bytes overlap), and the pass must not CRC the blob 2,000 times for them either.
    It keeps targets that do not overlap, so it reads the file once at most."""
    blob = bytes(range(256)) * 16
    path = tmp_path / "one-blob.model"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("weights.params", blob)
    data = bytearray(path.read_bytes())
    end = data.rindex(b"PK\x05\x06")
    entry_at = data.rindex(b"PK\x01\x02", 0, end)
    entry = bytes(data[entry_at:end])
    entries = entry * 2_000
    record = bytearray(data[end:])
    record[8:20] = struct.pack("<HHII", 2_000, 2_000, len(entries), entry_at)
    path.write_bytes(bytes(data[:entry_at]) + entries + bytes(record))
    early = crc_pass.CrcPass(path, 0)
    assert len(early._targets) == 1
    assert sum(length for _, _, length in early._chunks) == len(blob)
    with ArchiveView(path) as view:
        assert len(view.files) == 2_000 and all(view.refusal(m) for m in view.files[1:])
    with_pass = check(path)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(crc_pass, "MIN_MEMBER_BYTES", 1 << 62)  # no member is big: no pass
        without = check(path)
    assert with_pass.exit_code == without.exit_code == 1
    assert with_pass.document == without.document


def test_the_guess_and_the_pass_skip_big_files_that_are_no_zip(small_members, claims, tmp_path):
    """pre-commit passes a model folder's `.params` files beside archives: the early read
    goes to the first path that is a zip, not to the first big file."""
    weights = tmp_path / "model" / "digits-0000.params"
    weights.parent.mkdir()
    with zipfile.ZipFile(DIGITS) as archive:
        weights.write_bytes(archive.read(PARAMS))  # 9,912 bytes: big, here, and no zip
    crc_pass.start_before_parsing([str(weights), str(DIGITS)])
    assert crc_pass._active is not None and crc_pass._active.path == str(DIGITS)
    crc_pass.stop()
    assert check(weights, DIGITS).exit_code == 0  # a loose model file, then the archive
    assert claims == [True]  # the archive's weights, by a pass `check` started on it
