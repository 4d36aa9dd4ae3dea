"""How fast is the native shape engine on a big graph (gluon zoo resnet152_v2)?

The graph is the committed export `tests/fixtures/shapes/zoo/resnet152_v2-symbol.json.gz`
(`HybridBlock.export` of `get_model("resnet152_v2")`, 1,000+ nodes). Measures, over
`--repeat` runs, reading the JSON and inferring every argument, auxiliary and output shape
and dtype from `data=(1, 3, 224, 224)`: median and best wall time, and CPU time (steadier on
a shared machine), beside the machine's load.

Target: <= 50 ms per inference.

Usage: python benchmarks/shapes.py [--repeat 50]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import time
from pathlib import Path

GRAPH = (
    Path(__file__).resolve().parent.parent / "tests/fixtures/shapes/zoo/resnet152_v2-symbol.json.gz"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=50)
    options = parser.parse_args()
    from mar_lint.shapes.infer import infer

    text = gzip.decompress(GRAPH.read_bytes()).decode()
    nodes = len(json.loads(text)["nodes"])
    infer(json.loads(text), {"data": (1, 3, 224, 224)})  # warm the parse caches once
    walls, cpus, parses = [], [], []
    for _ in range(options.repeat):
        start, cpu = time.perf_counter(), time.process_time()
        doc = json.loads(text)
        parsed = time.perf_counter()
        result = infer(doc, {"data": (1, 3, 224, 224)}, {"data": "float32"})
        walls.append(time.perf_counter() - parsed)
        cpus.append(time.process_time() - cpu)
        parses.append(parsed - start)
        assert result.output_shapes == ((1, 1000),) and not result.infer_error
    ms = 1000
    print(
        f"resnet152_v2: {nodes} nodes, {len(result.arguments)} arguments, "
        f"{len(result.auxiliary_states)} auxiliary states; load average {os.getloadavg()}"
    )
    print(
        f"inference wall: median {statistics.median(walls) * ms:.1f} ms, "
        f"best {min(walls) * ms:.1f} ms"
    )
    print(
        f"json.loads + inference CPU: median {statistics.median(cpus) * ms:.1f} ms, "
        f"best {min(cpus) * ms:.1f} ms (json.loads alone: median "
        f"{statistics.median(parses) * ms:.1f} ms)"
    )
    verdict = "ok" if statistics.median(walls) <= 0.050 else "MISSED"
    print(f"target <= 50 ms per inference (median wall): {verdict}")


if __name__ == "__main__":
    main()
