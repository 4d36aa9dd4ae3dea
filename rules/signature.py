"""signature.json: the request and response contract MMS builds the service API from."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from mar_lint.findings import Consequence, Fix, Problem, SetJson, Severity, json_pointer
from mar_lint.model import ModelView, is_dimension, is_label, known_shape
from mar_lint.registry import rule

MIME_TYPES = ("image/jpeg", "application/json")
MIME_ALIASES = {
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "jpeg": "image/jpeg",
    "jpg": "image/jpeg",
    "json": "application/json",
    "text/json": "application/json",
    "application/x-json": "application/json",
}


def _entries(signature: Any, key: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """Well-formed `inputs`/`outputs` entries with their index."""
    entries = signature.get(key) if isinstance(signature, dict) else None
    for index, entry in enumerate(entries if isinstance(entries, list) else []):
        if isinstance(entry, dict) and isinstance(entry.get("data_shape"), list):
            yield index, entry


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
    signature = document.value
    if not isinstance(signature, dict):
        yield Problem(
            f"the signature is a JSON {type(signature).__name__}, not an object", member=member
        )
        return
    for key in ("input_type", "output_type"):
        if not isinstance(signature.get(key), str):
            state = "is missing" if key not in signature else "is not a string"
            yield Problem(f"`{key}` {state}", member=member, location=json_pointer(key))
    for key in ("inputs", "outputs"):
        entries = signature.get(key)
        if not isinstance(entries, list) or not entries:
            state = "is missing" if key not in signature else "is not a non-empty list"
            yield Problem(f"`{key}` {state}", member=member, location=json_pointer(key))
            continue
        for index, entry in enumerate(entries):
            for message, location in _entry_problems(entry, (key, index)):
                yield Problem(f"{key}[{index}]: {message}", member=member, location=location)


def _entry_problems(entry: Any, at: tuple[str, int]) -> Iterator[tuple[str, str]]:
    if not isinstance(entry, dict):
        yield f"is a JSON {type(entry).__name__}, not an object", json_pointer(*at)
        return
    if not isinstance(entry.get("data_name"), str) or not entry["data_name"]:
        yield "`data_name` must be a non-empty string", json_pointer(*at, "data_name")
    shape = entry.get("data_shape")
    if not isinstance(shape, list) or not shape:
        yield "`data_shape` must be a non-empty list of dimensions", json_pointer(*at, "data_shape")
        return
    for position, dim in enumerate(shape):
        if not is_dimension(dim):
            yield (
                f"dimension {position} is {dim!r}; dimensions are integers >= 0",
                json_pointer(*at, "data_shape", position),
            )


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
    signature = view.signature.value if view.signature.ok else None
    if not isinstance(signature, dict):
        return
    member = view.signature.member.name  # type: ignore[union-attr]
    for key in ("input_type", "output_type"):
        value = signature.get(key)
        if not isinstance(value, str) or value in MIME_TYPES:
            continue
        bare = value.split(";", 1)[0].strip().lower()
        canonical = bare if bare in MIME_TYPES else MIME_ALIASES.get(bare)
        fix = None
        if canonical:
            fix = Fix(
                f"set {key} to {canonical!r}", (SetJson(member, json_pointer(key), canonical),)
            )
        yield Problem(
            f"`{key}` is {value!r}; MMS accepts only {' or '.join(MIME_TYPES)}",
            member=member,
            location=json_pointer(key),
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
    signature = view.signature.value if view.signature.ok else None
    member = view.signature.member.name if view.signature.member else None
    for key in ("inputs", "outputs"):
        for index, entry in _entries(signature, key):
            shape = entry["data_shape"]
            if not shape or not is_dimension(shape[0]) or shape[0] == 0:
                continue
            location = json_pointer(key, index, "data_shape", 0)
            name = entry.get("data_name")
            if shape[0] == 1:
                yield Problem(
                    f"{key}[{index}] {name!r} has batch dimension 1 in {shape}; write 0 (any batch)",
                    member=member,
                    location=location,
                    severity=Severity.WARNING,
                    fix=Fix("set the batch dimension to 0", (SetJson(member, location, 0),)),  # type: ignore[arg-type]
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
    data_inputs = view.data_inputs
    signature = view.signature.value if view.signature.ok else None
    entries = signature.get("inputs") if isinstance(signature, dict) else None
    if data_inputs is None or not isinstance(entries, list):
        return
    member = view.signature.member.name  # type: ignore[union-attr]
    named = [
        (i, e["data_name"])
        for i, e in enumerate(entries)
        if isinstance(e, dict) and isinstance(e.get("data_name"), str)
    ]
    unfed = [name for name in data_inputs if name not in {n for _, n in named}]
    graph_arguments = view.graph.arguments  # type: ignore[union-attr]
    strangers = [
        (i, n)
        for i, n in named
        if n not in data_inputs and not (is_label(n) and n in graph_arguments)
    ]
    graph_list = ", ".join(data_inputs) or "none"
    for index, name in strangers:
        location = json_pointer("inputs", index, "data_name")
        kind = "a weight, not a data input" if name in graph_arguments else "not an input"
        fix = None
        if len(strangers) == 1 and len(unfed) == 1:
            fix = Fix(
                f"rename input {name!r} to {unfed[0]!r}",
                (SetJson(member, location, unfed[0]),),
                safe=False,
            )
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
    graph = view.graph
    signature = view.signature.value if view.signature.ok else None
    entries = signature.get("outputs") if isinstance(signature, dict) else None
    if graph is None or not graph.loaded or graph.infer_error or not isinstance(entries, list):
        return
    if not set(view.data_inputs or ()) <= set(graph.input_shapes):
        return  # an unfed input leaves shapes unknown: MAR204 reports it
    member = view.signature.member.name  # type: ignore[union-attr]
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
        if not isinstance(entry, dict) or not known_shape(inferred):
            continue
        declared = entry.get("data_shape")
        if isinstance(declared, list) and not _shapes_agree(declared, inferred):  # type: ignore[arg-type]
            wanted = [0, *inferred[1:]]  # type: ignore[index]
            location = json_pointer("outputs", index, "data_shape")
            yield Problem(
                f"outputs[{index}] is {declared} in the signature; the graph gives {list(inferred)}",  # type: ignore[arg-type]
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


def _drop_extra_outputs(member: str, entries: list[object], outputs: list[str]) -> Fix | None:
    """More entries than the graph has heads: keep the entries named after the graph's
    outputs (in the graph's order) when each has one, else the first ones; a contract change."""
    if len(entries) <= len(outputs):
        return None
    by_name = {
        entry.get("data_name"): index
        for index, entry in reversed(list(enumerate(entries)))
        if isinstance(entry, dict)
    }
    named = [by_name.get(name, by_name.get(name.removesuffix("_output"))) for name in outputs]
    unique = None not in named and len(set(named)) == len(named)
    kept = named if unique else list(range(len(outputs)))
    dropped = [index for index in range(len(entries)) if index not in kept]
    return Fix(
        f"drop outputs {', '.join(f'[{index}]' for index in dropped)}, which the graph does "
        f"not have",
        (SetJson(member, json_pointer("outputs"), [entries[index] for index in kept]),),
        safe=False,
    )


def _shapes_agree(declared: list[object], inferred: tuple[int, ...]) -> bool:
    if len(declared) != len(inferred):
        return False
    return all(i == 0 or d == 0 or d == n for i, (d, n) in enumerate(zip(declared, inferred)))
