"""Record what MXNet 1.9.1 says about the fixture graphs, for the suite without MXNet.

Run on Python 3.11 with mxnet (`.venv/bin/python tests/record_shapes.py`). It exports a few
gluon vision zoo networks into `tests/fixtures/shapes/zoo/` (graphs only, gzipped), asks MXNet
(in a child process) for the arguments, auxiliary states, outputs, shapes and dtypes of every
fixture graph and of a sample of the operator grid, and what `mar-lint check --engine mxnet`
reports on the committed archives; all of it goes to `tests/fixtures/shapes/expected.json`.
`tests/test_shapes.py` replays it against the native engine on any Python.
"""

from __future__ import annotations

import copy
import gzip
import json
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
FIXTURES = HERE / "fixtures"
SHAPES = FIXTURES / "shapes"
EXPECTED = SHAPES / "expected.json"
# Zoo networks whose graphs are committed (gzipped), with the input they were exported with.
COMMITTED_ZOO = {
    "alexnet": [1, 3, 224, 224],
    "densenet121": [1, 3, 224, 224],
    "inceptionv3": [1, 3, 299, 299],
    "mobilenetv2_0.25": [1, 3, 224, 224],
    "resnet18_v1": [1, 3, 224, 224],
    "resnet152_v2": [1, 3, 224, 224],
    "squeezenet1.1": [1, 3, 224, 224],
    "vgg11_bn": [1, 3, 224, 224],
}
GRID_SAMPLE = 12  # grid cases per maker kept for the suite without MXNet
F32 = {"data": "float32"}


def zoo_file(name: str) -> Path:
    return SHAPES / "zoo" / f"{name.replace('.', '_')}-symbol.json.gz"


def signature_shapes(archive: Path) -> tuple[str, dict[str, list[int]]]:
    """The archive's graph and its signature's inputs, bound as MMS binds them."""
    with zipfile.ZipFile(archive) as z:
        symbol = next(n for n in z.namelist() if n.endswith("-symbol.json"))
        text = z.read(symbol).decode()
        signature = json.loads(z.read("signature.json"))
    shapes = {
        i["data_name"]: [max(int(d), 1) for d in i["data_shape"]] for i in signature["inputs"]
    }
    return text, shapes


def older_era(symbol: str, era: str) -> str:
    """The same graph as an older MXNet saved it: 0.9-0.12 `attr`, or pre-0.9 `param`/`attr`
    without the auxiliary-state variables (MXNet adds them back on load)."""
    graph = json.loads(symbol)
    if era == "attr":
        for node in graph["nodes"]:
            if "attrs" in node:
                node["attr"] = node.pop("attrs")
        graph["attrs"] = {"mxnet_version": ["int", 1201]}
        return json.dumps(graph)
    old = copy.deepcopy(graph)
    aux = {
        entry[0]
        for node in old["nodes"]
        if node["op"] == "BatchNorm"
        for entry in node["inputs"][3:]
    }
    keep = [i for i in range(len(old["nodes"])) if i not in aux]
    renumber = {old_id: new_id for new_id, old_id in enumerate(keep)}
    nodes = []
    for old_id in keep:
        node = old["nodes"][old_id]
        attrs = node.pop("attrs", {})
        if node["op"] == "null":
            if attrs:
                node["attr"] = attrs
        else:
            node["param"] = {k: v for k, v in attrs.items() if not k.startswith("__")}
            node["inputs"] = [[renumber[e[0]], e[1]] for e in node["inputs"] if e[0] in renumber]
        node["backward_source_id"] = -1
        nodes.append(node)
    heads = [[renumber[h[0]], h[1]] for h in old["heads"]]
    return json.dumps(
        {
            "nodes": nodes,
            "arg_nodes": [i for i, n in enumerate(nodes) if n["op"] == "null"],
            "heads": heads,
        }
    )


def fixture_graphs() -> Iterator[tuple[str, str, dict[str, list[int]]]]:
    """(label, graph JSON, input shapes) for every graph the fixtures hold."""
    for archive in sorted(FIXTURES.glob("*.model")):
        text, shapes = signature_shapes(archive)
        yield archive.name, text, shapes
    for meta_file in sorted((FIXTURES / "exports").glob("*.json")):
        if meta_file.name.endswith("-symbol.json"):
            continue
        name = meta_file.stem
        meta = json.loads(meta_file.read_text())
        text = (FIXTURES / "exports" / f"{name}-symbol.json").read_text()
        shapes = {meta["input_name"]: meta["input_shape"]}
        yield f"exports/{name}", text, shapes
        for era in ("attr", "param"):
            yield f"exports/{name} ({era} era)", older_era(text, era), shapes
    for name, shape in sorted(COMMITTED_ZOO.items()):
        if zoo_file(name).exists():
            yield (
                f"zoo/{name}",
                gzip.decompress(zoo_file(name).read_bytes()).decode(),
                {"data": shape},
            )
    # Published graphs another part of the suite keeps (if present): inputs unknown, so
    # partial inference from the graph's own `__shape__` attributes.
    for path in (
        sorted((FIXTURES / "graphs").glob("*-symbol.json"))
        if (FIXTURES / "graphs").is_dir()
        else ()
    ):
        yield f"graphs/{path.name}", path.read_text(), {}


def check_findings(archives: list[Path], engine: str) -> dict[str, list[dict[str, Any]]]:
    """`mar-lint check --format json --engine ENGINE` on the archives (one run): the findings
    of each, by file name."""
    run = subprocess.run(
        [sys.executable, "-m", "mar_lint", "check", "--format", "json", "--engine", engine]
        + [str(a) for a in archives],
        capture_output=True,
        text=True,
        check=False,
    )
    return {
        Path(report["path"]).name: [
            {k: f[k] for k in ("code", "severity", "message")} for f in report["findings"]
        ]
        for report in json.loads(run.stdout)["archives"]
    }


def main() -> None:
    sys.path.insert(0, str(HERE))
    from mxnet_child import MXNetOracle
    from shape_grid import cases

    oracle = MXNetOracle()
    (SHAPES / "zoo").mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as workdir:
        for name, shape in COMMITTED_ZOO.items():
            symbol = oracle.export_zoo(name, shape, workdir)
            compact = json.dumps(json.loads(symbol), separators=(",", ":"))
            zoo_file(name).write_bytes(gzip.compress(compact.encode(), mtime=0))
            for leftover in Path(workdir).iterdir():
                leftover.unlink()
    graphs = {
        label: {"shapes": shapes, "answer": oracle.ask(text, shapes, F32)}
        for label, text, shapes in fixture_graphs()
    }
    grid = [
        {
            "symbol": case.symbol,
            "shapes": case.shapes,
            "dtypes": case.dtypes,
            "answer": oracle.ask(case.symbol, case.shapes, case.dtypes),
        }
        for case in cases(per_maker=GRID_SAMPLE)
    ]
    oracle.close()
    findings = check_findings(sorted(FIXTURES.glob("*.model")), "mxnet")
    document = {"mxnet": "1.9.1", "graphs": graphs, "grid": grid, "check": findings}
    EXPECTED.write_text(json.dumps(document, separators=(",", ":"), sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
