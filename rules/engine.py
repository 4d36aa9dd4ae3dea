"""The MXNet release the archive declares, the one that saved its graph, and the target."""

from __future__ import annotations

from collections.abc import Iterator

from packaging.version import Version

from mar_lint import graph as graph_structure
from mar_lint.findings import Fix, Problem, SetJson, Severity, json_pointer
from mar_lint.model import ModelView
from mar_lint.registry import rule
from mar_lint.versions import (
    installed_mxnet,
    int_from_version,
    parse_engine_version,
    version_from_int,
)

# MXNet < 1.0 cannot read node `attrs` written by 1.0+ ("Unknown field attrs", §4.2).
ATTRS_KEY_SINCE = Version("1.0.0")


def _engine(view: ModelView) -> tuple[object, Version | None] | None:
    """(the raw `Engine.MXNet` value, its parsed version); None when Engine is no object."""
    manifest = view.manifest.value if view.manifest.ok else None
    engine = manifest.get("Engine") if isinstance(manifest, dict) else None
    if not isinstance(engine, dict):
        return None
    value = engine.get("MXNet")
    return value, parse_engine_version(value)


def _saved_by(view: ModelView) -> Version | None:
    """The MXNet release that wrote the graph, from the graph's own `mxnet_version`."""
    number = graph_structure.saved_version(view.symbol.value) if view.symbol.ok else None
    return version_from_int(number) if number is not None else None


def _normalise(view: ModelView, saved: Version | None) -> Fix | None:
    if saved is None:
        return None
    value = ["int", int_from_version(saved)]
    member = view.manifest.member.name  # type: ignore[union-attr]
    return Fix(
        f"set Engine.MXNet to {value} (the graph's own version)",
        (SetJson(member, json_pointer("Engine", "MXNet"), value),),
    )


@rule("MAR501", "engine-version", "error", "Engine.MXNet is missing or is not a version")
def engine_version(view: ModelView) -> Iterator[Problem]:
    """`Engine.MXNet` records which MXNet the model needs. MMS releases wrote it as a number
    (0.12), a string ("1.1.0") or MXNet's own `["int", 10100]`; all are valid. Anything else
    leaves deployers guessing which MXNet to run, and MMS 1.x drops it.

    Fix: `mar-lint repack` sets it from the version recorded in the graph itself.
    """
    engine = _engine(view)
    if engine is None:
        return  # no Engine object: MAR102 reports it
    value, version = engine
    member = view.manifest.member.name  # type: ignore[union-attr]
    if version is None:
        state = "is missing" if value is None else f"is {value!r}, which is not a version"
        yield Problem(
            f"Engine.MXNet {state}",
            member=member,
            location=json_pointer("Engine", "MXNet"),
            fix=_normalise(view, _saved_by(view)),
        )


@rule(
    "MAR502",
    "engine-incompatible",
    "error",
    "the graph needs a newer MXNet than declared or targeted",
)
def engine_incompatible(view: ModelView) -> Iterator[Problem]:
    """A graph saved by a newer MXNet than the server runs loads with only a warning ("may
    cause undefined behavior") and then fails on the weights; MXNet before 1.0 cannot read a
    1.0+ graph at all ("Unknown field attrs"). The target is the installed mxnet, or the one
    given with `--mxnet-version`. An `Engine.MXNet` older than the graph's own version is
    misleading metadata (a warning).

    Fix: export the model with the MXNet release the server runs, or upgrade the server's
    MXNet; `mar-lint repack` corrects `Engine.MXNet` from the graph.
    """
    saved = _saved_by(view)
    engine = _engine(view)
    declared = engine[1] if engine else None
    member = view.symbol.member.name if view.symbol.member else None
    if saved and declared and saved > declared:
        yield Problem(
            f"the graph was saved by MXNet {saved}, but Engine.MXNet declares {declared}",
            member=view.manifest.member.name,  # type: ignore[union-attr]
            location=json_pointer("Engine", "MXNet"),
            severity=Severity.WARNING,
            fix=_normalise(view, saved),
        )
    target = (
        Version(view.settings.mxnet_version) if view.settings.mxnet_version else installed_mxnet()
    )
    if target is None:
        return
    uses_attrs = view.symbol.ok and _has_attrs_key(view.symbol.value)
    if saved and saved > target:
        yield Problem(
            f"the graph was saved by MXNet {saved}, newer than the target MXNet {target}",
            member=member,
        )
    elif uses_attrs and target < ATTRS_KEY_SINCE:
        yield Problem(
            f"the graph uses the `attrs` node key of MXNet 1.0+; MXNet {target} cannot read it",
            member=member,
        )
    elif declared and declared > target and not saved:
        yield Problem(
            f"Engine.MXNet declares {declared}, newer than the target MXNet {target}",
            member=view.manifest.member.name,  # type: ignore[union-attr]
            location=json_pointer("Engine", "MXNet"),
            severity=Severity.WARNING,
        )


def _has_attrs_key(doc: object) -> bool:
    nodes = doc.get("nodes") if isinstance(doc, dict) else None
    return isinstance(nodes, list) and any(isinstance(n, dict) and "attrs" in n for n in nodes)
