"""`mar-lint explore`: the overview, `--member`, `--extract`, `--graph` and `--format json`,
on clean archives, model folders and every kind of broken archive."""

from __future__ import annotations

import json
import os
import shutil
import stat
import struct
import zipfile
from pathlib import Path

import pytest
from builders import (
    ArchiveSpec,
    require_mxnet,
    understate_size,
    unix_member,
    write_members,
    write_zip,
)
from click.testing import CliRunner

from mar_lint.cli import main
from mar_lint.config import Settings
from mar_lint.explore.drawing import draw_graph
from mar_lint.model import ModelView
from mar_lint.sandbox import Sandbox

# Hostile test archives hold duplicate names on purpose.
pytestmark = pytest.mark.filterwarnings("ignore:Duplicate name:UserWarning")


def explore(*args: object, env: dict[str, str] | None = None):
    result = CliRunner().invoke(main, ["explore", *map(str, args)], env=env, catch_exceptions=False)
    assert "Traceback" not in result.output
    return result


def explore_json(*args: object) -> tuple[int, dict]:
    result = explore("--format", "json", *args)
    return result.exit_code, json.loads(result.stdout)


def files_under(folder: Path) -> set[str]:
    return {
        Path(top, name).relative_to(folder).as_posix()
        for top, dirs, names in os.walk(folder)
        for name in names + [d for d in dirs if os.path.islink(Path(top, d))]
    }


def gluon_prefix(model) -> str:
    """`hybridsequentialN`: gluon numbers networks in the order a process creates them."""
    return model.output_name.split("_")[0]


# -- the overview ------------------------------------------------------------------------------


def test_overview_of_a_clean_archive(tmp_path, cnn_model):
    path = ArchiveSpec(cnn_model).write(tmp_path / "digits.model", zipfile.ZIP_DEFLATED)
    result = explore(path)
    assert result.exit_code == 0
    out = result.stdout
    assert "\x1b[" not in out  # not a terminal: plain text
    for expected in (
        "digits-symbol.json",
        "deflated",
        "MMS 0.4.0",
        '"Model-Server": 0.4',
        "[0, 1, 28, 28]",
        "image/jpeg",
        "Convolution",
        "saved by MXNet 1.9.1",
        "(1, 1, 28, 28)",
        "(1, 10)",
        "2,346 parameters",
        "float32",
        "class DigitsService(MXNetVisionService)",
        "def _preprocess",
        "10 labels: class_0, class_1",
        "0 errors",
    ):
        assert expected in out, expected


def test_json_document_has_the_documented_keys(tmp_path, cnn_model):
    status, doc = explore_json(ArchiveSpec(cnn_model).write(tmp_path / "digits.model"))
    assert status == 0
    assert set(doc) == {
        "tool",
        "path",
        "kind",
        "unreadable",
        "root",
        "totals",
        "members",
        "manifest",
        "signature",
        "graph",
        "params",
        "service",
        "labels",
        "check",
    }
    assert doc["kind"] == "zip" and doc["unreadable"] is None
    assert {m["integrity"] for m in doc["members"]} == {"ok"}
    assert doc["manifest"]["mms_release"] == "0.4.0"
    assert doc["signature"]["inputs"] == [{"data_name": "data", "data_shape": [0, 1, 28, 28]}]
    graph = doc["graph"]
    assert graph["inputs"] == [{"name": "data", "shape": [1, 1, 28, 28]}]
    assert graph["outputs"][0]["shape"] == [1, 10]
    assert graph["operators"]["Convolution"] == 2 and graph["saved_with"] == "1.9.1"
    params = doc["params"]
    assert params["tensors"] == 6 and params["elements"] == 2346
    assert params["bytes_by_dtype"] == {"float32": 2346 * 4}
    assert doc["service"]["classes"][0]["bases"] == ["MXNetVisionService"]
    assert doc["labels"]["count"] == 10 and doc["labels"]["first"][0] == "class_0"
    check = doc["check"]
    assert check["mms_release"] == "0.4.0"
    assert check["summary"]["errors"] == sum(f["severity"] == "error" for f in check["findings"])


def test_model_folder(tmp_path, mlp_model):
    folder = ArchiveSpec(mlp_model).write_folder(tmp_path / "tabular")
    status, doc = explore_json(folder)
    assert status == 0 and doc["kind"] == "folder"
    assert doc["graph"]["inputs"] == [{"name": "data", "shape": [1, 12]}]
    assert doc["labels"]["error"] == "missing"  # a tabular model has no synset.txt
    assert "BatchNorm" in doc["graph"]["operators"]


def _broken_symbol(spec: ArchiveSpec) -> None:
    spec.drop.add(f"{spec.model.name}-symbol.json")
    graph = json.loads(spec.model.symbol)
    graph["heads"] = [[len(graph["nodes"]) + 5, 0, 0]]
    spec.extra.append((f"{spec.model.name}-symbol.json", json.dumps(graph)))


def _replace(name: str, data: bytes | str):
    def change(spec: ArchiveSpec) -> None:
        spec.drop.add(name)
        spec.extra.append((name, data))

    return change


BROKEN = {
    "no manifest": (lambda spec: spec.drop.add("MANIFEST.json"), "MAR101"),
    "manifest not JSON": (_replace("MANIFEST.json", "{'Model': 1}"), "MAR101"),
    "no signature": (lambda spec: spec.drop.add("signature.json"), "MAR103"),
    "signature not an object": (_replace("signature.json", "[]"), "MAR201"),
    "symbol not JSON": (_replace("digits-symbol.json", "not json"), "MAR301"),
    "symbol head out of range": (_broken_symbol, "MAR301"),
    "params not MXNet": (_replace("digits-0000.params", b"<html>login</html>"), None),
    "service syntax error": (_replace("service.py", "class (:\n"), None),
    "labels not UTF-8": (_replace("synset.txt", b"\xff\xfe\x00cat"), None),
    "unsafe and duplicate names": (
        lambda spec: spec.extra.extend([("../up.txt", "x"), ("synset.txt", "a\nb\n")]),
        "MAR003",
    ),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_archives_show_what_they_can(tmp_path, cnn_model, name):
    change, code = BROKEN[name]
    spec = ArchiveSpec(cnn_model)
    change(spec)
    path = spec.write(tmp_path / "broken.model")
    status, doc = explore_json(path)
    assert status == 0
    codes = {f["code"] for f in doc["check"]["findings"]}
    if code:
        assert code in codes
    assert doc["members"]  # the member list is always there
    text = explore(path)
    assert text.exit_code == 0 and "Check" in text.stdout


def test_broken_sections_say_what_is_wrong(tmp_path, cnn_model):
    spec = ArchiveSpec(cnn_model)
    for change in (
        _replace("service.py", "class (:\n"),
        _replace("digits-0000.params", cnn_model.params[:100]),
    ):
        change(spec)
    _, doc = explore_json(spec.write(tmp_path / "broken.model"))
    assert doc["service"]["error"].startswith("not valid Python 3: invalid syntax")  # as MAR401
    assert "truncated" in doc["params"]["error"]


def test_corrupt_member_shows_in_the_member_list(tmp_path, cnn_model):
    path = ArchiveSpec(cnn_model).write(tmp_path / "m.model")
    data = bytearray(path.read_bytes())
    data[data.index(b"class_3")] ^= 0xFF  # a flipped byte in the stored labels
    path.write_bytes(bytes(data))
    status, doc = explore_json(path)
    assert status == 0
    [labels] = [m for m in doc["members"] if m["name"] == "synset.txt"]
    assert "CRC" in labels["integrity"]
    assert "MAR002" in {f["code"] for f in doc["check"]["findings"]}


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"", "empty"),
        (b"version https://git-lfs.github.com/spec/v1\noid sha256:abc\n", "Git LFS"),
        (b"PK\x03\x04" + bytes(100), "truncated"),
    ],
)
def test_unreadable_file_exits_1_with_mar001(tmp_path, content, fragment):
    path = tmp_path / "x.model"
    path.write_bytes(content)
    status, doc = explore_json(path)
    assert status == 1
    [finding] = [f for f in doc["check"]["findings"] if f["code"] == "MAR001"]
    assert fragment in finding["message"] and fragment in doc["unreadable"]
    assert doc["members"] == [] and doc["manifest"] is None
    text = explore(path)
    assert text.exit_code == 1 and "MAR001" in text.stdout


def test_hostile_names_reach_the_terminal_escaped(tmp_path, cnn_model):
    spec = ArchiveSpec(cnn_model, extra=[("evil\x1b[2J\u202ename.txt", "x")])
    result = explore(spec.write(tmp_path / "m.model"))
    assert "\x1b" not in result.stdout and "\u202e" not in result.stdout
    assert "evil\\x1b[2J\\u202ename.txt" in result.stdout


# -- --member ----------------------------------------------------------------------------------


@pytest.fixture
def digits_archive(tmp_path, cnn_model) -> Path:
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 2
    spec = ArchiveSpec(cnn_model, extra=[("logo.png", png)])
    return spec.write(tmp_path / "digits.model", zipfile.ZIP_DEFLATED)


def test_member_json_is_pretty_printed(digits_archive):
    result = explore(digits_archive, "--member", "MANIFEST.json")
    assert result.exit_code == 0
    assert '  "Model": {\n    "Parameters": "digits-0000.params",' in result.stdout
    status, doc = explore_json(digits_archive, "--member", "signature.json")
    assert doc["member"]["kind"] == "json" and doc["member"]["value"]["input_type"] == "image/jpeg"


def test_member_broken_json_is_shown_as_text(tmp_path, cnn_model):
    spec = ArchiveSpec(cnn_model, drop={"MANIFEST.json"}, extra=[("MANIFEST.json", "{'Model': 1}")])
    result = explore(spec.write(tmp_path / "m.model"), "--member", "MANIFEST.json")
    assert result.exit_code == 0
    assert "not shown as JSON: not valid JSON" in result.stdout and "{'Model': 1}" in result.stdout


def test_member_python_has_line_numbers(digits_archive):
    result = explore(digits_archive, "--member", "service.py")
    assert "6 class DigitsService(MXNetVisionService):" in result.stdout


def test_member_text_as_is(digits_archive):
    result = explore(digits_archive, "--member", "synset.txt")
    assert "class_0\nclass_1\n" in result.stdout


def test_member_params_as_a_tensor_table(digits_archive, cnn_model):
    result = explore(digits_archive, "--member", "digits-0000.params")
    assert result.exit_code == 0
    line = next(x for x in result.stdout.splitlines() if "dense0_weight" in x)
    assert line.split() == [
        f"arg:{gluon_prefix(cnn_model)}_dense0_weight",
        "(10,",
        "200)",
        "float32",
        "8,000",
    ]
    _, doc = explore_json(digits_archive, "--member", "digits-0000.params")
    assert doc["member"]["kind"] == "params" and doc["member"]["tensors"] == 6


def test_member_binary_as_hex(digits_archive):
    result = explore(digits_archive, "--member", "logo.png")
    lines = result.stdout.splitlines()
    assert (
        lines[1] == "00000000  89 50 4e 47 0d 0a 1a 0a 00 01 02 03 04 05 06 07  |.PNG............|"
    )
    assert len([x for x in lines if x[:8].isalnum() and "|" in x]) == 16  # 256 bytes
    assert "truncated" in result.stdout


def test_member_refused_and_missing(tmp_path, cnn_model):
    spec = ArchiveSpec(cnn_model)
    path = write_members(
        tmp_path / "m.model", [*spec.members(), unix_member("link", stat.S_IFLNK | 0o777, "/")]
    )
    result = explore(path, "--member", "link")
    assert result.exit_code == 1 and "not a regular file" in result.stdout
    missing = explore(path, "--member", "MANIFEST.jsn")
    assert missing.exit_code == 2 and "did you mean 'MANIFEST.json'" in missing.stderr


# -- --extract ---------------------------------------------------------------------------------


def test_extract_clean_archive(tmp_path, cnn_model):
    spec = ArchiveSpec(cnn_model)
    path = spec.write(tmp_path / "m.model", zipfile.ZIP_DEFLATED)
    status, doc = explore_json(path, "--extract", tmp_path / "out")
    assert status == 0 and doc["extract"]["skipped"] == []
    for name, data in spec.members():
        expected = data.encode() if isinstance(data, str) else data
        assert (tmp_path / "out" / name).read_bytes() == expected
    assert stat.S_IMODE((tmp_path / "out" / "MANIFEST.json").stat().st_mode) & 0o044


def test_extract_hostile_archive_writes_nothing_outside(tmp_path, cnn_model):
    work = tmp_path / "work"
    target = work / "out"
    outside = work / "outside"
    outside.mkdir(parents=True)
    target.mkdir()
    (target / "sneaky").symlink_to(outside)  # a link planted in the target beforehand
    absolute = tmp_path / "absolute.txt"
    path = write_members(
        tmp_path / "hostile.model",
        [
            ("MANIFEST.json", "{}"),
            ("../escape.txt", "up"),
            ("a/../../escape2.txt", "up"),
            (str(absolute), "abs"),
            ("..\\escape3.txt", "win"),
            ("C:/escape4.txt", "drive"),
            unix_member("link", stat.S_IFLNK | 0o777, str(outside)),
            unix_member("fifo", stat.S_IFIFO | 0o644, ""),
            ("sneaky/through-link.txt", "via link"),
            ("dup.txt", "first"),
            ("dup.txt", "second"),
        ],
    )
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("bomb.bin", bytes(64 << 20))  # honest sizes: refused by ratio
        archive.writestr("liar.bin", bytes(8 << 20))  # will declare 1,000 bytes
    understate_size(path, "liar.bin", 1_000)
    before = files_under(tmp_path)

    status, doc = explore_json(path, "--extract", target)

    assert status == 1
    assert sorted(doc["extract"]["written"]) == ["MANIFEST.json", "dup.txt"]
    assert (target / "dup.txt").read_text() == "second"  # the last copy, as unzip leaves it
    assert files_under(tmp_path) - before == {"work/out/MANIFEST.json", "work/out/dup.txt"}
    assert files_under(outside) == set() and not absolute.exists()
    reasons = {s["name"]: s["reason"] for s in doc["extract"]["skipped"]}
    assert (
        "climbs out" in reasons["../escape.txt"] and "climbs out" in reasons["a/../../escape2.txt"]
    )
    assert "absolute" in reasons[str(absolute)]
    assert "backslash" in reasons["..\\escape3.txt"] and "drive" in reasons["C:/escape4.txt"]
    assert "symbolic link" in reasons["link"] and "not a regular file" in reasons["fifo"]
    assert "link" in reasons["sneaky/through-link.txt"]
    assert "ratio" in reasons["bomb.bin"]
    assert "1,000" in reasons["liar.bin"] or "CRC" in reasons["liar.bin"]
    assert "later member" in reasons["dup.txt"]
    assert not any(n.startswith(".mar-lint-") for n in files_under(target))  # no temp leftovers


def test_extract_never_overwrites_without_force(tmp_path, mlp_model):
    path = ArchiveSpec(mlp_model).write(tmp_path / "m.model")
    target = tmp_path / "out"
    assert explore(path, "--extract", target).exit_code == 0
    (target / "service.py").write_text("# edited by the user\n")
    again = explore(path, "--extract", target)
    assert again.exit_code == 1 and "exists already (use --force" in again.stdout
    assert (target / "service.py").read_text() == "# edited by the user\n"
    forced = explore(path, "--extract", target, "--force")
    assert forced.exit_code == 0
    assert "MXNetBaseService" in (target / "service.py").read_text()


def test_force_and_flatten_need_extract(tmp_path, mlp_model):
    path = ArchiveSpec(mlp_model).write(tmp_path / "m.model")
    result = explore(path, "--force")
    assert result.exit_code == 2 and "--extract" in result.stderr


def test_flatten_is_what_mms_does(tmp_path, mlp_model):
    spec = ArchiveSpec(mlp_model)
    members = [(f"model/{name}", data) for name, data in spec.members()]
    members += [("model/assets/", ""), ("a/notes.txt", "first"), ("b/notes.txt", "second")]
    path = write_zip(tmp_path / "m.model", members)
    status, doc = explore_json(path, "--extract", tmp_path / "flat", "--flatten")
    assert files_under(tmp_path / "flat") == {name for name, _ in spec.members()} | {"notes.txt"}
    assert (tmp_path / "flat" / "notes.txt").read_text() == "second"  # the last one wins
    reasons = {s["name"]: s["reason"] for s in doc["extract"]["skipped"]}
    assert "MMS does" in reasons["a/notes.txt"] and "folder" in reasons["model/assets/"]


# -- --graph -----------------------------------------------------------------------------------


def test_graph_dot_has_layers_and_shapes(tmp_path, cnn_model):
    path = ArchiveSpec(cnn_model).write(tmp_path / "m.model")
    result = explore(path, "--graph", tmp_path / "net.dot")
    assert result.exit_code == 0 and "wrote" in result.stdout
    dot = (tmp_path / "net.dot").read_text()
    prefix = gluon_prefix(cnn_model)
    assert dot.startswith('digraph "digits-symbol.json" {')
    assert '[label="data\\n(1, 1, 28, 28)", shape=oval' in dot
    assert (
        f'[label="{prefix}_conv0_fwd\\nConvolution\\nweight (4, 1, 3, 3)\\nbias (4,)'
        '\\nout (1, 4, 26, 26)"]' in dot
    )
    assert f"{prefix}_dense0_fwd\\nFullyConnected" in dot and "out (1, 10)" in dot
    assert '[label="(1, 200)"]' in dot  # flatten -> dense edge
    assert "_conv0_weight" not in dot  # weights are folded into their layer


def test_graph_of_mlp_shows_batchnorm(tmp_path, mlp_model):
    path = ArchiveSpec(mlp_model).write(tmp_path / "m.model")
    status, doc = explore_json(path, "--graph", tmp_path / "net.gv")
    assert status == 0 and doc["graph_file"]["shapes"] == "inferred"
    dot = (tmp_path / "net.gv").read_text()
    assert "BatchNorm\\ngamma (32,)\\nbeta (32,)\\nrunning_mean (32,)" in dot


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` is not installed")
def test_graph_svg_with_graphviz(tmp_path, cnn_model):
    path = ArchiveSpec(cnn_model).write(tmp_path / "m.model")
    assert explore(path, "--graph", tmp_path / "net.svg").exit_code == 0
    svg = (tmp_path / "net.svg").read_text()
    assert "<svg" in svg and f"{gluon_prefix(cnn_model)}_conv0_fwd" in svg


def test_both_engines_draw_the_same_network(tmp_path, mlp_model):
    """The native engine (the default) and MXNet in the sandbox (`--engine mxnet`) give
    every layer the same shapes."""
    require_mxnet()
    path = ArchiveSpec(mlp_model).write(tmp_path / "m.model")
    for engine in ("native", "mxnet"):
        status, doc = explore_json(path, "--engine", engine, "--graph", tmp_path / f"{engine}.dot")
        assert status == 0 and doc["graph_file"]["shapes"] == "inferred"
    native = (tmp_path / "native.dot").read_text()
    assert native == (tmp_path / "mxnet.dot").read_text()
    assert "out (1, 32)" in native and "?" not in native


@pytest.mark.parametrize(("engine", "starts_mxnet"), [("native", False), ("mxnet", True)])
def test_graph_shapes_ask_mxnet_only_when_the_settings_do(
    tmp_path, mlp_model, engine, starts_mxnet
):
    """The shapes drawn are the view's `node_shapes`: MXNet answers them in the sandbox
    with `--engine mxnet`, and drawing with the native engine never starts it."""
    if starts_mxnet:
        require_mxnet()
    path = ArchiveSpec(mlp_model).write(tmp_path / "m.model")
    sandbox = Sandbox()
    try:
        with ModelView(path, Settings(engine=engine), sandbox) as view:
            shapes = view.node_shapes
            assert (sandbox._child is not None) == starts_mxnet
            drawn = draw_graph(view)
    finally:
        sandbox.close()
    assert shapes is not None and shapes.problem is None
    assert not isinstance(drawn, str) and drawn.shape_problem is None


def test_graph_with_an_operator_only_mxnet_models(tmp_path, mlp_model):
    """The native engine has no shape function for `smooth_l1`: MXNet infers the shapes."""
    require_mxnet()
    graph = json.loads(mlp_model.symbol)
    node = next(n for n in graph["nodes"] if n["op"] == "Activation")
    node["op"], node["attrs"] = "smooth_l1", {"scalar": "1.0"}
    symbol = f"{mlp_model.name}-symbol.json"
    spec = ArchiveSpec(mlp_model, drop={symbol}, extra=[(symbol, json.dumps(graph))])
    path = spec.write(tmp_path / "m.model")
    status, doc = explore_json(path, "--graph", tmp_path / "net.dot")
    assert status == 0 and doc["graph_file"]["shapes"] == "inferred"
    dot = (tmp_path / "net.dot").read_text()
    assert f"{node['name']}\\nsmooth_l1\\nout (1, 32)" in dot


def test_graph_svg_without_graphviz_writes_dot_and_says_so(tmp_path, cnn_model):
    path = ArchiveSpec(cnn_model).write(tmp_path / "m.model")
    empty = tmp_path / "bin"
    empty.mkdir()
    result = explore(path, "--graph", tmp_path / "net.svg", env={"PATH": str(empty)})
    assert result.exit_code == 2
    assert (
        "`dot` program is not on PATH" in result.stderr
        and "apt-get install graphviz" in result.stderr
    )
    assert (tmp_path / "net.dot").is_file() and not (tmp_path / "net.svg").exists()


def test_graph_without_a_graph(tmp_path, cnn_model):
    path = ArchiveSpec(cnn_model, drop={"digits-symbol.json"}).write(tmp_path / "m.model")
    result = explore(path, "--graph", tmp_path / "net.dot")
    assert result.exit_code == 1 and "no graph to draw" in result.stdout
    assert not (tmp_path / "net.dot").exists()


def test_graph_file_type_is_checked(tmp_path, cnn_model):
    path = ArchiveSpec(cnn_model).write(tmp_path / "m.model")
    result = explore(path, "--graph", tmp_path / "net.jpg")
    assert result.exit_code == 2 and ".svg" in result.stderr


# -- the service and labels sections read what the rules read ----------------------------------


def _encrypted_last_member(path: Path) -> Path:
    """Set the 'encrypted' flag in the central header of the archive's last member."""
    data = bytearray(path.read_bytes())
    struct.pack_into("<H", data, data.rindex(b"PK\x01\x02") + 8, 0x1)
    path.write_bytes(bytes(data))
    return path


def test_service_the_manifest_names_but_the_archive_lacks(tmp_path, cnn_model):
    spec = ArchiveSpec(cnn_model, drop={"service.py"})
    spec.manifest["Model"]["Service"] = "handler.py"
    path = spec.write(tmp_path / "m.model")
    result = explore(path)
    assert result.exit_code == 0 and "service: missing" in result.stdout
    assert "MAR103" in result.stdout
    status, doc = explore_json(path)
    assert status == 0 and doc["service"]["error"] == "missing"
    assert doc["service"]["member"] is None and doc["service"]["chosen"] is None


def test_encrypted_service_member(tmp_path, cnn_model):
    spec = ArchiveSpec(cnn_model, drop={"service.py"})
    spec.extra.append(("service.py", cnn_model.service))
    path = _encrypted_last_member(spec.write(tmp_path / "m.model"))
    result = explore(path)
    assert result.exit_code == 0 and "service.py is encrypted" in result.stdout
    status, doc = explore_json(path)
    assert status == 0 and doc["service"]["member"] == "service.py"
    assert "encrypted" in doc["service"]["error"]
    assert "MAR004" in {f["code"] for f in doc["check"]["findings"]}


def test_service_section_shows_what_the_chosen_class_runs(tmp_path, cnn_model):
    status, doc = explore_json(ArchiveSpec(cnn_model).write(tmp_path / "m.model"))
    service = doc["service"]
    assert (service["mms_release"], service["chosen"]) == ("0.4.0", "DigitsService")
    assert service["runs"] == {
        "_preprocess": None,  # its own
        "_inference": "MXNetBaseService",
        "_postprocess": "MXNetVisionService",
    }
    out = explore(tmp_path / "m.model").stdout
    assert "MMS 0.4.0 instantiates DigitsService: its own _preprocess," in out


def test_labels_panel_and_check_agree_on_a_trailing_blank_line(tmp_path, cnn_model):
    spec = ArchiveSpec(cnn_model, drop={"synset.txt"})
    spec.extra.append(("synset.txt", "".join(f"digit {i}\n" for i in range(10)) + "\n"))
    path = spec.write(tmp_path / "m.model")
    status, doc = explore_json(path)
    assert doc["labels"]["count"] == 11 and doc["labels"]["blank"] == 1
    [count] = [f for f in doc["check"]["findings"] if f["message"].startswith("11 labels")]
    assert count["message"].startswith("11 labels for 10 classes")
    out = explore(path).stdout
    assert "11 labels: digit 0" in out and "11 labels for 10 classes" in out
    assert "10 labels" not in out
