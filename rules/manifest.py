"""MANIFEST.json: present, valid for the MMS release it targets, and pointing at real files."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from typing import Any

from mar_lint.archive import MANIFEST, unsafe_path_reason
from mar_lint.findings import (
    Consequence,
    Fix,
    Problem,
    RemoveMember,
    SetJson,
    Severity,
    json_pointer,
)
from mar_lint.manifests import validate
from mar_lint.model import CARRIED_SCHEMA, REFERENCE_KEYS, ModelView, Reference
from mar_lint.registry import rule
from mar_lint.versions import int_from_version

# What each release's `mxnet-model-export` writes (formats.md §1.2).
MODEL_SERVER = {"0.1.5": 0.1, "0.2.0": 0.1, "0.3.0": 0.1, "0.4.0": 0.4}
ARCHIVE_VERSION = {"0.1.5": 0.1, "0.2.0": 0.1, "0.3.0": 0.1, "0.4.0": 0.2}
LICENSE_015 = "Apache 2.0"
PARAMS_NAME = re.compile(r"^(.+)-\d{4}\.params$")


@rule(
    "MAR101",
    "manifest-missing",
    "error",
    "no MANIFEST.json, or it is not a JSON object",
    consequence=Consequence.REFUSED,
)
def manifest_missing(view: ModelView) -> Iterator[Problem]:
    """Why it matters: MMS reads `MANIFEST.json` at the root of the archive to find the
    signature, the graph, the weights and the service; without it (or when it does not parse)
    the model does not load: "Failed to open manifest file".

    Example: a zip listing with everything but the manifest:

        signature.json
        resnet-18-symbol.json
        resnet-18-0000.params
        mxnet_vision_service.py

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
        if document.error != "missing":  # there, but no file: a folder
            yield Problem(document.error or "", hint="replace it with the manifest file")
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
    consequence=Consequence.REFUSED,
)
def manifest_schema(view: ModelView) -> Iterator[Problem]:
    """Why it matters: each MMS release validates the manifest against its own schema and
    refuses the model when it fails; the schemas differ: 0.1.5 requires `License`, 0.2-0.4 a
    top-level numeric `Model-Server`, 0.4 no longer requires `Model.Symbol`/`Model.Parameters`,
    and MMS 1.x needs `Model.Service`. mar-lint checks against the release the manifest was
    written for, or the one given with `--mms-version`. When the archive carries its own
    `manifest-schema.json`, the manifest is checked against it too.

    Example: a string where MMS 0.4's schema wants a number:

        {"Model-Server": "0.4", "Model-Archive-Version": 0.2, ...}

    Fix: add or correct the fields the message names (`"Model-Server": 0.4`), or target the
    release you deploy to with `--mms-version`.

    Repack: safe and unsafe: it fills the missing fields the archive determines: `Model-Name`
    from the file prefix, `Model-Format`, the file references, `Engine` from the graph, and
    `Model-Server`/`Model-Archive-Version` from the release (unsafe when the release is only
    guessed); `--unsafe-fixes` drops a carried `manifest-schema.json` the manifest fails (MMS
    validates with its own copy, never the archive's).
    """
    manifest = view.manifest.object
    if manifest is None or not view.mms_release:
        return
    release, why = view.mms_release
    member = manifest.member.name
    determined = _determined_fields(view, manifest.value, release)
    for error in validate(manifest.value, release):
        fix = None
        for (parent, key), (value, safe) in determined.items():
            if error.pointer == parent and error.message == f"{key!r} is a required property":
                pointer = parent + json_pointer(key)
                fix = Fix(f"set {pointer} to {value!r}", (SetJson(member, pointer, value),), safe)
        yield Problem(
            f"fails the MMS {release} manifest schema at {error.pointer or '/'}: {error.message}",
            member=member,
            location=error.pointer,
            hint=f"checked against MMS {release} ({why}); --mms-version picks another release",
            fix=fix,
        )
    yield from _carried_schema(view, member)


def _determined_fields(
    view: ModelView, manifest: dict[str, Any], release: str
) -> dict[tuple[str, str], tuple[Any, bool]]:
    """(parent pointer, key) -> (value, safe) for the manifest fields the archive determines.

    Release numbers are certain when the release is targeted or the manifest shows it;
    otherwise they are the detected release's guess (unsafe). A `License` is a legal claim,
    never safe, and offered only when MMS 0.1.5 is targeted.
    """
    shown = view.settings.mms_version or {"Model-Server", "Model-Archive-Version"} & set(manifest)
    fields: dict[tuple[str, str], tuple[Any, bool]] = {}
    if release in MODEL_SERVER:
        fields[("", "Model-Server")] = (MODEL_SERVER[release], bool(shown))
        fields[("", "Model-Archive-Version")] = (ARCHIVE_VERSION[release], bool(shown))
    if release == "0.1.5" and view.settings.mms_version:
        fields[("", "License")] = (LICENSE_015, False)
    saved = view.saved_mxnet_version
    if saved is not None:
        fields[("", "Engine")] = ({"MXNet": ["int", int_from_version(saved)]}, True)
    if not isinstance(manifest.get("Model"), dict):
        return fields
    files = {key: view.model_file(key) for key in REFERENCE_KEYS}
    fields.update(
        {("/Model", key): (m.basename, True) for key, m in files.items() if m is not None}
    )
    if files["Symbol"] is not None:
        fields[("/Model", "Model-Format")] = ("MXNet-Symbolic", True)
    prefixes = {
        m.basename[: -len("-symbol.json")]
        for m in files.values()
        if m and m.basename.endswith("-symbol.json")
    }
    prefixes |= {
        found.group(1) for m in files.values() if m and (found := PARAMS_NAME.match(m.basename))
    }
    if len(prefixes) == 1:
        fields[("/Model", "Model-Name")] = (prefixes.pop(), True)
    return fields


def _carried_schema(view: ModelView, manifest: str) -> Iterator[Problem]:
    """The manifest against the schema the archive carries (validated in the sandbox)."""
    verdict = view.carried_schema
    if verdict is None:
        return
    schema = verdict.member
    if verdict.unreadable:
        yield Problem(f"{CARRIED_SCHEMA} cannot be read: {verdict.unreadable}", member=schema)
        return
    if verdict.failure:
        yield Problem(
            f"validating with {CARRIED_SCHEMA}: the validator {verdict.failure}", member=schema
        )
        return
    # MMS never reads the archive's copy of its schema; dropping it is a choice, not a repair.
    drop = Fix(f"remove {schema!r}", (RemoveMember(schema),), safe=False)
    if verdict.schema_error:
        yield Problem(
            f"{CARRIED_SCHEMA} is not a valid JSON Schema: {verdict.schema_error}",
            member=schema,
            fix=drop,
        )
    for error in verdict.errors:
        yield Problem(
            f"fails the archive's own {CARRIED_SCHEMA} at {error.pointer or '/'}: {error.message}",
            member=manifest,
            location=error.pointer,
            fix=drop,
        )


@rule(
    "MAR103",
    "missing-reference",
    "error",
    "the manifest names a file that is not in the archive",
    consequence=Consequence.REFUSED,
)
def missing_reference(view: ModelView) -> Iterator[Problem]:
    """Why it matters: MMS finds the signature, graph, weights and service through
    `Model.Signature`, `Model.Symbol`, `Model.Parameters` and `Model.Service`, matched as glob
    patterns against the archive's file names after it flattens folders away; each must match
    exactly one file, else "<X> file in model archive is inconsistent with manifest". For
    `Parameters` MMS only prints a warning and loads `<graph prefix>-<epoch>.params` anyway (it
    never opens the file named): when that file is there, the finding is a warning.

    Example: the manifest names a service the archive does not hold (it has `service.py`):

        "Model": {"Service": "mxnet_vision_service.py", ...}

    Fix: name each file by its plain file name as stored in the archive.

    Repack: safe: it corrects a reference when exactly one file of that kind is present.
    """
    for reference, message, fix in _reference_problems(view):
        problem = Problem(message, member=view.root + MANIFEST, location=reference.pointer, fix=fix)
        loaded = view.checkpoint_params if reference.key == "Parameters" else None
        if loaded is not None and loaded in view.flattened():
            # MMS only prints a warning about `Parameters` and never opens that file: it loads
            # the checkpoint by the graph's prefix, which is there.
            problem = dataclasses.replace(
                problem,
                message=f"{problem.message}; MMS only warns and loads {loaded}",
                severity=Severity.WARNING,
                consequence=Consequence.UNCHECKED_RISK,
            )
        yield problem


def _reference_problems(view: ModelView) -> Iterator[tuple[Reference, str, Fix | None]]:
    """(reference, message, fix) for each reference that matches no file or several."""
    gluon = view.gluon_imperative
    for reference in view.references.values():
        value, key, matches = reference.value, reference.key, reference.matches
        if not isinstance(value, str) or unsafe_path_reason(value):
            continue  # MAR102 reports the type, MAR003 the path
        if value == "":
            if not (gluon and key in ("Symbol", "Parameters")):
                yield reference, f"Model.{key} is empty: it names no file", None
        elif len(matches) > 1:
            names = ", ".join(m.name for m in matches[:5])
            message = f"Model.{key} {value!r} matches {len(matches)} files ({names})"
            yield reference, f"{message}; MMS needs exactly one", None
        elif not matches:
            yield reference, *_unmatched(view, reference, value)


def _unmatched(view: ModelView, reference: Reference, value: str) -> tuple[str, Fix | None]:
    message = f"Model.{reference.key} names {_shortened(value)}, which is not in the archive"
    if len(value) > view.limits.max_name_length:
        message += (
            f" (it is {len(value):,} characters long, over the {view.limits.max_name_length:,}"
            "-character limit on names: it was not matched)"
        )
    if "/" in value:
        message += " (MMS drops folders when it unpacks: name the file by its base name)"
    candidate = view.model_file(reference.key)
    if candidate is None:
        return message, None
    basename, manifest = candidate.basename, view.root + MANIFEST
    return f"{message}; did you mean {basename!r}?", Fix(
        f"set Model.{reference.key} to {basename!r}",
        (SetJson(manifest, reference.pointer, basename),),
    )


def _shortened(value: str, keep: int = 120) -> str:
    """`value` quoted, cut to `keep` characters: a reference may be megabytes long."""
    return (
        repr(value)
        if len(value) <= keep
        else repr(value[:keep]) + f"... ({len(value):,} characters)"
    )
