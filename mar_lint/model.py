"""The model inside an archive: manifest, references, signature, graph and weights.

`ModelView` is what every rule receives. It adds to the archive view the facts several rules
share, each worked out once per archive on first use: a rule that never asks for the graph
never starts MXNet. Shapes come from the native engine (`mar_lint.shapes`) unless the settings
ask for MXNet itself (`engine = "mxnet"`).
"""

from __future__ import annotations

import fnmatch
import json
import posixpath
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Self, TypeGuard

from packaging.version import Version

from mar_lint import container_facts, graph_structure
from mar_lint.archive import (
    MANIFEST,
    ArchiveSource,
    ArchiveView,
    JsonDocument,
    Member,
    MemberError,
    MemberTooLarge,
    MemberUnavailable,
    unsafe_path_reason,
)
from mar_lint.config import Settings
from mar_lint.crc_pass import crc_held
from mar_lint.findings import json_pointer
from mar_lint.manifests import SchemaError, detect_release, release_for
from mar_lint.params import ParamsError, ParamsIndex, read_params_index
from mar_lint.sandbox import MXNetUnavailable, Sandbox, SandboxFailure, mxnet_installed
from mar_lint.services import (
    ChosenService,
    Selection,
    ServiceSource,
    parse_service,
    select,
    service_classes,
)
from mar_lint.signatures import is_dimension, shaped_entries
from mar_lint.versions import version_from_int
from mar_lint.weight_facts import WeightFit, declared_dtypes, fit_weights

LABELS_FILE = "synset.txt"  # the one name MMS reads labels from (mms-loader.md, init)
CARRIED_SCHEMA = "manifest-schema.json"  # a schema some archives carry; MMS never reads it
DEFAULT_RELEASE = "0.4.0"  # the release assumed when nothing says which

if TYPE_CHECKING:
    from mar_lint.shapes.infer import Inference
    from mar_lint.shapes.op_registry import AttrIssue

# Manifest `Model` keys that name files, in the order MMS checks them (§1.7).
REFERENCE_KEYS = ("Signature", "Symbol", "Parameters", "Service")


@dataclass(frozen=True)
class Reference:
    """A manifest `Model` entry that names a file, and the members MMS would match with it."""

    key: str  # "Symbol", "Parameters", "Signature" or "Service"
    value: Any
    pointer: str  # where in MANIFEST.json
    matches: tuple[Member, ...] = ()


class GraphNotModelled(MXNetUnavailable):
    """The graph uses operators the native engine has no shape function for, and mxnet (the
    fallback) cannot be imported: the rules that need shapes are skipped, and the run says so."""


@dataclass(frozen=True)
class GraphAnalysis:
    """What MXNet 1.9.1 says about the graph, given the signature's input shapes: worked out by
    the native engine, or asked of MXNet itself in the sandbox (`engine` says which)."""

    member: Member
    input_shapes: dict[str, tuple[int, ...]]
    mxnet_version: str = ""
    failure: str | None = None  # the sandbox crashed, hung or ran out of memory
    load_error: str | None = None  # MXNet refused the graph
    infer_error: str | None = None  # MXNet could not infer shapes
    arguments: tuple[str, ...] = ()
    auxiliary_states: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    arg_shapes: dict[str, tuple[int, ...] | None] = field(default_factory=dict)
    aux_shapes: dict[str, tuple[int, ...] | None] = field(default_factory=dict)
    output_shapes: tuple[tuple[int, ...] | None, ...] = ()
    engine: str = "mxnet"  # "native" or "mxnet"

    @property
    def loaded(self) -> bool:
        return self.failure is None and self.load_error is None


@dataclass(frozen=True)
class NodeShapes:
    """The inferred shape of every node output, for drawing the graph (`explore --graph`)."""

    # node name -> the shapes of its visible outputs, in order; () or None where unknown
    outputs: dict[str, list[tuple[int, ...] | None]]
    problem: str | None = None  # why shapes are missing or partial


@dataclass(frozen=True)
class Labels:
    """synset.txt as MMS reads it: `[line.strip() for line in open(synset).readlines()]`,
    so a blank line, the last one included, is a label too."""

    member_name: str | None  # None: the archive has no synset.txt
    labels: tuple[str, ...] = ()
    error: str | None = None  # the member cannot be read
    too_large: str | None = None  # past max-text-bytes: not read, so not checked


def read_labels(text: str) -> tuple[str, ...]:
    """The labels MMS reads from this text: every line (universal newlines, as `open()` in
    text mode gives them), stripped; the newline ending the last line starts no label."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines[-1] == "":
        lines.pop()
    return tuple(line.strip() for line in lines)


def mms_checkpoint_params(symbol_prefix: str, parameters: str, model_name: str) -> str:
    """The weights file MMS 0.x loads, to the character (mms-loader.md, init): the epoch is
    `int(Parameters[len(Model-Name) + 1:-7])`, 0 when that is no number, and the file is
    `load_checkpoint(<symbol prefix>, epoch)`'s `<prefix>-%04d.params`. MMS never opens the
    file `Parameters` names."""
    try:
        epoch = int(parameters[len(model_name) + 1 : -len(".params")])
    except ValueError:
        epoch = 0
    return f"{symbol_prefix}-{epoch:04d}.params"


def is_label(name: str) -> bool:
    """MXNet's naming for loss-layer label inputs (`softmax_label`); MMS binds none of them."""
    return name == "label" or name.endswith("_label")


def known_shape(shape: tuple[int, ...] | None) -> TypeGuard[tuple[int, ...]]:
    """Shapes MXNet could not infer come back empty or with 0 dimensions."""
    return shape is not None and len(shape) > 0 and all(dim > 0 for dim in shape)


class MmsRelease(NamedTuple):
    """The MMS release whose manifest schema applies, and why that one."""

    release: str  # "0.4.0"
    reason: str  # "the target MMS version", "`Model-Server` is 0.4", ...


@dataclass(frozen=True)
class ClassCount:
    """How many classes the model's first output has, and where that number comes from."""

    count: int
    source: str  # "the graph's output softmax_output is [1, 10]"


@dataclass(frozen=True)
class CarriedSchemaVerdict:
    """The manifest checked against the `manifest-schema.json` the archive carries. MMS never
    reads that file; a hostile schema can make the validator hang or exhaust memory, so the
    validation runs in the sandbox."""

    member: str  # the carried schema's member
    unreadable: str | None = None  # the schema cannot be read, or is not JSON
    failure: str | None = None  # the validator crashed, hung or ran out of memory
    schema_error: str | None = None  # the schema is not a valid JSON Schema
    errors: tuple[SchemaError, ...] = ()  # where the manifest fails it


class ModelView(ArchiveView):
    """The archive as rules see it: the members (from `ArchiveView`) and every fact rules
    share, each a typed property worked out once, on first use. Rules read these and never
    the sandbox or the file system; the README's "Plugins" section lists them."""

    def __init__(self, path: Path | ArchiveSource, settings: Settings, sandbox: Sandbox) -> None:
        super().__init__(path, settings.limits)
        self.settings = settings
        self.sandbox = sandbox
        # A params index read from the same bytes in another archive (see `rewritten`).
        self._carried_params: ParamsIndex | ParamsError | None = None

    @classmethod
    def rewritten(
        cls,
        path: Path,
        settings: Settings,
        sandbox: Sandbox,
        *,
        source: ModelView,
        copied: Sequence[Member | None],
    ) -> Self:
        """A view of the archive `repack` wrote from `source`, where member i holds the
        compressed bytes of `copied[i]` unchanged (None: written anew). It keeps what the
        source's check verified: copied members whose CRC held hold the same bytes, so they
        are not inflated again, and an unchanged params file keeps its index."""
        view = cls(path, settings, sandbox)
        if len(view.members) != len(copied):
            return view
        source_params = source.model_file("Parameters")
        for output, original in zip(view.members, copied):
            if original is None:
                continue
            if source.read_results.get(original.index, "unread") is None:
                view.read_results[output.index] = None
            # Only an index the source's check computed: reading one now costs a pass.
            if original == source_params and "params" in source.__dict__:
                if view.model_file("Parameters") == output:
                    view._carried_params = source.params
        return view

    # -- manifest --------------------------------------------------------------------------

    @cached_property
    def manifest(self) -> JsonDocument:
        member = self.in_root(MANIFEST)
        if member is None and self.kind == "folder" and (self.path / MANIFEST).is_dir():
            return JsonDocument(None, error=f"{MANIFEST} is a folder, not a file")
        return self.json(member)

    @cached_property
    def mms_release(self) -> MmsRelease | None:
        """The MMS release whose manifest schema applies, and why: the target given by the
        user, else the release the manifest was written for. None without a manifest object."""
        if self.settings.mms_version:
            return MmsRelease(release_for(self.settings.mms_version), "the target MMS version")
        manifest = self.manifest.object
        return MmsRelease(*detect_release(manifest.value)) if manifest else None

    @property
    def target_release(self) -> str:
        """The MMS release the checks follow: the one detected or targeted, else 0.4."""
        return self.mms_release.release if self.mms_release else DEFAULT_RELEASE

    @cached_property
    def model_entry(self) -> dict[str, Any]:
        """The manifest's `Model` object, or {} when there is none to read."""
        manifest = self.manifest.object
        model = manifest.value.get("Model") if manifest else None
        return model if isinstance(model, dict) else {}

    @property
    def gluon_imperative(self) -> bool:
        """Whether the manifest's `Model-Format` is `Gluon-Imperative`: MMS then builds the
        network from Python blocks, so there is no graph to need and no graph to name the
        weights."""
        return self.model_entry.get("Model-Format") == "Gluon-Imperative"

    @cached_property
    def carried_schema(self) -> CarriedSchemaVerdict | None:
        """The manifest checked against the archive's own `manifest-schema.json`; None when
        the archive carries none."""
        document = self.json(self.in_root(CARRIED_SCHEMA))
        if document.member is None:
            return None
        name = document.member.name
        if document.error:
            return CarriedSchemaVerdict(name, unreadable=document.error)
        instance = self.manifest.value if self.manifest.ok else None
        try:
            answer = self.sandbox.run("schema", instance=instance, schema=document.value)
        except SandboxFailure as exc:
            return CarriedSchemaVerdict(name, failure=str(exc))
        errors = tuple(SchemaError(e["pointer"], e["message"]) for e in answer.get("errors", []))
        return CarriedSchemaVerdict(name, schema_error=answer.get("schema_error"), errors=errors)

    @cached_property
    def references(self) -> dict[str, Reference]:
        """Each file the manifest names, matched the way MMS matches it (§1.7): against the
        flattened basenames, as a glob pattern. A reference or a name longer than
        `max_name_length` is never matched: no file system holds such a name, and a glob
        compiled from megabytes of pattern costs seconds and gigabytes."""
        longest = self.limits.max_name_length
        flat = {base: m for base, m in self.flattened().items() if len(base) <= longest}
        found = {}
        for key in REFERENCE_KEYS:
            if key not in self.model_entry:
                continue
            value = self.model_entry[key]
            matches: tuple[Member, ...] = ()
            if (
                isinstance(value, str)
                and value
                and len(value) <= longest
                and unsafe_path_reason(value) is None
            ):
                pattern = posixpath.normpath(value)
                matches = tuple(
                    member
                    for base, member in sorted(flat.items())
                    if fnmatch.fnmatchcase(base, pattern)
                    and (pattern.startswith(".") or not base.startswith("."))  # glob hides dotfiles
                )
            found[key] = Reference(key, value, json_pointer("Model", key), matches)
        return found

    @cached_property
    def checkpoint_params(self) -> str | None:
        """The base name of the weights file MMS 0.x loads, from the manifest's `Symbol`,
        `Parameters` and `Model-Name`; None when one of them is not a string."""
        symbol, parameters = (self.model_entry.get(key) for key in ("Symbol", "Parameters"))
        if not (isinstance(symbol, str) and isinstance(parameters, str)):
            return None
        prefix = posixpath.basename(symbol[: -len("-symbol.json")])
        return self.loaded_params(prefix, parameters)

    def loaded_params(self, symbol_prefix: str, params_name: str) -> str | None:
        """The weights file MMS 0.x loads for a graph named `<symbol_prefix>-symbol.json` and
        weights named `params_name`, with the manifest's `Model-Name`; None without one."""
        model_name = self.model_entry.get("Model-Name")
        if not isinstance(model_name, str):
            return None
        return mms_checkpoint_params(symbol_prefix, params_name, model_name)

    def model_file(self, key: str) -> Member | None:
        """The member that plays a part ("Signature", "Symbol", "Parameters", "Service"):
        the one the manifest names if it names exactly one, else the one the conventions of
        `mxnet-model-export` point at, so a bad reference does not hide the file's own problems."""
        reference = self.references.get(key)
        if reference is not None and len(reference.matches) == 1:
            return reference.matches[0]
        flat = self.flattened()
        if key == "Signature":
            return flat.get("signature.json")
        suffix = {"Symbol": "-symbol.json", "Parameters": ".params", "Service": ".py"}[key]
        candidates = [m for base, m in flat.items() if base.endswith(suffix)]
        return candidates[0] if len(candidates) == 1 else None

    # -- signature -------------------------------------------------------------------------

    @cached_property
    def signature(self) -> JsonDocument:
        return self.json(self.model_file("Signature"))

    @cached_property
    def input_shapes(self) -> dict[str, tuple[int, ...]]:
        """Signature inputs with well-formed shapes, bound the way MMS binds them: the batch
        dimension and every other 0 become 1 (§1.5)."""
        signature = self.signature.object
        shapes = {}
        for _, entry in shaped_entries(signature.value, "inputs") if signature else ():
            name, shape = entry.get("data_name"), entry["data_shape"]
            if isinstance(name, str) and shape and all(is_dimension(d) for d in shape):
                shapes[name] = tuple(max(int(d), 1) for d in shape)
        return shapes

    # -- graph -----------------------------------------------------------------------------

    @cached_property
    def symbol(self) -> JsonDocument:
        return self.json(self.model_file("Symbol"))

    @cached_property
    def graph_issues(self) -> list[graph_structure.GraphIssue]:
        """Structural problems found without MXNet; any of them keeps MXNet off the graph."""
        if not self.symbol.ok:
            return []
        return graph_structure.check_graph_structure(self.symbol.value)

    @cached_property
    def operator_issues(self) -> list[AttrIssue]:
        """Operators MXNet 1.9.1 does not register and attributes it refuses, from its own
        registry (no MXNet needed); any of them keeps MXNet off the graph too."""
        from mar_lint.shapes.op_registry import check_graph_operators

        if not self.symbol.ok or self.graph_issues:
            return []
        document = self.symbol.value
        return check_graph_operators(document, graph_structure.saved_version(document))

    @cached_property
    def _native_inference(self) -> Inference | None:
        """The native engine's inference of the graph with the signature's input shapes, run
        once for `graph` and `node_shapes` alike; None when the settings ask for MXNet or there
        is no structurally sound graph."""
        symbol = self.symbol.parsed
        if self.settings.engine != "native" or symbol is None or self.graph_issues:
            return None
        from mar_lint.shapes.infer import infer

        return infer(symbol.value, self.input_shapes)

    @cached_property
    def graph(self) -> GraphAnalysis | None:
        """MXNet 1.9.1's view of the graph, or None when there is no structurally sound graph
        of operators MXNet knows.

        The native engine answers unless the settings ask for MXNet, or the graph uses an
        operator the engine does not model; then MXNet answers in the sandbox. Raises
        MXNetUnavailable when MXNet is needed and cannot be imported: the engine then reports
        the rule as skipped instead of passed.
        """
        symbol = self.symbol.parsed
        if symbol is None or self.graph_issues or self.operator_issues:
            return None
        member = symbol.member
        inference = self._native_inference
        if inference is not None:
            if not inference.unmodelled:
                return GraphAnalysis(
                    member=member,
                    input_shapes=self.input_shapes,
                    mxnet_version="1.9.1",
                    load_error=inference.load_error,
                    infer_error=inference.infer_error,
                    arguments=inference.arguments,
                    auxiliary_states=inference.auxiliary_states,
                    outputs=inference.outputs,
                    arg_shapes=dict(inference.arg_shapes),
                    aux_shapes=dict(inference.aux_shapes),
                    output_shapes=inference.output_shapes,
                    engine="native",
                )
            needs = f"the graph uses {', '.join(inference.unmodelled)}, which only MXNet can infer"
            if not mxnet_installed():
                raise GraphNotModelled(f"{needs}, and mxnet cannot be imported")
            try:
                return self._graph_from_mxnet(member)
            except MXNetUnavailable as exc:
                raise GraphNotModelled(f"{needs}, and {exc}") from None
        return self._graph_from_mxnet(member)

    def _mxnet_request(self, member: Member) -> dict[str, Any]:
        """The graph's text and the signature's input shapes, as MXNet's sandbox tasks
        ("graph", "internals") take them."""
        text = self.read(member, self.limits.max_json_bytes).decode("utf-8", "replace")
        shapes = {name: list(shape) for name, shape in self.input_shapes.items()}
        return {"symbol_json": text, "input_shapes": shapes}

    def _graph_from_mxnet(self, member: Member) -> GraphAnalysis:
        request = self._mxnet_request(member)
        import hashlib  # only MXNet's answers are memoised

        text, shapes = request["symbol_json"], request["input_shapes"]
        key = (hashlib.sha256(text.encode()).hexdigest(), json.dumps(shapes, sort_keys=True))
        answer = _graph_memo.get(key)
        if answer is None:
            try:
                answer = _graph_memo[key] = self.sandbox.run("graph", **request)
            except SandboxFailure as exc:
                # Not memoised: a crash or a timeout says as much about the limits and the
                # machine's load as about the graph.
                answer = {"failure": f"MXNet {exc}"}
        return GraphAnalysis(
            member=member,
            input_shapes=self.input_shapes,
            mxnet_version=answer.get("mxnet_version", ""),
            failure=answer.get("failure"),
            load_error=answer.get("load_error"),
            infer_error=answer.get("infer_error"),
            arguments=tuple(answer.get("arguments", ())),
            auxiliary_states=tuple(answer.get("auxiliary_states", ())),
            outputs=tuple(answer.get("outputs", ())),
            arg_shapes={k: _tuple(v) for k, v in answer.get("arg_shapes", {}).items()},
            aux_shapes={k: _tuple(v) for k, v in answer.get("aux_shapes", {}).items()},
            output_shapes=tuple(_tuple(s) for s in answer.get("output_shapes", ())),
        )

    @cached_property
    def node_shapes(self) -> NodeShapes | None:
        """The shape of every node output, for drawing the graph; None when there is no
        structurally sound graph. The native engine answers unless the settings ask for MXNet
        or the graph uses an operator it does not model; then MXNet does, in the sandbox."""
        symbol = self.symbol.parsed
        if symbol is None or self.graph_issues:
            return None
        inference = self._native_inference
        if inference is not None and not inference.unmodelled:
            outputs: dict[str, list[tuple[int, ...] | None]] = {}
            for node, _output, shape in inference.internals:
                outputs.setdefault(node, []).append(shape)
            return NodeShapes(outputs, inference.load_error or inference.infer_error)
        try:
            answer = self.sandbox.run("internals", **self._mxnet_request(symbol.member))
        except (SandboxFailure, MXNetUnavailable) as exc:
            return NodeShapes({}, f"no shapes: MXNet {exc}")
        outputs = {}
        for entry in answer.get("outputs", ()):
            outputs.setdefault(entry["node"], []).append(_tuple(entry["shape"]))
        return NodeShapes(outputs, answer.get("load_error") or answer.get("infer_error"))

    @cached_property
    def data_inputs(self) -> tuple[str, ...] | None:
        """The graph arguments MMS must feed: neither weights nor labels. Weights are the
        `arg:` entries of the params file; without a readable one, the arguments whose shapes
        the signature's inputs do not explain. None when the graph cannot tell."""
        graph = self.graph
        if graph is None or not graph.loaded:
            return None
        params = self.params if isinstance(self.params, ParamsIndex) else None
        if (params is None or not params.has_names) and graph.infer_error:
            return None
        saved = (
            {t.bare_name for t in params.tensors if t.prefix in (None, "arg")} if params else set()
        )
        # A weight the file lacks is still a weight when the signature's inputs give its shape
        # (MAR304 reports it missing), not a data input the signature leaves out.
        return tuple(
            a
            for a in graph.arguments
            if not is_label(a)
            and a not in saved
            and (a in self.input_shapes or not known_shape(graph.arg_shapes.get(a)))
        )

    @cached_property
    def saved_mxnet_version(self) -> Version | None:
        """The MXNet release that wrote the graph, from its own `attrs.mxnet_version`."""
        number = graph_structure.saved_version(self.symbol.value) if self.symbol.ok else None
        return version_from_int(number) if number is not None else None

    @cached_property
    def graph_dtypes(self) -> dict[str, str]:
        """Graph variable -> the dtype its `__dtype__` attribute declares (Gluon exports set
        it; "float32", "float16", ...)."""
        return declared_dtypes(self.symbol.value) if self.symbol.ok else {}

    @cached_property
    def class_count(self) -> ClassCount | None:
        """How many classes the model's first output has: the shape the graph infers, else
        the signature's. The graph counts only when it is inferred without MXNet or MXNet
        can be imported; None when neither tells."""
        try:
            graph = self.graph
        except MXNetUnavailable:
            graph = None
        if graph is not None and graph.loaded and not graph.infer_error and graph.output_shapes:
            shape = graph.output_shapes[0]
            if known_shape(shape) and len(shape) >= 2:
                return ClassCount(
                    shape[1], f"the graph's output {graph.outputs[0]} is {list(shape)}"
                )
        signature = self.signature.object
        outputs = signature.value.get("outputs") if signature else None
        first = outputs[0] if isinstance(outputs, list) and outputs else None
        if not isinstance(first, dict):
            return None
        dims = first.get("data_shape")
        if isinstance(dims, list) and len(dims) >= 2 and is_dimension(dims[1]) and dims[1] > 0:
            return ClassCount(
                dims[1], f"the signature's output {first.get('data_name')!r} is {dims}"
            )
        return None

    # -- service and assets ----------------------------------------------------------------

    @cached_property
    def service(self) -> ServiceSource | None:
        """The service file, parsed with `ast` (never imported); None without one."""
        member = self.model_file("Service")
        if member is None:
            return None
        # Service files are a few KiB; the syntax tree of a huge one takes gigabytes to build.
        limit = self.limits.max_service_bytes
        if member.size > limit:
            return ServiceSource(
                member.name,
                error=f"not checked: {member.size:,} bytes, too large for a service file "
                f"(mar-lint parses up to {limit:,}: max-service-bytes)",
            )
        try:
            source = self.read(member, limit)
        except MemberError as exc:
            return ServiceSource(member.name, unreadable=str(exc))
        tree = parse_service(source, member.name)
        if isinstance(tree, str):
            return ServiceSource(member.name, error=tree)
        return ServiceSource(member.name, tree=tree)

    @cached_property
    def service_selection(self) -> Selection | None:
        """What the target MMS release makes of the service file's classes: the candidates,
        the class it instantiates and why it fails, if it does; None when there is no parsed
        service file."""
        tree = self.service.tree if self.service else None
        if tree is None:
            return None
        return select(service_classes(tree), self.target_release)

    @cached_property
    def service_class(self) -> ChosenService | None:
        """The class the target MMS release instantiates, in which file, and whose stock
        methods it runs (`provider("_preprocess")`); None when the release picks none."""
        selection, service = self.service_selection, self.service
        if selection is None or selection.chosen is None or service is None:
            return None
        return ChosenService(service.member_name, selection.chosen, selection)

    @cached_property
    def labels(self) -> Labels:
        member = self.flattened().get(LABELS_FILE)
        if member is None:
            return Labels(None)
        try:
            text = self.read(member, self.limits.max_text_bytes).decode("utf-8", "replace")
        except MemberTooLarge as exc:
            # A limit that stops a check says so: silence would read as "labels are fine".
            return Labels(member.name, too_large=f"not checked: {exc} (max-text-bytes)")
        except MemberError as exc:
            return Labels(member.name, error=str(exc))
        return Labels(member.name, read_labels(text))

    # -- weights ---------------------------------------------------------------------------

    @cached_property
    def params(self) -> ParamsIndex | ParamsError | None:
        """The params file's tensor index, from one streaming pass over the member; for a
        remote archive read without --verify-crc, from header to header (payloads skipped).
        None when there is no params file, or its bytes could not be fetched."""
        if self._carried_params is not None:
            return self._carried_params
        member = self.model_file("Parameters")
        if member is None:
            return None
        # Its CRC-32 already checked, early and on every core (mar_lint.crc_pass): the
        # headers are read from header to header, as from a remote archive.
        checked = crc_held(self, member, may_defer=True)
        skip = checked or (self.source is not None and not self.source.verify_crc)
        try:
            seekable = self.seekable_stream(member) if skip else None
            if skip and seekable is None and member.compressed_size > self.limits.max_transfer // 2:
                return None  # compressed: only inflating the whole member reaches its headers
            with seekable or self.stream(member) as handle:
                index = read_params_index(
                    handle,
                    member.size,
                    max_tensors=self.limits.max_tensors,
                    seek_payloads=bool(seekable),
                )
        except ParamsError as exc:
            return exc
        except MemberUnavailable:
            return None  # the engine reports why reading stopped
        except (MemberError, zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            self.read_results[member.index] = str(exc)
            return ParamsError(f"cannot read the member: {exc}", 0)
        if checked or not seekable:
            self.read_results[member.index] = None  # read to its end: the CRC held
        return index

    @cached_property
    def weight_fit(self) -> WeightFit | None:
        """The params file's `arg:`/`aux:` entries against the weights and auxiliary states
        the graph needs with the signature's inputs; None when one side is unknown (no named
        index, no loaded graph, a Gluon-Imperative model, or inputs the graph lacks)."""
        index, graph = self.params, self.graph
        member = self.model_file("Parameters")
        if not isinstance(index, ParamsIndex) or not index.has_names or graph is None:
            return None
        if not graph.loaded or self.gluon_imperative:
            return None
        inputs = set(self.input_shapes)
        if member is None or not inputs or not inputs <= set(graph.arguments):
            return None  # the graph's data inputs are unknown: MAR201 or MAR204 reports it
        weights = tuple(a for a in graph.arguments if a not in inputs and not is_label(a))
        return fit_weights(member.name, index, graph, weights, self.graph_dtypes)

    # -- the container's names -------------------------------------------------------------

    @cached_property
    def read_failures(self) -> dict[int, str]:
        """Member index -> why the member failed its read to the end (CRC, size, a damaged
        stream), for every regular member mar-lint reads: the integrity pass. The members the
        model needs are read by their readers first, so no member is read twice; members
        `refusal` names (MAR004, MAR006) are not read, so not here."""
        self.manifest, self.signature, self.symbol, self.params  # noqa: B018
        results = self.verify()
        return {
            m.index: failure
            for m in self.files
            if (failure := results.get(m.index)) and not self.refusal(m)
        }

    @cached_property
    def junk(self) -> dict[int, container_facts.Junk]:
        """Member index -> the tool or system leftover it is part of (`__MACOSX/`, `*.pyc`),
        for every member that is one, referenced or not."""
        found = {m.index: container_facts.junk(m) for m in self.members}
        return {index: junk for index, junk in found.items() if junk is not None}

    @cached_property
    def name_clashes(self) -> list[container_facts.Clash]:
        """Names that unpack to one file (stored twice, equal once flattened, or equal but
        for case), or to different files with different tools."""
        return container_facts.name_clashes(self.members, self.files, self.layout, set(self.junk))


# Identical graphs with identical inputs (the same model in many archives) are analysed once.
# Only MXNet's answers are kept, never a sandbox failure.
_graph_memo: dict[tuple[str, str], dict[str, Any]] = {}


def _tuple(shape: list[int] | None) -> tuple[int, ...] | None:
    return None if shape is None else tuple(shape)
