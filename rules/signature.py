"""signature.json: the request and response contract MMS builds the service API from."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from mar_lint import signatures as sig
from mar_lint.findings import Consequence, Fix, Problem, SetJson, Severity, json_pointer
from mar_lint.model import ModelView, is_label, known_shape
from mar_lint.registry import rule


@rule(
    "MAR201",
    "signature-invalid",
    "error",
    "signature missing, not JSON, or of the wrong structure",
    consequence=Consequence.REFUSED,
)
def signature_invalid(view: ModelView) -> Iterator[Problem]:
    """Why it matters: MMS reads `signature.json` to bind the graph's inputs and to build its API:
    it needs `inputs` and `outputs` lists of `{"data_name": str, "data_shape": [int, ...]}` and
    `input_type`/`output_type` strings. A malformed signature fails the export, or worse, the
    server at load time with a raw Python exception.

    Example: a shape written as a string, and no `input_type` or `output_type`:

        {"inputs": [{"data_name": "data", "data_shape": "0,3,224,224"}],
         "outputs": [{"data_name": "softmax", "data_shape": [0, 1000]}]}

    Fix: write the signature as in the MMS docs:

        {"inputs": [{"data_name": "data", "data_shape": [0, 3, 224, 224]}],
         "input_type": "image/jpeg",
         "outputs": [{"data_name": "softmax", "data_shape": [0, 1000]}],
         "output_type": "application/json"}
    """
    document = view.signature
    if document.member is None:
        reference = view.references.get("Signature")
        if reference is None or not isinstance(reference.value, str) or not reference.value:
            yield Problem("the archive has no signature.json")
        return  # a reference to a file that is not there is MAR103's finding
    member = document.member.name
    if document.error:
        yield Problem(f"signature cannot be read: {document.error}", member=member)
        return
    for message, location in sig.structure_problems(document.value):
        yield Problem(message, member=member, location=location)


@rule(
    "MAR202",
    "mime-type",
    "error",
    "input_type or output_type is not image/jpeg or application/json",
    consequence=Consequence.REFUSED,
)
def mime_type(view: ModelView) -> Iterator[Problem]:
    """Why it matters: MMS 0.x accepts exactly two MIME types, `image/jpeg` and
    `application/json`; the export refuses any other, and a hand-edited signature with another
    type stops MMS when it builds the endpoints (MMS 0.4's `serving_frontend.py`) or makes
    every request fail with HTTP 500 "Service setting error".

    Example: a common alias that MMS does not know:

        "input_type": "image/jpg"

    Fix: use one of the two types.

    Repack: safe: it rewrites known aliases (`image/jpg`, `image/pjpeg`, `json`, `text/json`,
    parameters such as `; charset=utf-8`).
    """
    signature = view.signature.object
    if signature is None:
        return
    member = signature.member.name
    for key in ("input_type", "output_type"):
        value = signature.value.get(key)
        if not isinstance(value, str) or value in sig.MIME_TYPES:
            continue
        canonical, where = sig.canonical_mime(value), json_pointer(key)
        edits = (SetJson(member, where, canonical),)
        fix = Fix(f"set {key} to {canonical!r}", edits) if canonical else None
        yield Problem(
            f"`{key}` is {value!r}; MMS accepts only {' or '.join(sig.MIME_TYPES)}",
            member=member,
            location=where,
            fix=fix,
        )


@rule(
    "MAR203",
    "batch-dimension",
    "error",
    "the first dimension of a data_shape is not 0",
    consequence=Consequence.UNCHECKED_RISK,
)
def batch_dimension(view: ModelView) -> Iterator[Problem]:
    """Why it matters: MMS treats the first dimension of every `data_shape` as the batch axis and
    overwrites it with 1 when it binds the graph (MMS issue #45). By convention it is written
    as 0, "any batch". A 1 works but advertises a fixed batch (a warning); any other number
    usually means the batch axis was left out (`[3, 224, 224]`), and MMS then silently binds
    `[1, 224, 224]`.

    Example: the batch axis left out of an image input:

        "inputs": [{"data_name": "data", "data_shape": [3, 224, 224]}]

    Fix: write 0 as the first dimension; when the batch axis is missing, insert it:
    `[0, 3, 224, 224]`.

    Repack: safe: it turns a leading 1 into 0 (a missing batch axis is yours to insert).
    """
    signature = view.signature.object
    if signature is None:
        return
    member = signature.member.name
    for key in ("inputs", "outputs"):
        for index, entry in sig.shaped_entries(signature.value, key):
            shape = entry["data_shape"]
            if not shape or not sig.is_dimension(shape[0]) or shape[0] == 0:
                continue
            location = json_pointer(key, index, "data_shape", 0)
            name = entry.get("data_name")
            if shape[0] == 1:
                yield Problem(
                    f"{key}[{index}] {name!r} has batch dimension 1 in {shape}; write 0 (any batch)",
                    member=member,
                    location=location,
                    severity=Severity.WARNING,
                    fix=Fix("set the batch dimension to 0", (SetJson(member, location, 0),)),
                )
            else:
                yield Problem(
                    f"{key}[{index}] {name!r} has {shape[0]} as its first dimension in {shape}: MMS "
                    "takes it for the batch axis and binds 1 instead",
                    member=member,
                    location=location,
                    hint=f"if the batch axis is missing, insert it: {[0] + shape}",
                )


@rule(
    "MAR204",
    "input-mismatch",
    "error",
    "the signature's inputs are not the graph's data inputs",
    needs_mxnet=True,
    consequence=Consequence.REFUSED,
)
def input_mismatch(view: ModelView) -> Iterator[Problem]:
    """Why it matters: MMS binds the graph with the signature's `data_name`s as its data inputs.
    A name that is not a data input of the graph fails the load ("You created Module with
    Module(..., data_names=[...]) but input with name ... is not found", MMS #277); a data
    input the signature leaves out is never fed. The graph's data inputs are its arguments that
    are neither weights saved in the params file nor labels; a label the signature names is fed
    like a data input (a CTC loss cannot infer its label's shape otherwise).

    Example: the graph's data input is `data`; the signature calls it `input`:

        "inputs": [{"data_name": "input", "data_shape": [0, 3, 224, 224]}]

    Fix: list exactly the graph's data inputs, by name, in the signature's `inputs`.

    Repack: unsafe: when one name is wrong and one data input unfed, it renames the one to the
    other; clients that send inputs by name see the change.
    """
    data_inputs, graph, signature = view.data_inputs, view.graph, view.signature.object
    entries = signature.value.get("inputs") if signature else None
    if data_inputs is None or graph is None or signature is None or not isinstance(entries, list):
        return
    member = signature.member.name
    named = sig.named_entries(signature.value, "inputs")
    unfed = [name for name in data_inputs if name not in {n for _, n in named}]
    fed_label = {n for _, n in named if is_label(n) and n in graph.arguments}  # a CTC label
    strangers = [(i, n) for i, n in named if n not in data_inputs and n not in fed_label]
    graph_list = ", ".join(data_inputs) or "none"
    for index, name in strangers:
        location = json_pointer("inputs", index, "data_name")
        kind = "a weight, not a data input" if name in graph.arguments else "not an input"
        fix = None
        if len(strangers) == 1 and len(unfed) == 1:
            edits = (SetJson(member, location, unfed[0]),)
            fix = Fix(f"rename input {name!r} to {unfed[0]!r}", edits, safe=False)
        yield Problem(
            f"signature input {name!r} is {kind} of the graph (its data inputs: {graph_list})",
            member=member,
            location=location,
            fix=fix,
        )
    for name in unfed:
        yield Problem(
            f"the graph's data input {name!r} is missing from the signature's inputs",
            member=member,
            location=json_pointer("inputs"),
        )


@rule(
    "MAR205",
    "output-shape",
    "error",
    "the signature's outputs differ from the graph's inferred outputs",
    needs_mxnet=True,
    consequence=Consequence.WRONG_ANSWERS,
)
def output_shape(view: ModelView) -> Iterator[Problem]:
    """Why it matters: the signature's `outputs` tell clients what the model returns; MMS never
    checks them against the graph (MMS 0.4 never reads `signature["outputs"]`), so after a
    retrain (1000 classes became 10) the API description lies quietly. mar-lint infers the
    output shapes with the signature's input shapes and compares count and dimensions (the
    batch dimension and 0 are wildcards). Output names are not used by MMS: a differing name
    is only a warning.

    Example: the retrained graph's output `softmax_output` is (1, 10); the signature still
    says:

        "outputs": [{"data_name": "softmax", "data_shape": [0, 1000]}]

    Fix: copy the inferred shapes into the signature (`"data_shape": [0, 10]`), and drop
    outputs the graph does not have.

    Repack: unsafe: it sets each `data_shape` to the inferred one and drops extra outputs, a
    change to the API contract clients were given.
    """
    graph, signature = view.graph, view.signature.object
    entries = signature.value.get("outputs") if signature else None
    if graph is None or not graph.loaded or graph.infer_error or not isinstance(entries, list):
        return
    if signature is None or not set(view.data_inputs or ()) <= set(graph.input_shapes):
        return  # an unfed input leaves shapes unknown: MAR204 reports it
    member = signature.member.name
    if len(entries) != len(graph.outputs):
        yield Problem(
            f"the signature lists {len(entries)} outputs; the graph has {len(graph.outputs)} "
            f"({', '.join(graph.outputs)})",
            member=member,
            location=json_pointer("outputs"),
            fix=_drop_extra_outputs(member, entries, graph.outputs),
        )
        return
    for index, (entry, name, inferred) in enumerate(
        zip(entries, graph.outputs, graph.output_shapes)
    ):
        if isinstance(entry, dict) and known_shape(inferred):
            yield from _output_problems(member, index, entry, name, inferred)


def _output_problems(
    member: str, index: int, entry: dict[str, Any], name: str, inferred: tuple[int, ...]
) -> Iterator[Problem]:
    """One signature output against the graph output in its place."""
    declared = entry.get("data_shape")
    if isinstance(declared, list) and not sig.shapes_agree(declared, inferred):
        wanted = [0, *inferred[1:]]
        location = json_pointer("outputs", index, "data_shape")
        yield Problem(
            f"outputs[{index}] is {declared} in the signature; the graph gives {list(inferred)}",
            member=member,
            location=location,
            fix=Fix(
                f"set outputs[{index}].data_shape to {wanted}",
                (SetJson(member, location, wanted),),
                safe=False,
            ),
        )
    if entry.get("data_name") not in (name, name.removesuffix("_output")):
        yield Problem(
            f"outputs[{index}] is named {entry.get('data_name')!r}; the graph calls it {name!r}",
            member=member,
            location=json_pointer("outputs", index, "data_name"),
            severity=Severity.WARNING,
        )


def _drop_extra_outputs(member: str, entries: list[object], outputs: tuple[str, ...]) -> Fix | None:
    """More entries than the graph has heads: keep the entries named after the graph's
    outputs (in the graph's order) when each has one, else the first ones; a contract change."""
    if len(entries) <= len(outputs):
        return None
    kept = sig.outputs_to_keep(entries, outputs)
    dropped = [index for index in range(len(entries)) if index not in kept]
    return Fix(
        f"drop outputs {', '.join(f'[{index}]' for index in dropped)}, which the graph does "
        f"not have",
        (SetJson(member, json_pointer("outputs"), [entries[index] for index in kept]),),
        safe=False,
    )
