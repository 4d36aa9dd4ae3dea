"""MANIFEST.json: present, valid for the MMS release it targets, and pointing at real files."""

from __future__ import annotations

from collections.abc import Iterator

from mar_lint.archive import MANIFEST, unsafe_path_reason
from mar_lint.findings import Fix, Problem, SetJson
from mar_lint.manifests import validate
from mar_lint.model import ModelView
from mar_lint.registry import rule
from mar_lint.sandbox import SandboxFailure

CARRIED_SCHEMA = "manifest-schema.json"


@rule("MAR101", "manifest-missing", "error", "no MANIFEST.json, or it is not a JSON object")
def manifest_missing(view: ModelView) -> Iterator[Problem]:
    """MMS reads `MANIFEST.json` at the root of the archive to find the signature, the graph,
    the weights and the service; without it (or when it does not parse) the model does not
    load: "Failed to open manifest file".

    Fix: export the model again with `mxnet-model-export`, which writes the manifest, or add
    a manifest that is a JSON object with `Model`, `Engine`, `Model-Archive-Version` and
    `Model-Server` (see `mar-lint explore` on a working archive).
    """
    document = view.manifest
    if document.member is None:
        if view.get("MAR-INF/" + MANIFEST) is not None:
            yield Problem(
                "this is an MMS 1.x / TorchServe archive (MAR-INF/MANIFEST.json), not a legacy "
                ".model archive; mar-lint checks .model archives",
                member="MAR-INF/" + MANIFEST,
            )
            return
        elsewhere = [m.name for m in view.files if m.basename.lower() == MANIFEST.lower()]
        where = f" (found {', '.join(map(repr, elsewhere[:3]))} instead)" if elsewhere else ""
        yield Problem(f"no {MANIFEST} at the root of the archive{where}")
    elif document.error:
        yield Problem(f"{MANIFEST} cannot be read: {document.error}", member=document.member.name)
    elif not isinstance(document.value, dict):
        kind = type(document.value).__name__
        yield Problem(f"{MANIFEST} holds a JSON {kind}, not an object", member=document.member.name)


@rule(
    "MAR102",
    "manifest-schema",
    "error",
    "MANIFEST.json fails the schema of the MMS release it targets",
)
def manifest_schema(view: ModelView) -> Iterator[Problem]:
    """Each MMS release validates the manifest against its own schema and refuses the model
    when it fails; the schemas differ: 0.1.5 requires `License`, 0.2-0.4 a top-level numeric
    `Model-Server`, 0.4 no longer requires `Model.Symbol`/`Model.Parameters`, and MMS 1.x
    needs `Model.Service`. mar-lint checks against the release the manifest was written for,
    or the one given with `--mms-version`. When the archive carries its own
    `manifest-schema.json`, the manifest is checked against it too.

    Fix: add or correct the fields the message names (`mar-lint repack` fills those the
    archive determines), or target the release you deploy to with `--mms-version`.
    """
    if not view.manifest.ok or not isinstance(view.manifest.value, dict) or not view.mms_release:
        return
    release, why = view.mms_release
    member = view.manifest.member.name  # type: ignore[union-attr]
    for error in validate(view.manifest.value, release):
        yield Problem(
            f"fails the MMS {release} manifest schema at {error.pointer or '/'}: {error.message}",
            member=member,
            location=error.pointer,
            hint=f"checked against MMS {release} ({why}); --mms-version picks another release",
        )
    yield from _carried_schema(view, member)


def _carried_schema(view: ModelView, manifest: str) -> Iterator[Problem]:
    """Validate against the archive's own schema; hostile schemas run in the sandbox."""
    schema = view.json(view.in_root(CARRIED_SCHEMA))
    if schema.member is None:
        return
    if schema.error:
        yield Problem(f"{CARRIED_SCHEMA} cannot be read: {schema.error}", member=schema.member.name)
        return
    try:
        answer = view.sandbox.run("schema", instance=view.manifest.value, schema=schema.value)
    except SandboxFailure as exc:
        yield Problem(
            f"validating with {CARRIED_SCHEMA}: the validator {exc}", member=schema.member.name
        )
        return
    if "schema_error" in answer:
        yield Problem(
            f"{CARRIED_SCHEMA} is not a valid JSON Schema: {answer['schema_error']}",
            member=schema.member.name,
        )
    for error in answer.get("errors", []):
        yield Problem(
            f"fails the archive's own {CARRIED_SCHEMA} at {error['pointer'] or '/'}: {error['message']}",
            member=manifest,
            location=error["pointer"],
        )


@rule(
    "MAR103", "missing-reference", "error", "the manifest names a file that is not in the archive"
)
def missing_reference(view: ModelView) -> Iterator[Problem]:
    """MMS finds the signature, graph, weights and service through `Model.Signature`,
    `Model.Symbol`, `Model.Parameters` and `Model.Service`, matched as glob patterns against
    the archive's file names after it flattens folders away; each must match exactly one
    file, else "<X> file in model archive is inconsistent with manifest".

    Fix: name each file by its plain file name as stored in the archive (`mar-lint repack`
    corrects a reference when exactly one file of that kind is present).
    """
    manifest = view.root + MANIFEST
    gluon = view.model_entry.get("Model-Format") == "Gluon-Imperative"
    for reference in view.references.values():
        value = reference.value
        if not isinstance(value, str) or unsafe_path_reason(value):
            continue  # MAR102 reports the type, MAR003 the path
        where = {"member": manifest, "location": reference.pointer}
        if value == "":
            if not (gluon and reference.key in ("Symbol", "Parameters")):
                yield Problem(f"Model.{reference.key} is empty: it names no file", **where)
            continue
        if len(reference.matches) > 1:
            names = ", ".join(m.name for m in reference.matches[:5])
            yield Problem(
                f"Model.{reference.key} {value!r} matches {len(reference.matches)} files ({names}); "
                "MMS needs exactly one",
                **where,
            )
        elif not reference.matches:
            yield _unmatched(view, reference.key, value, where)


def _unmatched(view: ModelView, key: str, value: str, where: dict[str, str]) -> Problem:
    message = f"Model.{key} names {value!r}, which is not in the archive"
    if "/" in value:
        message += " (MMS drops folders when it unpacks: name the file by its base name)"
    candidate = view.model_file(key)
    if candidate is None:
        return Problem(message, **where)
    fix = Fix(
        f"set Model.{key} to {candidate.basename!r}",
        (SetJson(where["member"], where["location"], candidate.basename),),
    )
    return Problem(f"{message}; did you mean {candidate.basename!r}?", fix=fix, **where)
