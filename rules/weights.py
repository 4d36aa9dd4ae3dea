"""The weights: is the params file MXNet weights, do they fit the graph, and will MMS find them?"""

from __future__ import annotations

from collections.abc import Iterator

from mar_lint import weight_facts as facts
from mar_lint.archive import Member
from mar_lint.findings import (
    Consequence,
    Edit,
    Fix,
    Problem,
    RenameMember,
    SetJson,
    Severity,
    json_pointer,
)
from mar_lint.model import ModelView
from mar_lint.params import ParamsError, ParamsIndex
from mar_lint.registry import rule
from mar_lint.text import listed, plural

MAX_ENTRY_PROBLEMS = 10  # per-entry findings (shape mismatches) before one summary


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
    symbolic = not view.gluon_imperative
    for message in facts.load_problems(index, symbolic):
        yield Problem(message, member=member.name)


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
    elif not found and not view.gluon_imperative:
        if view.symbol.member is not None:
            yield Problem("the archive has a graph but no <prefix>-<epoch>.params weights")


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
    fit = view.weight_fit
    if fit is None:
        return
    if fit.unrelated:
        weights, others = fit.expected["arg"], fit.saved_entries
        yield Problem(
            f"none of the graph's {plural(len(weights), 'weight')} is in the params file, "
            f"which holds {len(others)} other entries ({listed(others)}): the weights of "
            "another model?",
            member=fit.member,
        )
        return
    yield from _missing_entries(fit)
    yield from _entry_mismatches(fit)
    yield from _extra_entries(view, fit)


def _missing_entries(fit: facts.WeightFit) -> Iterator[Problem]:
    weights = fit.missing_weights
    if weights:
        yield Problem(
            f"the graph's {plural(len(weights), 'weight')} {listed(weights)} "
            f"{'has' if len(weights) == 1 else 'have'} no `arg:` entry: MMS loads with "
            "allow_missing=True, so they stay zero and the model serves garbage",
            member=fit.member,
        )
    misfiled = fit.misfiled_states
    if misfiled:
        yield Problem(
            f"auxiliary states saved under `arg:` ({listed(misfiled)}), as ONNX conversions "
            "do: MXNet's loader takes them for weights and MMS drops them, so the states stay "
            "zero; save them as `aux:` entries",
            member=fit.member,
        )
    missing = fit.missing_states
    if missing:
        yield Problem(
            f"the graph's auxiliary {plural(len(missing), 'state')} {listed(missing)} "
            f"{'has' if len(missing) == 1 else 'have'} no `aux:` entry: they stay zero "
            "(a BatchNorm with a zero moving variance serves garbage)",
            member=fit.member,
        )


def _entry_mismatches(fit: facts.WeightFit) -> Iterator[Problem]:
    misshaped = fit.misshaped
    for wrong in misshaped[:MAX_ENTRY_PROBLEMS]:
        yield Problem(
            f"{wrong.entry} has shape {list(wrong.saved)}; with the signature's inputs the "
            f"graph needs {list(wrong.needed)}: MMS fails to bind the weights",
            member=fit.member,
            location=wrong.entry,
            consequence=Consequence.REFUSED,
        )
    if len(misshaped) > MAX_ENTRY_PROBLEMS:
        yield Problem(
            f"... and {len(misshaped) - MAX_ENTRY_PROBLEMS} more entries of the wrong shape",
            member=fit.member,
            consequence=Consequence.REFUSED,
        )
    for dtype, wanted, entries, lossless in fit.casts:
        yield Problem(
            f"{plural(len(entries), 'entry')} saved as {dtype} where the graph declares "
            f"{wanted} ({listed(entries)}): MXNet casts them on load, so the model serves "
            f"{dtype} {'precision' if lossless else 'values'}, not the trained {wanted} weights",
            member=fit.member,
            severity=Severity.WARNING if lossless else None,
        )


def _extra_entries(view: ModelView, fit: facts.WeightFit) -> Iterator[Problem]:
    extra = fit.extra
    if not extra:
        return
    release = view.mms_release.release if view.mms_release else None
    refused = release in facts.RELEASES_REFUSING_EXTRAS
    consequence = (
        f'MMS {release} refuses the model (allow_extra=False: "Find name ... that is not in '
        'the arguments")'
        if refused
        else "MMS 0.3 and later ignore them; MMS 0.1.5 and 0.2.0 refuse the model "
        "(allow_extra=False)"
    )
    yield Problem(
        f"{plural(len(extra), 'entry')} the graph does not have ({listed(extra)}): {consequence}",
        member=fit.member,
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
    if not symbol.basename.endswith(facts.SYMBOL_SUFFIX):
        yield Problem(
            f"the graph is not named <prefix>{facts.SYMBOL_SUFFIX}: MMS strips the last 12 "
            "characters of its name to find the checkpoint",
            member=symbol.name,
        )
        return
    prefix = symbol.basename[: -len(facts.SYMBOL_SUFFIX)]
    opened = view.loaded_params(prefix, params.basename)  # None without a Model-Name: MAR102
    named = facts.params_name(params.basename)
    if named is None:
        loads = f"MMS will load {opened}, not {params.basename}: " if opened else ""
        yield Problem(
            f"{loads}the weights are not named <prefix>-<epoch>.params (like "
            f'{prefix}-0000.params); `mxnet-model-export` refuses them ("No epoch number found")',
            member=params.name,
            fix=_rename_params(view, params.name, f"{prefix}-0000.params"),
        )
        return
    if opened is not None and opened != params.basename:
        yield from _epoch_problem(view, prefix, params, opened, *named)


def _epoch_problem(
    view: ModelView, prefix: str, params: Member, opened: str, params_prefix: str, epoch: int
) -> Iterator[Problem]:
    model_name = view.model_entry.get("Model-Name")
    if params_prefix != prefix:
        why = (
            f"MMS finds the weights by the graph's prefix {prefix!r} (and "
            "`mxnet-model-export` refuses a pair whose prefixes differ)"
        )
        fix = _rename_params(view, params.name, f"{prefix}-{epoch:04d}.params")
    elif model_name != prefix:
        why = f"`Model-Name` {model_name!r} is not the file prefix {prefix!r}"
        summary = f"set Model-Name {model_name!r} to the file prefix {prefix!r}"
        fix = _set_model(view, summary, "Model-Name", prefix)
    else:
        why = f"the epoch is not written with 4 digits ({prefix}-{epoch:04d}.params)"
        fix = _rename_params(view, params.name, f"{prefix}-{epoch:04d}.params")
    yield Problem(
        f"MMS will load {opened}, not {params.basename}: {why}", member=params.name, fix=fix
    )


def _rename_params(view: ModelView, member: str, new_name: str) -> Fix | None:
    """Rename the weights and the manifest's reference to them, together."""
    folder = member[: -len(member.rsplit("/", 1)[-1])]
    rename = RenameMember(member, folder + new_name)
    return _set_model(
        view, f"rename {member} to {folder}{new_name}", "Parameters", new_name, rename
    )


def _set_model(view: ModelView, summary: str, key: str, value: str, *edits: Edit) -> Fix | None:
    """Set `Model.<key>` after `edits`. Unsafe: Model-Name is also the model's URL path, and a
    renamed file is another archive for whoever names it."""
    manifest = view.manifest.parsed
    if manifest is None or not view.model_entry:
        return None
    pointer = json_pointer("Model", key)
    return Fix(summary, (*edits, SetJson(manifest.member.name, pointer, value)), safe=False)
