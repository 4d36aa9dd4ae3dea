"""Hostile zip structures (issue 15, part B): what `check`, `explore` and `repack` tell the
user about bytes that outrun their headers, members that share their bytes, damaged
directories, local headers that disagree with the central directory, and names that other
tools read otherwise. The archives come from `hostile_zip_cases`, built at run time.
"""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import hostile_zip_cases as cases
import pytest
from conftest import check, run_cli

pytestmark = pytest.mark.filterwarnings("ignore:Duplicate name:UserWarning")

MAR0 = ("--select", "MAR0")  # the container rules: no MXNet needed


def explore_json(path: Path, *args: str) -> tuple[int, dict]:
    result = run_cli("explore", "--format", "json", str(path), *args)
    return result.exit_code, json.loads(result.output)


def rows(document: dict) -> dict[str, str]:
    return {row["name"]: row["integrity"] for row in document["members"]}


# -- decompression bounded by the bytes produced -------------------------------------------------


def test_deflated_member_that_outruns_its_size_is_stopped_there(tmp_path):
    path = cases.understated(
        tmp_path / "m.model", "weights.bin", zipfile.ZIP_DEFLATED, 8 << 20, 4096
    )
    result = check(path, args=MAR0)
    [finding] = result.only("MAR002")
    assert finding["member"] == "weights.bin"
    assert "inflates past the 4,096 bytes its header declares" in finding["message"]
    assert result.exit_code == 1


@pytest.mark.parametrize(
    ("method", "name"), [(zipfile.ZIP_BZIP2, "bzip2"), (zipfile.ZIP_LZMA, "lzma")]
)
def test_bzip2_and_lzma_members_are_never_read(tmp_path, method, name):
    path = cases.understated(tmp_path / "m.model", "weights.bin", method, 4 << 20, 4096)
    result = check(path, args=MAR0)
    [finding] = result.only("MAR004")
    assert f"is compressed with {name}" in finding["message"]
    assert "mar-lint does not read it" in finding["message"]
    assert finding["consequence"] == "unchecked-risk"  # MMS 0.x on Python 3 unpacks it
    assert "MAR002" not in result.codes  # not read, so neither CRC nor size was checked
    status, document = explore_json(path)
    assert status == 0
    assert rows(document)["weights.bin"].startswith("refused: is compressed with")


# -- overlapping members ---------------------------------------------------------------------------


def test_overlapping_members_are_a_bomb_and_never_inflated(tmp_path):
    path = cases.small_overlap_bomb(tmp_path)
    result = check(path, args=MAR0)
    [bomb] = result.only("MAR006")
    assert "7 members overlap other members' compressed bytes" in bomb["message"]
    assert "mar-lint inflates none of these 8 members" in bomb["message"]
    assert "MAR002" not in result.codes and result.exit_code == 1
    status, document = explore_json(path, "--extract", str(tmp_path / "out"))
    assert status == 1
    skipped = {s["name"]: s["reason"] for s in document["extract"]["skipped"]}
    assert sorted(skipped) == [f"bomb/{i:04d}.bin" for i in range(8)]
    assert all("overlaps the bytes of other members" in r for r in skipped.values())
    assert not (tmp_path / "out" / "bomb").exists()
    assert "MANIFEST.json" in document["extract"]["written"]


def test_overlapping_members_are_refused_in_the_overview(tmp_path):
    status, document = explore_json(cases.small_overlap_bomb(tmp_path))
    assert status == 0
    integrity = rows(document)
    assert all(integrity[f"bomb/{i:04d}.bin"].startswith("refused: overlaps") for i in range(8))
    assert document["check"]["summary"]["errors"] >= 1


# -- directories zipfile trips over: findings, never tracebacks ------------------------------------


def test_zip64_locator_claiming_several_disks_is_mar001(tmp_path):
    path = cases.zip64_multidisk(tmp_path)
    result = check(path)
    [finding] = result.findings
    assert finding["code"] == "MAR001" and result.exit_code == 1
    assert finding["message"] == (
        "the zip is damaged: zipfiles that span multiple disks are not supported"
    )
    status, document = explore_json(path, "--extract", str(tmp_path / "out"))
    assert status == 1 and "span multiple disks" in document["unreadable"]
    repacked = run_cli("repack", str(path), "-o", str(tmp_path / "out.model"))
    assert repacked.exit_code == 1 and "nothing repacked" in repacked.output


@pytest.mark.parametrize(
    ("build", "fragment"),
    [
        (cases.directory_offset_into_itself, "the end record puts the central directory at"),
        (cases.second_directory_in_comment, "they hold another central directory"),
    ],
    ids=["cd-offset-into-itself", "second-cd-in-comment"],
)
def test_damaged_directories_are_findings_everywhere(tmp_path, build, fragment):
    path = build(tmp_path)
    result = check(path, args=MAR0)
    assert result.exit_code == 1
    assert any(fragment in f["message"] and f["member"] is None for f in result.only("MAR002"))
    status, document = explore_json(path)
    assert status == 0 and any(fragment in f["message"] for f in document["check"]["findings"])
    assert run_cli("explore", str(path)).exit_code == 0
    status, document = explore_json(path, "--extract", str(tmp_path / "out"))
    assert status == 1 and document["extract"]["skipped"]
    repacked = run_cli("repack", str(path), "-o", str(tmp_path / "out.model"))
    assert repacked.exit_code in (0, 1, 2) and "Traceback" not in repacked.output


# -- local headers against the central directory ---------------------------------------------------


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ("size", "its local header declares CRC 586c5d4d and 40/40 bytes"),
        ("crc", "its local header declares CRC deadbeef"),
        ("encryption", "only its local header marks it encrypted"),
        ("method", "its local header says compression method 8, the directory 0"),
    ],
)
def test_local_header_that_disagrees_is_mar002_and_not_read(tmp_path, change, fragment):
    path = cases.local_differs(tmp_path, change)
    result = check(path, args=MAR0)
    [finding] = result.only("MAR002")
    assert finding["member"] == "synset.txt" and finding["message"].startswith(
        "its headers disagree: "
    )
    assert fragment in finding["message"] and result.exit_code == 1
    assert finding["consequence"] == "unchecked-risk"  # zipfile (MMS 0.x) trusts the directory
    status, document = explore_json(path, "--extract", str(tmp_path / "out"))
    assert status == 1
    [skipped] = document["extract"]["skipped"]
    assert skipped["name"] == "synset.txt" and "headers that disagree" in skipped["reason"]
    assert not (tmp_path / "out" / "synset.txt").exists()


def test_local_name_that_disagrees_is_mar002(tmp_path):
    path = cases.local_name_differs(tmp_path)
    result = check(path, args=MAR0)
    [finding] = result.only("MAR002")
    assert finding["member"] == "service.py" and result.exit_code == 1
    assert "its local header names it 'evil_sv.py'" in finding["message"]
    # MMS 0.x unpacks with zipfile's `open`, which refuses this member: MMS refuses the archive.
    assert finding["consequence"] == "refused"
    with zipfile.ZipFile(path) as archive, pytest.raises(zipfile.BadZipFile, match="differ"):
        archive.open("service.py")


def test_repack_does_not_copy_a_member_whose_headers_disagree(tmp_path):
    """The junk file gives repack a fix to apply; the member it would copy as raw bytes has a
    local header that disagrees with the directory: nothing is written."""
    path = cases.local_differs(tmp_path, "crc", extra=[(".DS_Store", b"Bud1")])
    out = tmp_path / "out.model"
    result = run_cli("repack", str(path), "-o", str(out))
    assert result.exit_code == 2 and not out.exists()
    assert "synset.txt has headers that disagree" in result.stderr


def test_lying_data_descriptor_is_mar002(tmp_path):
    result = check(cases.lying_data_descriptor(tmp_path), args=MAR0)
    [finding] = result.only("MAR002")
    assert finding["member"] == "synset.txt" and result.exit_code == 1
    assert "its data descriptor declares CRC 12345678 and 87/99 bytes" in finding["message"]


def test_concatenated_archives_are_mar002(tmp_path):
    result = check(cases.concatenated(tmp_path), args=MAR0)
    messages = [f["message"] for f in result.only("MAR002")]
    assert any(
        m.startswith("128 bytes before the first member belong to no member")
        and "another archive hidden in this one" in m
        for m in messages
    )
    assert result.exit_code == 1


# -- names other tools read otherwise ----------------------------------------------------------------


def test_unicode_path_extra_naming_another_file_is_mar005(tmp_path):
    result = check(cases.unicode_path_extra(tmp_path), args=MAR0)
    [finding] = result.only("MAR005")
    # Python 3.12+'s own zipfile applies the field, so there the member is listed as evil.py.
    listed = "service.py" if sys.version_info < (3, 12) else "evil.py"
    assert finding["member"] == listed and finding["severity"] == "error"
    assert "its Unicode Path extra field names it 'evil.py'" in finding["message"]
    assert "zipfile (MMS 0.x) as 'service.py'" in finding["message"]
    assert result.exit_code == 1


def test_nfc_and_nfd_twins_are_mar005(tmp_path):
    result = check(cases.nfc_nfd_twins(tmp_path), args=MAR0)
    [finding] = result.only("MAR005")
    assert finding["severity"] == "warning" and result.exit_code == 0  # as names in two cases
    assert finding["message"] == (
        "'cafe\\u0301.txt', 'caf\\xe9.txt' differ only in Unicode normalisation: on macOS "
        "one overwrites the other"
    )


def test_a_name_that_is_a_file_and_a_folder_is_mar005(tmp_path):
    result = check(cases.directory_and_file(tmp_path), args=MAR0)
    [finding] = result.only("MAR005")
    assert finding["member"] == "labels"
    assert "'labels' is both a file and a folder" in finding["message"]
    assert result.exit_code == 1


def test_nul_in_a_member_name_is_mar003_and_not_extracted(tmp_path):
    path = cases.nul_in_name(tmp_path)
    result = check(path, args=MAR0)
    [finding] = result.only("MAR003")
    assert result.exit_code == 1
    assert finding["message"] == (
        "member name 'service.py\\x00.txt' holds a NUL byte: Python's zipfile (MMS 0.x) cuts "
        "it to 'service.py', other tools keep the rest or refuse it"
    )
    status, document = explore_json(path, "--extract", str(tmp_path / "out"))
    reasons = [s["reason"] for s in document["extract"]["skipped"]]
    assert status == 1 and any("stored name holds a NUL byte" in r for r in reasons)


def test_every_case_builds_and_is_a_finding(tmp_path):
    """Every builder the benchmark uses gives a finding from `check`, never a traceback."""
    for name, build in cases.CASES.items():
        if name == "overlap-bomb":
            continue  # its small twin is checked above; the full one is the benchmark's
        folder = tmp_path / name
        folder.mkdir()
        result = check(build(folder), args=MAR0)
        assert result.exit_code == 1 or result.findings, name


# -- what real zip writers produce is not a finding ----------------------------------------------


class _Pipe:
    """A write-only, unseekable file: zipfile then writes data descriptors, as when streaming."""

    def __init__(self, sink) -> None:
        self._sink = sink

    def write(self, data: bytes) -> int:
        return self._sink.write(data)

    def flush(self) -> None:
        pass


@pytest.mark.parametrize("how", ["streamed", "zip64"])
def test_descriptors_and_zip64_headers_of_real_writers_are_clean(tmp_path, how):
    path = tmp_path / f"{how}.model"
    with open(path, "wb") as out:
        sink = _Pipe(out) if how == "streamed" else out
        with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED) as archive:  # type: ignore[arg-type]
            for name, data in cases.sample_members():
                with archive.open(name, "w", force_zip64=how == "zip64") as member:
                    member.write(data)
    result = check(path, args=MAR0)
    assert result.findings == [] and result.exit_code == 0


@pytest.mark.skipif(shutil.which("zip") is None, reason="Info-ZIP `zip` is not installed")
def test_info_zip_streaming_to_a_pipe_is_clean(tmp_path):
    """Info-ZIP writing to a pipe leaves the CRC and compressed size of each local header 0
    and keeps the uncompressed size: a data descriptor carries the rest."""
    folder = tmp_path / "src"
    folder.mkdir()
    for name, data in cases.sample_members():
        (folder / name).write_bytes(data)
    names = sorted(p.name for p in folder.iterdir())
    written = subprocess.run(["zip", "-q", "-", *names], cwd=folder, capture_output=True)
    path = tmp_path / "m.model"
    path.write_bytes(written.stdout)
    with zipfile.ZipFile(path) as archive:
        assert all(info.flag_bits & 0x08 for info in archive.infolist())
    result = check(path, args=MAR0)
    assert result.findings == [] and result.exit_code == 0


# -- the other readers the findings name, run for real --------------------------------------------

# What MMS 1.x does with an archive (ModelArchive.java): java.util.zip.ZipInputStream, which
# streams the local headers from the start of the file.
STREAMING_READER = """
import java.util.zip.*; import java.io.*;
public class Stream { public static void main(String[] args) throws Exception {
  try (ZipInputStream zip = new ZipInputStream(new FileInputStream(args[0]))) {
    for (ZipEntry e; (e = zip.getNextEntry()) != null; ) System.out.println(e.getName());
  } } }
"""


def _limited() -> None:
    """The oracles write nothing: a file-size limit of 1 MiB for the child."""
    resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))


def java_stream_names(path: Path, workdir: Path) -> list[str]:
    source = workdir / "Stream.java"
    source.write_text(STREAMING_READER)
    listed = subprocess.run(
        ["java", "-Xmx64m", str(source), str(path)],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_limited,
    )
    return listed.stdout.splitlines()


@pytest.mark.skipif(shutil.which("java") is None, reason="no Java to run java.util.zip")
def test_java_streaming_reader_sees_what_mar002_says(tmp_path):
    concatenated = cases.concatenated(tmp_path)
    assert java_stream_names(concatenated, tmp_path) == ["service.py"]  # the hidden archive
    renamed = cases.local_name_differs(tmp_path)
    assert "evil_sv.py" in java_stream_names(renamed, tmp_path)


@pytest.mark.skipif(shutil.which("unzip") is None, reason="Info-ZIP `unzip` is not installed")
def test_info_zip_unzip_uses_the_unicode_path_name(tmp_path):
    path = cases.unicode_path_extra(tmp_path)
    listed = subprocess.run(
        ["unzip", "-Z1", str(path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=_limited,
    )
    assert "evil.py" in listed.stdout.splitlines()
    assert "service.py" not in listed.stdout.splitlines()
