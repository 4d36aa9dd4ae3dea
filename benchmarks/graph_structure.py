"""How fast are the structural graph checks on a 200,000-node chain, forwards and backwards?

The chain is what `tests/test_graph_structure.py::test_large_chain_is_linear_and_limited`
checks for correctness (no issue either way); this times it. Backwards, every input refers
to a later node, so the cycle search runs over the whole graph. Prints, over `--repeat`
runs, the median and best wall time and the CPU time (steadier on a shared machine) of
each direction, and the machine's load.

Target: linear work, well under 20 s for both directions together (a few seconds on a
2-core laptop).

Usage: python benchmarks/graph_structure.py [--repeat 5] [--nodes 200000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

# The chains come from the tests' helpers, so the benchmark times what the test checks.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from graph_archives import relu_chains  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--nodes", type=int, default=200_000)
    options = parser.parse_args()
    from mar_lint.graph_structure import check_graph_structure

    print(f"{options.nodes:,} nodes, {options.repeat} runs; load average {os.getloadavg()}")
    total = 0.0
    for name, document in relu_chains(options.nodes).items():
        walls, cpus = [], []
        for _ in range(options.repeat):
            start, cpu = time.perf_counter(), time.process_time()
            issues = check_graph_structure(document)
            walls.append(time.perf_counter() - start)
            cpus.append(time.process_time() - cpu)
            assert issues == [], issues
        total += statistics.median(walls)
        print(
            f"{name:<10} wall median {statistics.median(walls):.2f} s, best {min(walls):.2f} s;"
            f" cpu median {statistics.median(cpus):.2f} s"
        )
    verdict = "ok" if total < 20 else "MISSED"
    print(f"both directions: {total:.2f} s (median) vs the 20 s bound: {verdict}")


if __name__ == "__main__":
    main()
