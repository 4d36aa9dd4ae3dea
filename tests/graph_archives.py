"""Archives of published MXNet graphs (tests/fixtures/graphs), with weights written here.

Each graph's inputs, service and weight shapes come from graphs.json, which
`record_shapes.py` recorded once with MXNet's own `infer_shape`; the `.params` writer below is
pure Python (V2 records, as mxnet 1.9.1 writes them), so these archives need no mxnet to build.
"""

from __future__ import annotations

import copy
import json
import math
import random
import struct
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from builders import mms_04_manifest, write_zip

FIXTURES = Path(__file__).parent / "fixtures"
GRAPHS = FIXTURES / "graphs"
SERVICES = FIXTURES / "services"
# graphs.json "service" -> the service file an archive of that graph ships
SERVICE_FILES = {
    "vision": "classifier.py",
    "grey": "grey.py",
    "embedding": "embedding.py",
    "detector": "detector.py",
    "tensor": "tensor.py",
}

_LIST_MAGIC = 0x112
_V2_MAGIC = 0xF993FAC9
_FLOAT32, _CPU = 0, 1


def params_bytes(weights: dict[str, list[int]], seed: int = 7) -> bytes:
    """An MXNet NDArray-list file of float32 arrays, the layout `mx.nd.save` writes (see
    mar_lint/params.py). Values are small and deterministic; variances are 1 so BatchNorm
    stays finite."""
    rng = random.Random(seed)
    pattern = struct.pack("<1024f", *(rng.uniform(-0.05, 0.05) for _ in range(1024)))
    parts = [struct.pack("<QQQ", _LIST_MAGIC, 0, len(weights))]
    for name, shape in weights.items():
        size = math.prod(shape)
        parts.append(struct.pack("<Ii", _V2_MAGIC, 0))  # magic, dense storage
        parts.append(struct.pack(f"<i{len(shape)}q", len(shape), *shape))
        parts.append(struct.pack("<iii", _CPU, 0, _FLOAT32))
        if name.endswith(("_var", "moving_var", "running_var")):
            parts.append(struct.pack("<f", 1.0) * size)
        else:
            parts.append((pattern * (size // 1024 + 1))[: 4 * size])
    parts.append(struct.pack("<Q", len(weights)))
    for name in weights:
        encoded = name.encode()
        parts.append(struct.pack("<Q", len(encoded)) + encoded)
    return b"".join(parts)


@cache
def catalogue() -> dict[str, dict[str, Any]]:
    return json.loads((GRAPHS / "graphs.json").read_text())


@cache
def _weights(name: str) -> bytes:
    return params_bytes(catalogue()[name]["weights"])


def graph_names() -> list[str]:
    return sorted(catalogue())


def any_batch(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Signature entries with batch dimension 0, MMS's "any batch size"."""
    return [{"data_name": e["data_name"], "data_shape": [0, *e["data_shape"][1:]]} for e in entries]


@dataclass
class GraphArchive:
    """A legacy `.model` archive of one published graph as `mxnet-model-export` (MMS 0.4) lays
    it out; tests change fields to make realistic mistakes."""

    graph: str
    manifest: dict[str, Any] = field(default_factory=dict)
    signature: dict[str, Any] = field(default_factory=dict)
    service: str = ""
    symbol: bytes = b""
    params: bytes = b""
    labels: str | None = None
    extra: list[tuple[str, bytes | str]] = field(default_factory=list)
    drop: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        facts = catalogue()[self.graph]
        prefix = self.graph
        self.manifest = {**mms_04_manifest(prefix), **self.manifest}
        self.signature = {
            "inputs": any_batch(facts["inputs"]),
            "input_type": facts["input_type"],
            "outputs": any_batch(facts["outputs"]),
            "output_type": "application/json",
            **self.signature,
        }
        self.service = self.service or (SERVICES / SERVICE_FILES[facts["service"]]).read_text()
        self.symbol = self.symbol or (GRAPHS / f"{prefix}-symbol.json").read_bytes()
        self.params = self.params or _weights(self.graph)
        if self.labels is None and facts["labels"]:
            self.labels = "".join(f"class_{i}\n" for i in range(facts["labels"]))

    @property
    def facts(self) -> dict[str, Any]:
        return copy.deepcopy(catalogue()[self.graph])

    def members(self) -> list[tuple[str, bytes | str]]:
        prefix = self.graph
        members: list[tuple[str, bytes | str]] = [
            ("signature.json", json.dumps(self.signature, indent=2)),
            (f"{prefix}-symbol.json", self.symbol),
            (f"{prefix}-0000.params", self.params),
            ("service.py", self.service),
            ("MANIFEST.json", json.dumps(self.manifest, indent=4)),
        ]
        if self.labels is not None:
            members.append(("synset.txt", self.labels))
        return [(n, d) for n, d in members if n not in self.drop] + list(self.extra)

    def write(self, path: Path) -> Path:
        return write_zip(path, self.members())


def relu_chains(n: int) -> dict[str, dict[str, Any]]:
    """The chain data -> relu1 -> ... -> relu(n-1), written forwards and upside down (every
    input then refers to a later node, so a cycle search runs over the whole graph): the
    structural checks' size test, and what `benchmarks/graph_structure.py` times."""
    nodes = [{"op": "null", "name": "data", "inputs": []}]
    nodes += [{"op": "relu", "name": f"relu{i}", "inputs": [[i - 1, 0, 0]]} for i in range(1, n)]
    forwards = {
        "nodes": nodes,
        "arg_nodes": [0],
        "node_row_ptr": list(range(n + 1)),
        "heads": [[n - 1, 0, 0]],
    }
    backwards_nodes = [
        {"op": "relu", "name": f"relu{i}", "inputs": [[i + 1, 0, 0]]} for i in range(n - 1)
    ] + [{"op": "null", "name": "data", "inputs": []}]
    backwards = {"nodes": backwards_nodes, "arg_nodes": [n - 1], "heads": [[0, 0, 0]]}
    return {"forwards": forwards, "backwards": backwards}
