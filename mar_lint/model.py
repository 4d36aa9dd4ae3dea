"""The model inside an archive: manifest, references, signature, graph and weights.

`ModelView` is what every rule receives. It adds to the archive view the facts several rules
share, each worked out once per archive on first use: a rule that never asks for the graph
never starts MXNet. Shapes come from the native engine (`mar_lint.shapes`) unless the settings
ask for MXNet itself (`engine = "mxnet"`).
"""

from __future__ import annotations

import fnmatch
import hashlib
import importlib.util
import json
import posixpath
import zipfile
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.version import Version

from mar_lint import graph_structure
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
from mar_lint.findings import json_pointer
from mar_lint.manifests import detect_release, release_for
from mar_lint.params import ParamsError, ParamsIndex, read_params_index
from mar_lint.sandbox import MXNetUnavailable, Sandbox, SandboxFailure
from mar_lint.services import (
    Selection,
    ServiceSource,
    parse_service,
    select,
    service_classes,
)
from mar_lint.versions import version_from_int

LABELS_FILE = "synset.txt"  # the one name MMS reads labels from (mms-loader.md, init)
DEFAULT_RELEASE = "0.4.0"  # the release assumed when nothing says which

if TYPE_CHECKING:
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


def known_shape(shape: tuple[int, ...] | None) -> bool:
    """Shapes MXNet could not infer come back empty or with 0 dimensions."""
    return bool(shape) and all(dim > 0 for dim in shape)  # type: ignore[union-attr]


class ModelView(ArchiveView):
    def __init__(self, path: Path | ArchiveSource, settings: Settings, sandbox: Sandbox) -> None:
        super().__init__(path, settings.limits)
        self.settings = settings
        self.sandbox = sandbox

    # -- manifest --------------------------------------------------------------------------

    @cached_property
    def manifest(self) -> JsonDocument:
        member = self.in_root(MANIFEST)
        if member is None and self.kind == "folder" and (self.path / MANIFEST).is_dir():
            return JsonDocument(None, error=f"{MANIFEST} is a folder, not a file")
        return self.json(member)

    @cached_property
    def mms_release(self) -> tuple[str, str] | None:
        """The MMS release whose manifest schema applies, and why: the target given by the
        user, else the release the manifest was written for. None without a manifest object."""
        if self.settings.mms_version:
            return release_for(self.settings.mms_version), "the target MMS version"
        if self.manifest.ok and isinstance(self.manifest.value, dict):
            return detect_release(self.manifest.value)
        return None

    @property
    def target_release(self) -> str:
        """The MMS release the checks follow: the one detected or targeted, else 0.4."""
        return self.mms_release[0] if self.mms_release else DEFAULT_RELEASE

    @cached_property
    def model_entry(self) -> dict[str, Any]:
        """The manifest's `Model` object, or {} when there is none to read."""
        manifest = self.manifest.value if self.manifest.ok else None
        model = manifest.get("Model") if isinstance(manifest, dict) else None
        return model if isinstance(model, dict) else {}

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
        symbol, parameters, name = (
            self.model_entry.get(key) for key in ("Symbol", "Parameters", "Model-Name")
        )
        if not (isinstance(symbol, str) and isinstance(parameters, str) and isinstance(name, str)):
            return None
        prefix = posixpath.basename(symbol[: -len("-symbol.json")])
        return mms_checkpoint_params(prefix, parameters, name)

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
        signature = self.signature.value if self.signature.ok else None
        inputs = signature.get("inputs") if isinstance(signature, dict) else None
        shapes = {}
        for entry in inputs if isinstance(inputs, list) else []:
            if not isinstance(entry, dict) or not isinstance(entry.get("data_name"), str):
                continue
            shape = entry.get("data_shape")
            if isinstance(shape, list) and shape and all(is_dimension(d) for d in shape):
                shapes[entry["data_name"]] = tuple(max(int(d), 1) for d in shape)
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
    def graph(self) -> GraphAnalysis | None:
        """MXNet 1.9.1's view of the graph, or None when there is no structurally sound graph
        of operators MXNet knows.

        The native engine answers unless the settings ask for MXNet, or the graph uses an
        operator the engine does not model; then MXNet answers in the sandbox. Raises
        MXNetUnavailable when MXNet is needed and cannot be imported: the engine then reports
        the rule as skipped instead of passed.
        """
        if not self.symbol.ok or self.graph_issues or self.operator_issues:
            return None
        member = self.symbol.member
        assert member is not None
        if self.settings.engine == "native":
            from mar_lint.shapes.infer import infer

            inference = infer(self.symbol.value, self.input_shapes)
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
            if importlib.util.find_spec("mxnet") is None:
                raise GraphNotModelled(f"{needs}, and mxnet cannot be imported")
            try:
                return self._graph_from_mxnet(member)
            except MXNetUnavailable as exc:
                raise GraphNotModelled(f"{needs}, and {exc}") from None
        return self._graph_from_mxnet(member)

    def _graph_from_mxnet(self, member: Member) -> GraphAnalysis:
        shapes = {name: list(shape) for name, shape in self.input_shapes.items()}
        text = self.read(member, self.limits.max_json_bytes).decode("utf-8", "replace")
        key = (hashlib.sha256(text.encode()).hexdigest(), json.dumps(shapes, sort_keys=True))
        answer = _graph_memo.get(key)
        if answer is None:
            try:
                answer = _graph_memo[key] = self.sandbox.run(
                    "graph", symbol_json=text, input_shapes=shapes
                )
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
        if not self.symbol.ok or self.graph_issues:
            return None
        if self.settings.engine == "native":
            from mar_lint.shapes.infer import infer

            inference = infer(self.symbol.value, self.input_shapes)
            if not inference.unmodelled:
                outputs: dict[str, list[tuple[int, ...] | None]] = {}
                for node, _output, shape in inference.internals:
                    outputs.setdefault(node, []).append(shape)
                return NodeShapes(outputs, inference.load_error or inference.infer_error)
        member = self.symbol.member
        assert member is not None
        text = self.read(member, self.limits.max_json_bytes).decode("utf-8", "replace")
        shapes = {name: list(shape) for name, shape in self.input_shapes.items()}
        try:
            answer = self.sandbox.run("internals", symbol_json=text, input_shapes=shapes)
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
        """The class the target MMS release instantiates, and what it inherits; None when
        there is no parsed service file."""
        tree = self.service.tree if self.service else None
        if tree is None:
            return None
        return select(service_classes(tree), self.target_release)

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
        member = self.model_file("Parameters")
        if member is None:
            return None
        skip = self.source is not None and not self.source.verify_crc
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
        if not seekable:
            self.read_results[member.index] = None  # read to its end: the CRC held
        return index


# Identical graphs with identical inputs (the same model in many archives) are analysed once.
# Only MXNet's answers are kept, never a sandbox failure.
_graph_memo: dict[tuple[str, str], dict[str, Any]] = {}


def is_dimension(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _tuple(shape: list[int] | None) -> tuple[int, ...] | None:
    return None if shape is None else tuple(shape)
