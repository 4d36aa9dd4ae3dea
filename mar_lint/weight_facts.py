"""What the weights rules (MAR303-305) know about the params file: why MXNet's checkpoint
loader cannot read it as MMS loads it, and how its `arg:`/`aux:` entries fit the weights and
auxiliary states the graph needs with the signature's input shapes (`ModelView.weight_fit`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from mar_lint.params import MXNET_UNLOADABLE_DTYPES, ParamsIndex, Tensor, dtype_name
from mar_lint.text import listed, plural

if TYPE_CHECKING:
    from mar_lint.model import GraphAnalysis

PREFIXES = ("arg", "aux")  # what `load_checkpoint` splits off: weights and auxiliary states
FLOAT_DTYPES = ("float16", "bfloat16", "float32", "float64")
# MMS 0.1.5 and 0.2.0 call `set_params(..., allow_missing=True)` without `allow_extra`: an entry
# the graph does not have stops the model (§1.8). 0.3.0 and later pass allow_extra=True.
RELEASES_REFUSING_EXTRAS = ("0.1.5", "0.2.0")
# `mxnet-model-export` (0.2+) refuses params without an epoch; `load_checkpoint` pads it to 4.
PARAMS_NAME = re.compile(r"^(?P<prefix>[\w\-.]+)-(?P<epoch>\d+)\.params$")
SYMBOL_SUFFIX = "-symbol.json"


@dataclass(frozen=True)
class Misshaped:
    """A saved entry whose shape is not the one the graph infers for it."""

    entry: str  # "arg:fc1_weight"
    saved: tuple[int, ...]
    needed: tuple[int, ...]


class Cast(NamedTuple):
    """Entries saved in another dtype than the graph declares: MXNet casts them on load."""

    dtype: str  # as saved
    wanted: str  # as the graph declares
    entries: list[str]
    lossless: bool  # float to float: the model serves the saved precision, not other values


@dataclass(frozen=True)
class WeightFit:
    """The params file's entries against the graph's weights and auxiliary states."""

    member: str  # the params file
    expected: dict[str, tuple[str, ...]]  # "arg": the graph's weights, "aux": its states
    saved: dict[str, dict[str, Tensor]]  # "arg"/"aux" -> bare name -> entry (shaped records)
    inferred: dict[str, dict[str, tuple[int, ...] | None]]  # "arg"/"aux" -> name -> shape
    declared_dtypes: dict[str, str]  # graph variable -> the dtype its `__dtype__` declares

    @property
    def unrelated(self) -> bool:
        """The graph has weights, and the file none of the entries the graph needs: the
        weights of another model."""
        needed = set(self.expected["arg"]) | set(self.expected["aux"])
        saved = set(self.saved["arg"]) | set(self.saved["aux"])
        return bool(self.expected["arg"]) and not needed & saved

    @property
    def saved_entries(self) -> list[str]:
        return [f"{prefix}:{name}" for prefix in PREFIXES for name in self.saved[prefix]]

    @property
    def missing_weights(self) -> list[str]:
        return [w for w in self.expected["arg"] if w not in self.saved["arg"]]

    @property
    def misfiled_states(self) -> list[str]:
        """Auxiliary states saved under `arg:`, as ONNX conversions do."""
        return [
            a for a in self.expected["aux"] if a not in self.saved["aux"] and a in self.saved["arg"]
        ]

    @property
    def missing_states(self) -> list[str]:
        saved = self.saved
        return [a for a in self.expected["aux"] if a not in saved["aux"] and a not in saved["arg"]]

    @property
    def extra(self) -> list[str]:
        """Saved entries the graph does not have (a misfiled state is not extra)."""
        return [
            f"{prefix}:{name}"
            for prefix in PREFIXES
            for name in self.saved[prefix]
            if name not in self.expected[prefix]
            and not (prefix == "arg" and name in self.expected["aux"])
        ]

    def _pairs(self) -> list[tuple[str, str, Tensor]]:
        """(prefix, name, saved entry) for each entry the graph expects and the file saves."""
        return [
            (prefix, name, self.saved[prefix][name])
            for prefix in PREFIXES
            for name in self.expected[prefix]
            if name in self.saved[prefix]
        ]

    @property
    def misshaped(self) -> list[Misshaped]:
        found = []
        for prefix, name, tensor in self._pairs():
            needed = self.inferred[prefix].get(name)
            # A shape MXNet could not infer comes back empty or with 0 dimensions.
            if not needed or not all(dim > 0 for dim in needed):
                continue
            if tensor.shape is not None and tensor.shape != needed:
                found.append(Misshaped(f"{prefix}:{name}", tensor.shape, needed))
        return found

    @property
    def casts(self) -> list[Cast]:
        """The entries MXNet casts on load, by saved and declared dtype."""
        found: dict[tuple[str, str], list[str]] = {}
        for prefix, name, tensor in self._pairs():
            wanted = self.declared_dtypes.get(name)
            if wanted and tensor.dtype != wanted:
                found.setdefault((str(tensor.dtype), wanted), []).append(f"{prefix}:{name}")
        return [
            Cast(dtype, wanted, entries, dtype in FLOAT_DTYPES and wanted in FLOAT_DTYPES)
            for (dtype, wanted), entries in sorted(found.items())
        ]


def params_name(basename: str) -> tuple[str, int] | None:
    """A weights file name's prefix and epoch (`resnet-0012.params`: ("resnet", 12)); None
    when it is not named `<prefix>-<epoch>.params`."""
    match = PARAMS_NAME.match(basename)
    return (match["prefix"], int(match["epoch"])) if match else None


def fit_weights(
    member: str,
    index: ParamsIndex,
    graph: GraphAnalysis,
    weights: tuple[str, ...],
    declared: dict[str, str],
) -> WeightFit | None:
    """The fit of a named params index to a loaded graph whose weights (the arguments that
    are neither data inputs nor labels) are `weights`; None when the file holds nothing in
    the checkpoint form (MAR303 reports it)."""
    saved: dict[str, dict[str, Tensor]] = {prefix: {} for prefix in PREFIXES}
    for tensor in index.tensors:
        prefix, name = tensor.prefix, tensor.bare_name
        if prefix in saved and name is not None and tensor.shape is not None:
            saved[prefix][name] = tensor
    if not saved["arg"] and not saved["aux"]:
        return None
    return WeightFit(
        member,
        expected={"arg": weights, "aux": graph.auxiliary_states},
        saved=saved,
        inferred={"arg": graph.arg_shapes, "aux": graph.aux_shapes},
        declared_dtypes=declared,
    )


def declared_dtypes(symbol: Any) -> dict[str, str]:
    """Graph variable -> the dtype its `__dtype__` attribute declares (Gluon exports set it)."""
    nodes = symbol.get("nodes") if isinstance(symbol, dict) else None
    declared = {}
    for node in nodes if isinstance(nodes, list) else []:
        if not isinstance(node, dict):
            continue
        attrs = node.get("attrs") or node.get("attr") or node.get("param") or {}
        flag = attrs.get("__dtype__") if isinstance(attrs, dict) else None
        if node.get("op") == "null" and isinstance(flag, str) and flag.isdigit():
            name = dtype_name(int(flag))
            if name:
                declared[str(node.get("name"))] = name
    return declared


def load_problems(index: ParamsIndex, symbolic: bool) -> Iterator[str]:
    """Why `mx.model.load_checkpoint` cannot load the file, or loads it wrong; `symbolic`:
    the manifest does not declare a Gluon-Imperative model (which needs no `arg:`/`aux:`)."""
    tensors = index.tensors
    if not tensors:
        yield "holds no arrays: every weight of the graph would stay zero"
        return
    if not index.has_names:
        yield (
            f"its {plural(len(tensors), 'array')} have no names (saved from a list, not a "
            "dict): `load_checkpoint` cannot tell which weight is which"
        )
        return
    bare = [str(t.name) for t in tensors if t.prefix is None]
    if symbolic and bare:
        yield (
            f"{plural(len(bare), 'entry')} without an `arg:`/`aux:` prefix ({listed(bare)}): "
            "weights saved with Gluon's `save_parameters`; MMS's `load_checkpoint` fails with "
            '"ValueError: not enough values to unpack" (export with `HybridBlock.export`)'
        )
    empty = [str(i + 1) for i, t in enumerate(tensors) if t.shape is None]
    if empty:
        yield (
            f"records {listed(empty)} are 'none' arrays: `mx.nd.load` fails with \"unknown "
            'storage type: -1"'
        )
    for dtype in sorted({str(t.dtype) for t in tensors if t.dtype in MXNET_UNLOADABLE_DTYPES}):
        names = [str(t.name) for t in tensors if t.dtype == dtype]
        yield f'{listed(names)}: {dtype}, which MXNet cannot load ("Unknown type enum")'
    numpy_shape = [str(t.name) for t in tensors if t.version == "v3"]
    if numpy_shape:
        yield (
            f"{listed(numpy_shape)}: saved with numpy shape semantics (`npx.set_np()`), which "
            "MXNet before 1.5 cannot read and later releases read only in numpy mode; MMS never "
            'turns it on ("ndarray was saved in np shape semantics")'
        )
    counts = Counter(str(t.name) for t in tensors)
    duplicated = sorted(name for name, count in counts.items() if count > 1)
    if duplicated:
        yield f"entries saved twice: {listed(duplicated)} (MXNet keeps the last copy)"
