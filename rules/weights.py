"""The weights: is the params file MXNet weights, do they fit the graph, and will MMS find them?"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator

from mar_lint.findings import (
    Consequence,
    Fix,
    Problem,
    RenameMember,
    SetJson,
    Severity,
    json_pointer,
)
from mar_lint.model import ModelView, is_label, known_shape, mms_checkpoint_params
from mar_lint.params import MXNET_UNLOADABLE_DTYPES, ParamsError, ParamsIndex, Tensor, dtype_name
from mar_lint.registry import rule
from mar_lint.text import listed, plural

MAX_ENTRY_PROBLEMS = 10  # per-entry findings (shape mismatches) before one summary
FLOAT_DTYPES = ("float16", "bfloat16", "float32", "float64")
# MMS 0.1.5 and 0.2.0 call `set_params(..., allow_missing=True)` without `allow_extra`: an entry
# the graph does not have stops the model (§1.8). 0.3.0 and later pass allow_extra=True.
RELEASES_REFUSING_EXTRAS = ("0.1.5", "0.2.0")
# `mxnet-model-export` (0.2+) refuses params without an epoch; `load_checkpoint` pads it to 4.
PARAMS_NAME = re.compile(r"^(?P<prefix>[\w\-.]+)-(?P<epoch>\d+)\.params$")
SYMBOL_SUFFIX = "-symbol.json"


@rule(
    "MAR303",
    "params-invalid",
    "error",
    "the params file is not MXNet weights that MMS can load (truncated, empty, LFS pointer, ...)",
    consequence=Consequence.REFUSED,
)
def params_invalid(view: ModelView) -> Iterator[Problem]:
    """Why it matters: MMS loads `<prefix>-<epoch>.params` with `mx.model.load_checkpoint`. A file
    that is not an MXNet NDArray list (a Git LFS pointer, an HTML error page, a truncated
    download) fails with "Invalid NDArray file format" at best; MXNet trusts the sizes in the
    header, so a corrupt one can also make it allocate terabytes. The checkpoint loader also
    needs every entry named `arg:<name>` or `aux:<name>`: Gluon's `save_parameters` writes bare
    names (`ValueError: not enough values to unpack`), and a names-less list fails too. Records
    MXNet 1.9.1 cannot read (int16/uint16/uint32/uint64 dtypes) and numpy-shape (V3) records,
    which need MXNet >= 1.5 in numpy mode that MMS never turns on, stop the load as well.
    mar-lint walks the record headers in pure Python, without loading weights.

    Example: the entries of weights saved with `net.save_parameters(...)`, as `mx.nd.load`
    lists them, where the checkpoint loader needs `arg:conv0_weight`, ...:

        ['conv0_weight', 'conv0_bias', 'dense0_weight', 'dense0_bias']

    Fix: `git lfs pull` or fetch the file again; save weights with `HybridBlock.export` or
    `mx.model.save_checkpoint`, without `npx.set_np()`, as float32 (or another loadable dtype).
    """
    member = view.model_file("Parameters")
    if member is None:
        yield from _no_params_member(view)
        return
    index = view.params
    if isinstance(index, ParamsError):
        if not view.read_results.get(member.index):  # a damaged member is MAR002's finding
            yield Problem(
                f"not MXNet weights: {index.message} (at byte {index.offset:,})",
                member=member.name,
            )
        return
    if not isinstance(index, ParamsIndex):
        return
    yield from (Problem(message, member=member.name) for message in _index_problems(view, index))


def _no_params_member(view: ModelView) -> Iterator[Problem]:
    reference = view.references.get("Parameters")
    if reference is not None and isinstance(reference.value, str) and reference.value:
        return  # the manifest names a file that is not there: MAR103
    found = sorted(base for base in view.flattened() if base.endswith(".params"))
    if len(found) > 1:
        yield Problem(
            f"{len(found)} .params files ({listed(found)}) and the manifest names none: MMS "
            "expects exactly one"
        )
    elif not found and view.model_entry.get("Model-Format") != "Gluon-Imperative":
        if view.symbol.member is not None:
            yield Problem("the archive has a graph but no <prefix>-<epoch>.params weights")


def _index_problems(view: ModelView, index: ParamsIndex) -> Iterator[str]:
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
    symbolic = view.model_entry.get("Model-Format") != "Gluon-Imperative"
    bare = [t.name for t in tensors if t.prefix is None]
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
    for dtype in sorted({t.dtype for t in tensors if t.dtype in MXNET_UNLOADABLE_DTYPES}):
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


@rule(
    "MAR304",
    "params-mismatch",
    "error",
    "the weights do not fit the graph: missing, misshaped, of another dtype, extra, or misfiled",
    needs_mxnet=True,
    consequence=Consequence.WRONG_ANSWERS,
)
def params_mismatch(view: ModelView) -> Iterator[Problem]:
    """Why it matters: MMS binds the graph with the signature's input shapes and loads the weights
    with `set_params(arg, aux, allow_missing=True)`: a weight missing from the params file is
    not an error, it silently stays zero and the model serves garbage (an older checkpoint
    without the new layer, the params of another model). An `arg:`/`aux:` entry whose shape
    differs from what the graph infers fails the load; a dtype other than the graph's is cast
    on load (float16 weights in a float32 graph serve with float16 precision). Entries the
    graph does not have are refused by MMS 0.1.5 and 0.2.0 (`allow_extra=False`: "Find name
    ... that is not in the arguments") and ignored by 0.3 and later. ONNX conversions save
    BatchNorm statistics under `arg:`; the loader then leaves the auxiliary states at zero.

    Example: the graph gained a layer after the checkpoint was saved:

        graph arguments:  data, conv0_weight, fc1_weight, fc1_bias
        params entries:   arg:conv0_weight          (no arg:fc1_weight, arg:fc1_bias)

    Fix: export the graph and its weights together (`HybridBlock.export(prefix, epoch)`) from
    the trained network, and package the pair the export wrote.
    """
    index, graph = view.params, view.graph
    if not isinstance(index, ParamsIndex) or not index.has_names or graph is None:
        return
    if not graph.loaded or view.model_entry.get("Model-Format") == "Gluon-Imperative":
        return
    saved: dict[str, dict[str, Tensor]] = {"arg": {}, "aux": {}}
    for tensor in index.tensors:
        if tensor.prefix in saved and tensor.shape is not None:
            saved[tensor.prefix][tensor.bare_name] = tensor  # type: ignore[index]
    if not saved["arg"] and not saved["aux"]:
        return  # nothing in the checkpoint form: MAR303 reports it
    member = view.model_file("Parameters").name  # type: ignore[union-attr]
    inputs = set(view.input_shapes)
    if not inputs or not inputs <= set(graph.arguments):
        return  # the graph's data inputs are unknown: MAR201 or MAR204 reports it
    weights = [a for a in graph.arguments if a not in inputs and not is_label(a)]
    expected = {"arg": weights, "aux": list(graph.auxiliary_states)}
    if weights and not (set(weights) | set(expected["aux"])) & (
        set(saved["arg"]) | set(saved["aux"])
    ):
        others = [f"{p}:{n}" for p in saved for n in saved[p]]
        yield Problem(
            f"none of the graph's {plural(len(weights), 'weight')} is in the params file, "
            f"which holds {len(others)} other entries ({listed(others)}): the weights of "
            "another model?",
            member=member,
        )
        return
    yield from _missing_entries(expected, saved, member)
    yield from _entry_mismatches(view, expected, saved, member)
    yield from _extra_entries(view, expected, saved, member)


def _missing_entries(
    expected: dict[str, list[str]], saved: dict[str, dict[str, Tensor]], member: str
) -> Iterator[Problem]:
    weights = [w for w in expected["arg"] if w not in saved["arg"]]
    if weights:
        yield Problem(
            f"the graph's {plural(len(weights), 'weight')} {listed(weights)} "
            f"{'has' if len(weights) == 1 else 'have'} no `arg:` entry: MMS loads with "
            "allow_missing=True, so they stay zero and the model serves garbage",
            member=member,
        )
    misfiled = [a for a in expected["aux"] if a not in saved["aux"] and a in saved["arg"]]
    if misfiled:
        yield Problem(
            f"auxiliary states saved under `arg:` ({listed(misfiled)}), as ONNX conversions "
            "do: MXNet's loader takes them for weights and MMS drops them, so the states stay "
            "zero; save them as `aux:` entries",
            member=member,
        )
    missing = [a for a in expected["aux"] if a not in saved["aux"] and a not in saved["arg"]]
    if missing:
        yield Problem(
            f"the graph's auxiliary {plural(len(missing), 'state')} {listed(missing)} "
            f"{'has' if len(missing) == 1 else 'have'} no `aux:` entry: they stay zero "
            "(a BatchNorm with a zero moving variance serves garbage)",
            member=member,
        )


def _graph_dtypes(view: ModelView) -> dict[str, str]:
    """Variable name -> the dtype its `__dtype__` attribute declares (Gluon exports set it)."""
    nodes = view.symbol.value.get("nodes") if isinstance(view.symbol.value, dict) else None
    declared = {}
    for node in nodes if isinstance(nodes, list) else []:
        attrs = node.get("attrs") or node.get("attr") or node.get("param") or {}
        flag = attrs.get("__dtype__") if isinstance(attrs, dict) else None
        if node.get("op") == "null" and isinstance(flag, str) and flag.isdigit():
            name = dtype_name(int(flag))
            if name:
                declared[str(node.get("name"))] = name
    return declared


def _entry_mismatches(
    view: ModelView,
    expected: dict[str, list[str]],
    saved: dict[str, dict[str, Tensor]],
    member: str,
) -> Iterator[Problem]:
    graph = view.graph
    inferred = {"arg": graph.arg_shapes, "aux": graph.aux_shapes}  # type: ignore[union-attr]
    declared = _graph_dtypes(view)
    misshaped = []
    casts: dict[tuple[str, str], list[str]] = {}
    for prefix, names in expected.items():
        for name in names:
            tensor = saved[prefix].get(name)
            if tensor is None:
                continue
            shape = inferred[prefix].get(name)
            if known_shape(shape) and tensor.shape != shape:
                misshaped.append((f"{prefix}:{name}", tensor.shape, shape))
            wanted = declared.get(name)
            if wanted and tensor.dtype != wanted:
                casts.setdefault((str(tensor.dtype), wanted), []).append(f"{prefix}:{name}")
    for entry, shape, wanted in misshaped[:MAX_ENTRY_PROBLEMS]:
        yield Problem(
            f"{entry} has shape {list(shape)}; with the signature's inputs the graph needs "  # type: ignore[arg-type]
            f"{list(wanted)}: MMS fails to bind the weights",  # type: ignore[arg-type]
            member=member,
            location=entry,
            consequence=Consequence.REFUSED,
        )
    if len(misshaped) > MAX_ENTRY_PROBLEMS:
        yield Problem(
            f"... and {len(misshaped) - MAX_ENTRY_PROBLEMS} more entries of the wrong shape",
            member=member,
            consequence=Consequence.REFUSED,
        )
    for (dtype, wanted), entries in sorted(casts.items()):
        lossless = dtype in FLOAT_DTYPES and wanted in FLOAT_DTYPES
        yield Problem(
            f"{plural(len(entries), 'entry')} saved as {dtype} where the graph declares "
            f"{wanted} ({listed(entries)}): MXNet casts them on load, so the model serves "
            f"{dtype} {'precision' if lossless else 'values'}, not the trained {wanted} weights",
            member=member,
            severity=Severity.WARNING if lossless else None,
        )


def _extra_entries(
    view: ModelView,
    expected: dict[str, list[str]],
    saved: dict[str, dict[str, Tensor]],
    member: str,
) -> Iterator[Problem]:
    extra = [
        f"{prefix}:{name}"
        for prefix in saved
        for name in saved[prefix]
        if name not in expected[prefix] and not (prefix == "arg" and name in expected["aux"])
    ]
    if not extra:
        return
    release = view.mms_release[0] if view.mms_release else None
    refused = release in RELEASES_REFUSING_EXTRAS
    consequence = (
        f'MMS {release} refuses the model (allow_extra=False: "Find name ... that is not in '
        'the arguments")'
        if refused
        else "MMS 0.3 and later ignore them; MMS 0.1.5 and 0.2.0 refuse the model "
        "(allow_extra=False)"
    )
    yield Problem(
        f"{plural(len(extra), 'entry')} the graph does not have ({listed(extra)}): {consequence}",
        member=member,
        severity=None if refused else Severity.WARNING,
        consequence=Consequence.REFUSED if refused else Consequence.UNCHECKED_RISK,
    )


@rule(
    "MAR305",
    "file-naming",
    "error",
    "the graph and weights are not named <prefix>-symbol.json and <prefix>-NNNN.params alike",
    consequence=Consequence.REFUSED,
)
def file_naming(view: ModelView) -> Iterator[Problem]:
    """Why it matters: MMS never opens the params file the manifest names. It parses the epoch out
    of it as `Parameters[len(Model-Name) + 1:-len(".params")]` (0 when that is not a number)
    and then loads `<symbol prefix>-%04d.params`: the model loads only when `Model-Name` equals
    the file prefix or the epoch is 0 (MMS #51, #856). `mxnet-model-export` (0.2+) also refuses
    graphs not named `<prefix>-symbol.json`, weights without an epoch, and a graph and weights
    whose prefixes differ.

    Example: with this manifest MMS looks for `resnet-0026.params`:

        "Model": {"Model-Name": "resnet18", "Symbol": "resnet-symbol.json",
                  "Parameters": "resnet-0126.params", ...}

    Fix: keep the pair `HybridBlock.export(prefix, epoch)` writes, and set `Model-Name` to the
    prefix (or save the weights as epoch 0).

    Repack: unsafe: it renames the weights (and the manifest's reference) to the graph's
    prefix, or sets `Model-Name` to the prefix, which is also the model's URL path.
    """
    symbol, params = view.model_file("Symbol"), view.model_file("Parameters")
    if symbol is None or params is None:
        return
    if not symbol.basename.endswith(SYMBOL_SUFFIX):
        yield Problem(
            f"the graph is not named <prefix>{SYMBOL_SUFFIX}: MMS strips the last 12 "
            "characters of its name to find the checkpoint",
            member=symbol.name,
        )
        return
    prefix = symbol.basename[: -len(SYMBOL_SUFFIX)]
    match = PARAMS_NAME.match(params.basename)
    if match is None:
        opened = _opened_params(view, prefix, params.basename)
        loads = f"MMS will load {opened}, not {params.basename}: " if opened else ""
        yield Problem(
            f"{loads}the weights are not named <prefix>-<epoch>.params (like "
            f'{prefix}-0000.params); `mxnet-model-export` refuses them ("No epoch number found")',
            member=params.name,
            fix=_rename_params(view, params.name, f"{prefix}-0000.params"),
        )
        return
    yield from _epoch_problems(view, prefix, params.name, params.basename, match)


def _epoch_problems(
    view: ModelView, prefix: str, params: str, basename: str, match: re.Match[str]
) -> Iterator[Problem]:
    epoch = int(match["epoch"])
    model_name = view.model_entry.get("Model-Name")
    opened = _opened_params(view, prefix, basename)
    if opened is None or opened == basename:
        return  # without a Model-Name, MAR102 reports the manifest
    if match["prefix"] != prefix:
        why = (
            f"MMS finds the weights by the graph's prefix {prefix!r} (and "
            "`mxnet-model-export` refuses a pair whose prefixes differ)"
        )
        fix = _rename_params(view, params, f"{prefix}-{epoch:04d}.params")
    elif model_name != prefix:
        why = f"`Model-Name` {model_name!r} is not the file prefix {prefix!r}"
        fix = _rename_model(view, model_name, prefix)
    else:
        why = f"the epoch is not written with 4 digits ({prefix}-{epoch:04d}.params)"
        fix = _rename_params(view, params, f"{prefix}-{epoch:04d}.params")
    yield Problem(
        f"MMS will load {opened}, not {basename}: {why}",
        member=params,
        fix=fix,
    )


def _opened_params(view: ModelView, prefix: str, basename: str) -> str | None:
    """The params file MMS loads for these files; None without a Model-Name."""
    model_name = view.model_entry.get("Model-Name")
    if not isinstance(model_name, str):
        return None
    return mms_checkpoint_params(prefix, basename, model_name)


def _rename_params(view: ModelView, member: str, new_name: str) -> Fix | None:
    """Rename the weights and the manifest's reference to them, together."""
    if view.manifest.member is None or not view.manifest.ok or not view.model_entry:
        return None
    folder = member[: -len(member.rsplit("/", 1)[-1])]
    return Fix(
        f"rename {member} to {folder}{new_name}",
        (
            RenameMember(member, folder + new_name),
            SetJson(view.manifest.member.name, json_pointer("Model", "Parameters"), new_name),
        ),
        safe=False,
    )


def _rename_model(view: ModelView, model_name: str, prefix: str) -> Fix | None:
    """Model-Name is also the model's URL path: changing it changes the API, hence unsafe."""
    if view.manifest.member is None or not view.manifest.ok:
        return None
    return Fix(
        f"set Model-Name {model_name!r} to the file prefix {prefix!r}",
        (SetJson(view.manifest.member.name, json_pointer("Model", "Model-Name"), prefix),),
        safe=False,
    )
