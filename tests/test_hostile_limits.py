"""Hostile input, round two (issue 15, part A): every cap is a finding, memory has a
backstop, nothing recurses on the archive's depth, nothing matches archive text
super-linearly, and JSON is read as MMS reads it and written as strict JSON.

The cases come from `hostile_cases.py`, which `benchmarks/hostile.py` measures too.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import check, run_cli
from hostile_cases import CASES, remove_deep, sample_members, write_archive

MAR_LINT = Path(sys.executable).with_name("mar-lint")


def build(name: str, tmp_path: Path) -> Path:
    return CASES[name](tmp_path)


def strict_json(text: str) -> object:
    """Parse as a strict JSON parser would: NaN and Infinity are not JSON."""

    def refuse(constant: str) -> None:
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


def run_in_child(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The real script, with a deadline: a super-linear matcher would run for hours."""
    return subprocess.run(
        [str(MAR_LINT), *args], cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


# -- caps before parsing, each a finding


@pytest.mark.parametrize(
    "case, limit",
    [
        ("json-16m-character-string", "holds a string of over 1,048,576 bytes (the limit)"),
        ("json-million-bad-dimensions", "holds more than 1,000,000 values (the limit)"),
        ("json-5m-empty-objects-under-byte-cap", "holds more than 1,000,000 values (the limit)"),
        ("json-21m-empty-objects", "over the 16,777,216-byte limit"),
    ],
)
def test_json_members_are_bounded_before_parsing(tmp_path, case, limit):
    result = check(build(case, tmp_path), args=("--select", "MAR2"))
    [finding] = result.only("MAR201")
    assert finding["member"] == "signature.json" and limit in finding["message"]


def test_one_rule_lists_at_most_200_findings_and_counts_the_rest(tmp_path):
    junk = check(build("findings-1000-junk-members", tmp_path), args=("--select", "MAR008"))
    listed = junk.only("MAR008")
    summary = [f for f in listed if f["member"] is None]
    assert len(listed) == 201 and len(summary) == 1
    assert summary[0]["message"] == (
        "and 800 more MAR008 findings, not listed (the limit is 200 per rule and archive: "
        "max-findings-per-rule)"
    )
    # Past 20 times the cap, counting stops too: 500,000 bad dimensions cost 4,000 problems.
    dims = check(build("json-500k-bad-dimensions", tmp_path), args=("--select", "MAR201"))
    summary = [f for f in dims.only("MAR201") if f["message"].startswith("and ")]
    assert len(dims.only("MAR201")) == 201
    assert summary[0]["message"].startswith("and over 3,800 more MAR201 findings")


def test_service_file_is_capped_in_check_and_explore(tmp_path):
    archive = build("service-16mb", tmp_path)
    [finding] = check(archive, args=("--select", "MAR4")).only("MAR401")
    assert finding["message"].startswith("not checked: 16,777,212 bytes, too large")
    explored = run_cli("explore", "--format", "json", str(archive))
    service = strict_json(explored.output)["service"]
    # explore says what check says: one reader of the service file (ModelView.service)
    assert service["error"] == finding["message"] and service["classes"] == []


def test_params_tensor_count_is_capped(tmp_path):
    archive = build("params-million-tiny-arrays", tmp_path)
    [finding] = check(archive, args=("--select", "MAR303")).only("MAR303")
    assert "claims 1,000,000 arrays, more than the limit of 100,000" in finding["message"]


def test_a_label_file_over_the_limit_is_reported_not_skipped(tmp_path):
    [finding] = check(build("synset-17mib", tmp_path), args=("--select", "MAR601")).only("MAR601")
    assert finding["severity"] == "warning" and finding["member"] == "synset.txt"
    assert finding["message"].startswith("not checked: synset.txt is 17,825,790 bytes")


# -- the backstop


def test_running_out_of_memory_is_a_finding_and_the_run_goes_on(tmp_path):
    """A signature under every cap that still takes ~150 MB to parse, under a 250 MB limit:
    that archive gets MAR904 (even with MAR9 not selected), the next one is checked."""
    heavy = tmp_path / "heavy"
    heavy.mkdir()
    names = json.dumps([f"s{i:012d}" for i in range(900_000)]).encode()
    members = dict(sample_members(), **{"signature.json": names})
    write_archive(heavy / "case.model", members)
    write_archive(tmp_path / "clean.model", sample_members())
    (tmp_path / ".mar-lint.toml").write_text("[limits]\nmemory = 250_000_000\n")
    done = run_in_child(
        "check", "--format", "json", "--select", "MAR0,MAR1,MAR2", "heavy/case.model",
        "clean.model", cwd=tmp_path,
    )  # fmt: skip
    assert "Traceback" not in done.stderr and done.returncode == 1
    heavy_report, clean_report = json.loads(done.stdout)["archives"]
    assert [f["code"] for f in heavy_report["findings"]] == ["MAR904"]
    assert (
        "ran out of memory on this archive (its limit: 238 MiB"
        in (heavy_report["findings"][0]["message"])
    )
    assert clean_report["findings"] == []
    explored = run_in_child("explore", "--format", "json", "heavy/case.model", cwd=tmp_path)
    assert "Traceback" not in explored.stderr and explored.returncode == 1
    assert "MAR904 mar-lint ran out of memory" in explored.stdout


# -- no recursion on the archive's depth


def test_a_folder_nested_1200_deep_is_a_finding_everywhere(tmp_path):
    model = build("folder-1200-deep", tmp_path)
    try:
        [finding] = check(model, args=("--select", "MAR009")).only("MAR009")
        assert finding["message"].startswith("folders nest deeper than 64 levels (the limit)")
        explored = run_cli("explore", "--format", "json", str(model))
        assert explored.exit_code == 0 and strict_json(explored.output)["manifest"]["error"] is None
        extracted = run_cli("explore", "--extract", str(tmp_path / "out"), str(model))
        assert extracted.exit_code == 0 and (tmp_path / "out" / "MANIFEST.json").is_file()
        # The folder holding it is searched for models without recursion too.
        assert check(tmp_path, args=("--select", "MAR009")).only("MAR009")
    finally:
        remove_deep(model)


def test_a_2000_branch_elif_chain_is_checked_without_recursion(tmp_path):
    result = check(build("service-elif-2000", tmp_path), args=("--select", "MAR4,MAR9"))
    assert result.findings == [] and result.exit_code == 0  # no MAR901 RecursionError


def test_an_expression_nested_100000_deep_is_a_finding_not_a_crash(tmp_path):
    """The parser's own bounds turn it into an error (a C stack overflow would kill us)."""
    service = b"x = " + b"-" * 100_000 + b"1\n"
    members = dict(sample_members(), **{"service.py": service})
    archive = write_archive(tmp_path / "deep.model", members)
    [finding] = check(archive, args=("--select", "MAR401")).only("MAR401")
    assert finding["message"].startswith("not valid Python 3: ")


# -- nothing super-linear on archive text


def test_unterminated_escaped_quotes_are_scanned_in_linear_time(tmp_path):
    archive = build("json-unterminated-escaped-quotes", tmp_path)
    done = run_in_child(
        "check", "--format", "json", "--select", "MAR201", archive.name, cwd=tmp_path
    )
    [finding] = json.loads(done.stdout)["archives"][0]["findings"]
    assert finding["code"] == "MAR201"
    assert "not valid JSON: Unterminated string starting at" in finding["message"]


def test_a_megabyte_reference_is_never_compiled_as_a_glob(tmp_path):
    archive = build("service-reference-1m-glob", tmp_path)
    done = run_in_child(
        "check", "--format", "json", "--select", "MAR103", archive.name, cwd=tmp_path
    )
    [finding] = json.loads(done.stdout)["archives"][0]["findings"]
    assert finding["code"] == "MAR103" and len(finding["message"]) < 1000
    assert (
        "is 1,000,010 characters long, over the 1,024-character limit on names: it was not matched"
        in (finding["message"])
    )


# -- JSON read as MMS reads it, written as strict JSON


MMS_JSON_LOAD = "import json, sys; json.load(open(sys.argv[1]))"  # model_loader.py:132


@pytest.mark.parametrize(
    "case, member, code, what",
    [
        ("manifest-utf8-bom", "MANIFEST.json", "MAR101", "starts with a UTF-8 byte-order mark"),
        ("signature-utf16", "signature.json", "MAR201", "starts with a UTF-16 byte-order mark"),
        ("manifest-utf32", "MANIFEST.json", "MAR101", "starts with a UTF-32 byte-order mark"),
    ],
)
def test_json_in_another_encoding_fails_as_in_mms(tmp_path, case, member, code, what):
    archive = build(case, tmp_path)
    [finding] = check(archive, args=("--select", code)).only(code)
    assert what in finding["message"] and "MMS reads JSON as UTF-8 text" in finding["message"]
    # Ground truth: MMS's own line, in a UTF-8 locale, fails on the same bytes.
    import zipfile

    with zipfile.ZipFile(archive) as opened:
        (tmp_path / member).write_bytes(opened.read(member))
    mms = subprocess.run(
        [sys.executable, "-I", "-X", "utf8", "-c", MMS_JSON_LOAD, str(tmp_path / member)],
        capture_output=True,
        text=True,
    )
    assert mms.returncode == 1 and ("JSONDecodeError" in mms.stderr or "Unicode" in mms.stderr)


def test_nan_and_infinity_are_written_as_strict_json(tmp_path):
    archive = build("manifest-nan-infinity", tmp_path)
    explored = strict_json(run_cli("explore", "--format", "json", str(archive)).output)
    manifest = explored["manifest"]["value"]  # type: ignore[index]
    assert manifest["Model-Archive-Version"] == "NaN"
    assert manifest["Model"]["Threshold"] == "Infinity"
    for output in ("json", "sarif"):
        strict_json(run_cli("check", "--format", output, str(archive)).output)


def test_a_manifest_that_is_a_folder_is_mar101(tmp_path):
    model = build("manifest-is-a-folder", tmp_path)
    result = check(model)
    assert result.exit_code == 1
    [finding] = result.only("MAR101")
    assert finding["message"] == "MANIFEST.json is a folder, not a file"
