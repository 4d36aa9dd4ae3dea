"""The MXNet graph: does it load, and does it agree with the signature?"""

from __future__ import annotations

from collections.abc import Iterator

from mar_lint.findings import Fix, Problem, SetJson, Severity, json_pointer
from mar_lint.model import ModelView, known_shape
from mar_lint.registry import rule

MAX_STRUCTURE_PROBLEMS = 20


@rule(
    "MAR301",
    "symbol-invalid",
    "error",
    "the graph JSON does not parse, is not an MXNet graph, or MXNet refuses to load it",
    needs_mxnet=True,
)
def symbol_invalid(view: ModelView) -> Iterator[Problem]:
    """MMS loads `<prefix>-symbol.json` with MXNet when the model is registered; a graph that
    MXNet refuses (unknown operator, bad attribute, unknown key) stops the worker. Some
    malformed graphs are worse: MXNet 1.9.1 loads them and then crashes the process. mar-lint
    checks the structure in Python first and runs MXNet only in a sandboxed child process.
    Graphs from old MXNet releases that MXNet upgrades on load are valid.

    Fix: export the graph again from the model (`HybridBlock.export` or
    `mx.model.save_checkpoint`) with the MXNet release the server runs.
    """
    document = view.symbol
    if document.member is None:
        if (
            "Symbol" not in view.references
            and view.model_entry.get("Model-Format") != "Gluon-Imperative"
        ):
            yield Problem("the archive has no <prefix>-symbol.json graph")
        return
    member = document.member.name
    if document.error:
        yield Problem(f"the graph cannot be read: {document.error}", member=member)
        return
    issues = view.graph_issues
    for issue in issues[:MAX_STRUCTURE_PROBLEMS]:
        yield Problem(
            f"not a valid MXNet graph: {issue.message}", member=member, location=issue.location
        )
    if len(issues) > MAX_STRUCTURE_PROBLEMS:
        yield Problem(
            f"... and {len(issues) - MAX_STRUCTURE_PROBLEMS} more structural problems",
            member=member,
        )
    graph = view.graph
    if graph is not None and graph.failure:
        yield Problem(f"{graph.failure} while loading the graph", member=member)
    elif graph is not None and graph.load_error:
        yield Problem(
            f"MXNet {graph.mxnet_version} refuses the graph: {graph.load_error}", member=member
        )


@rule(
    "MAR302",
    "shape-inference",
    "error",
    "MXNet cannot infer the graph's shapes from the signature's inputs",
    needs_mxnet=True,
)
def shape_inference(view: ModelView) -> Iterator[Problem]:
    """MMS binds the graph with the signature's input shapes (batch and 0 dimensions bound as
    1). When MXNet cannot infer every shape from them, binding fails and the model does not
    load, typically with "Incompatible attr in node ... expected (4096,9216), got
    (4096,57600)" (MMS issue #52): the signature's image size is not the one the network
    was built for.

    Fix: give each input the shape the network was trained with (`[0, 3, 224, 224]` for
    most ImageNet models).
    """
    if not view.input_shapes:
        return  # no usable input shape: MAR201 says why
    graph = view.graph
    if graph is None or not graph.loaded:
        return
    member = graph.member.name
    shapes = ", ".join(f"{name}={list(shape)}" for name, shape in graph.input_shapes.items())
    if graph.infer_error:
        yield Problem(
            f"MXNet cannot infer shapes from {shapes}: {graph.infer_error}", member=member
        )
        return
    fed = set(view.data_inputs or ()) <= set(graph.input_shapes)
    unknown = [n for n, s in zip(graph.outputs, graph.output_shapes) if not known_shape(s)]
    if unknown and fed:
        yield Problem(
            f"MXNet cannot infer the shape of {', '.join(unknown)} from {shapes}", member=member
        )


@rule(
    "MAR204",
    "input-mismatch",
    "error",
    "the signature's inputs are not the graph's data inputs",
    needs_mxnet=True,
)
def input_mismatch(view: ModelView) -> Iterator[Problem]:
    """MMS binds the graph with the signature's `data_name`s as its data inputs. A name that
    is not a data input of the graph fails the load ("You created Module with
    Module(..., data_names=[...]) but input with name ... is not found", MMS #277); a data
    input the signature leaves out is never fed. The graph's data inputs are its arguments
    that are neither weights saved in the params file nor labels.

    Fix: list exactly the graph's data inputs, by name, in the signature's `inputs`.
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
    strangers = [(i, n) for i, n in named if n not in data_inputs]
    graph_list = ", ".join(data_inputs) or "none"
    for index, name in strangers:
        location = json_pointer("inputs", index, "data_name")
        kind = "a weight, not a data input" if name in view.graph.arguments else "not an input"  # type: ignore[union-attr]
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
)
def output_shape(view: ModelView) -> Iterator[Problem]:
    """The signature's `outputs` tell clients what the model returns; MMS never checks them
    against the graph, so after a retrain (1000 classes became 10) the API description
    lies quietly. mar-lint infers the output shapes with the signature's input shapes and
    compares count and dimensions (the batch dimension and 0 are wildcards). Output names
    are not used by MMS: a differing name is only a warning.

    Fix: copy the inferred shapes into the signature (`mar-lint repack --unsafe-fixes`).
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


def _shapes_agree(declared: list[object], inferred: tuple[int, ...]) -> bool:
    if len(declared) != len(inferred):
        return False
    return all(i == 0 or d == 0 or d == n for i, (d, n) in enumerate(zip(declared, inferred)))
