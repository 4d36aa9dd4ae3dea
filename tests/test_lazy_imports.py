"""Start-up stays light: what a run does not use, it does not import (the figures themselves
come from benchmarks/startup.py, never from timed tests)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

FIXTURE = Path(__file__).parent / "fixtures" / "digits.model"

# Runs the CLI in-process in a clean interpreter and reports which heavy modules it loaded.
PROBE = """
import json, sys
from mar_lint.cli import main
try:
    main(sys.argv[1:], standalone_mode=False)
finally:
    sys.stderr.write("\\n@@" + json.dumps(sorted(sys.modules)))
"""
HEAVY = (
    "rich",
    "jsonschema",
    "mar_lint.commands.explore",
    "mar_lint.commands.repack",
    "mar_lint.fixer",
    "mar_lint.explore",
    "mar_lint.explore.render",
    "mxnet",
)
# What only `--jobs` or remote targets need, and what only sandboxed children need.
PARALLEL = ("multiprocessing", "concurrent.futures")


def loaded(tmp_path: Path, *args: str, among: tuple[str, ...] = HEAVY) -> list[str]:
    paths = [p for p in sys.path if p]  # never the working folder
    result = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path[:] = {paths!r}\n{PROBE}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    modules = json.loads(result.stderr.rsplit("@@", 1)[1])
    return sorted(m for m in among if m in modules)


def test_version_imports_no_sub_command(tmp_path):
    assert loaded(tmp_path, "--version", among=(*HEAVY, *PARALLEL, "mar_lint.sandbox")) == []


def test_json_check_without_graph_rules_needs_neither_rich_nor_mxnet(tmp_path):
    ignore = "MAR204,MAR205,MAR301,MAR302,MAR304,MAR601"
    modules = loaded(tmp_path, "check", "--format", "json", "--ignore", ignore, str(FIXTURE))
    assert modules == ["jsonschema"]  # the manifest schema is validated; nothing else loads


def test_check_of_one_archive_starts_no_process_pool(tmp_path):
    """Every rule on: multiprocessing and concurrent.futures are for `--jobs` and remote runs."""
    assert loaded(tmp_path, "check", "--format", "json", str(FIXTURE), among=PARALLEL) == []


def test_json_explore_never_imports_rich(tmp_path):
    """`explore --format json` gathers the document and prints it: rendering for people
    (rich, `mar_lint.explore.render`) is not loaded, the graph drawn or not."""
    drawn = tmp_path / "net.dot"
    for args in ((), ("--member", "MANIFEST.json"), ("--graph", str(drawn))):
        modules = loaded(tmp_path, "explore", "--format", "json", *args, str(FIXTURE))
        assert "rich" not in modules
        assert "mar_lint.explore.render" not in modules
        assert "mar_lint.commands.explore" in modules
    assert drawn.is_file()


# The launcher as the `mar-lint` script runs it, with every member counted as big, recording
# whether click was loaded when the early CRC pass started.
LAUNCH_PROBE = """
import sys
from mar_lint import crc_pass
crc_pass.MIN_MEMBER_BYTES = 1_000
start = crc_pass._start
def recording(path):
    sys.stderr.write("\\n@@click loaded: %s\\n" % ("click" in sys.modules))
    return start(path)
crc_pass._start = recording
sys.argv[0] = "mar-lint"
from mar_lint.launcher import main
main()
"""


def test_check_starts_reading_the_weights_before_click_imports(tmp_path):
    """What makes `check` of a big stored archive cost one read (issue 11; the figure comes
    from benchmarks/params_scan.py): the read starts before click and the command import."""
    paths = [p for p in sys.path if p]
    result = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path[:] = {paths!r}\n{LAUNCH_PROBE}"]
        + ["check", "--format", "json", str(FIXTURE)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["summary"]["errors"] == 0
    assert result.stderr.count("@@click loaded:") == 1  # one pass, kept by `check`
    assert "@@click loaded: False" in result.stderr
