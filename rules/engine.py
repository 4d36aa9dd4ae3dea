"""The MXNet release the archive declares, the one that saved its graph, and the target."""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from packaging.version import Version

from mar_lint.findings import Consequence, Fix, Problem, SetJson, Severity, json_pointer
from mar_lint.model import ModelView
from mar_lint.registry import rule
from mar_lint.versions import (
    installed_mxnet,
    int_from_version,
    parse_engine_version,
)

# MXNet < 1.0 cannot read node `attrs` written by 1.0+ ("Unknown field attrs", §4.2).
ATTRS_KEY_SINCE = Version("1.0.0")


class DeclaredEngine(NamedTuple):
    member: str  # the manifest
    value: object  # the raw `Engine.MXNet`
    version: Version | None  # it parsed as a version


def _engine(view: ModelView) -> DeclaredEngine | None:
    """The manifest's `Engine.MXNet`; None when Engine is no object."""
    manifest = view.manifest.object
    engine = manifest.value.get("Engine") if manifest else None
    if manifest is None or not isinstance(engine, dict):
        return None
    value = engine.get("MXNet")
    return DeclaredEngine(manifest.member.name, value, parse_engine_version(value))


def _target(view: ModelView) -> Version | None:
    """The MXNet the servers run: `--mxnet-version` (or the config), else the installed one."""
    if view.settings.mxnet_version:
        return Version(view.settings.mxnet_version)
    return installed_mxnet()


def _normalise(member: str, saved: Version | None) -> Fix | None:
    if saved is None:
        return None
    value = ["int", int_from_version(saved)]
    return Fix(
        f"set Engine.MXNet to {value} (the graph's own version)",
        (SetJson(member, json_pointer("Engine", "MXNet"), value),),
    )


@rule(
    "MAR501",
    "engine-version",
    "warning",
    "Engine.MXNet is missing or is not a version",
    consequence=Consequence.UNCHECKED_RISK,
)
def engine_version(view: ModelView) -> Iterator[Problem]:
    """Why it matters: `Engine.MXNet` records which MXNet the model needs. MMS releases wrote it as
    a number (0.12), a string ("1.1.0") or MXNet's own `["int", 10100]`; all are valid.
    Anything else leaves deployers guessing which MXNet to run, and MMS 1.x drops it. MMS 0.x
    itself never reads it, so it serves the model either way (a warning).

    Example: a manifest that names no version:

        "Engine": {"MXNet": "latest"}

    Fix: write the MXNet release the model was exported with, e.g. `"MXNet": "1.9.1"`.

    Repack: safe: it sets it from the version the graph itself records, when it does
    (`["int", 10901]` for MXNet 1.9.1).
    """
    engine = _engine(view)
    if engine is None:
        return  # no Engine object: MAR102 reports it
    member, value, version = engine
    if version is None:
        state = "is missing" if value is None else f"is {value!r}, which is not a version"
        yield Problem(
            f"Engine.MXNet {state}",
            member=member,
            location=json_pointer("Engine", "MXNet"),
            fix=_normalise(member, view.saved_mxnet_version),
        )


@rule(
    "MAR502",
    "engine-incompatible",
    "error",
    "the graph needs a newer MXNet than the target",
    consequence=Consequence.REFUSED,
)
def engine_incompatible(view: ModelView) -> Iterator[Problem]:
    """Why it matters: MXNet before 1.0 cannot read a 1.0+ graph at all ("Unknown field attrs"):
    MMS refuses it. A graph saved by a newer MXNet than the server runs loads with only a
    warning ("may cause undefined behavior"): the version number alone does not stop MXNet
    (the MMS oracle serves a graph stamped 2.0.0 on MXNet 1.9.1; an operator the target lacks
    is MAR301), so that case is a warning, a risk MMS does not check. The target is the
    installed mxnet, or the one given with `--mxnet-version`.

    Example: a graph saved by MXNet 1.9.1, checked with `--mxnet-version 1.2.0`:

        "attrs": {"mxnet_version": ["int", 10901]}

    Fix: export the model with the MXNet release the server runs, or upgrade the server's
    MXNet.
    """
    saved, target = view.saved_mxnet_version, _target(view)
    if target is None:
        return
    member = view.symbol.member.name if view.symbol.member else None
    if view.symbol.ok and _has_attrs_key(view.symbol.value) and target < ATTRS_KEY_SINCE:
        yield Problem(
            f"the graph uses the `attrs` node key of MXNet 1.0+; MXNet {target} cannot read it",
            member=member,
        )
    elif saved and saved > target:
        yield Problem(
            f"the graph was saved by MXNet {saved}, newer than the target MXNet {target}",
            member=member,
            severity=Severity.WARNING,
            consequence=Consequence.UNCHECKED_RISK,
        )


@rule(
    "MAR503",
    "engine-declared",
    "warning",
    "Engine.MXNet names a newer MXNet than the target, or an older one than saved the graph",
    consequence=Consequence.UNCHECKED_RISK,
)
def engine_declared(view: ModelView) -> Iterator[Problem]:
    """Why it matters: `Engine.MXNet` is the MXNet the model was built for; MMS never reads it.
    Declared newer than the MXNet the servers run (`--mxnet-version`, else the installed one),
    the model may need operators or behaviour that MXNet lacks, which no check of the graph
    alone proves; declared older than the release that saved the graph, it misleads whoever
    picks the server's MXNet.

    Example: checked with `--mxnet-version 1.2.0`:

        "Engine": {"MXNet": "1.9.1"}

    Fix: run the declared MXNet on the servers, or export the model with theirs.

    Repack: safe: it corrects `Engine.MXNet` from the graph's own version (when the graph
    records one and the target is not older).
    """
    engine = _engine(view)
    declared = engine.version if engine else None
    if engine is None or declared is None:
        return
    saved, target, member = view.saved_mxnet_version, _target(view), engine.member
    where = json_pointer("Engine", "MXNet")
    if saved and saved > declared:
        yield Problem(
            f"the graph was saved by MXNet {saved}, but Engine.MXNet declares {declared}",
            member=member,
            location=where,
            fix=_normalise(member, saved),
        )
    if target is not None and declared > target:
        yield Problem(
            f"Engine.MXNet declares {declared}, newer than the target MXNet {target}",
            member=member,
            location=where,
            fix=_normalise(member, saved) if saved and saved <= target else None,
        )


def _has_attrs_key(doc: object) -> bool:
    nodes = doc.get("nodes") if isinstance(doc, dict) else None
    return isinstance(nodes, list) and any(isinstance(n, dict) and "attrs" in n for n in nodes)
