"""The service file: does it parse, and will MMS find exactly one service class in it?

The file is parsed with `ast`, never imported or run: the class MMS would pick is worked out
from the class statements and imports alone.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from mar_lint.archive import MemberError, MemberTooLarge
from mar_lint.findings import Problem, json_pointer
from mar_lint.model import ModelView
from mar_lint.registry import rule

# MMS's service classes and their parents (`mms/model_service/`, §1.8). The Gluon ones exist
# from MMS 0.4 on.
MMS_CLASSES = {
    "ModelService": None,
    "SingleNodeService": "ModelService",
    "MXNetBaseService": "SingleNodeService",
    "MXNetVisionService": "MXNetBaseService",
    "GluonImperativeBaseService": "SingleNodeService",
    "GluonVisionService": "GluonImperativeBaseService",
}
VISION_CLASSES = ("MXNetVisionService", "GluonVisionService")
MAX_CLASSES = 1_000


@dataclass(frozen=True)
class ServiceClass:
    """A class name bound at the top level of the service module: defined there, or one of
    MMS's classes imported into it (`inspect.getmembers` sees both)."""

    name: str
    defined: bool
    lineage: frozenset[str]  # every class it is or derives from: its own and MMS's names


@dataclass(frozen=True)
class Selection:
    """What one MMS release makes of the module's classes."""

    release: str
    candidates: tuple[ServiceClass, ...]  # the classes that release considers
    chosen: ServiceClass | None  # the class it instantiates; None when it fails
    problem: str | None  # why it fails or picks the wrong class


@lru_cache(maxsize=1)  # MAR401, MAR402 and MAR601 parse the same file in turn
def parse_service(source: bytes, filename: str) -> ast.Module | str:
    """The module's syntax tree, or what is wrong with it (with line and column)."""
    try:
        return ast.parse(source, filename=filename)
    except SyntaxError as exc:
        column = f", column {exc.offset}" if exc.offset else ""
        where = f" (line {exc.lineno}{column})" if exc.lineno else ""
        return f"not valid Python 3: {exc.msg}{where}"
    except (ValueError, RecursionError, MemoryError) as exc:
        return f"not valid Python 3: {exc or type(exc).__name__}"


def service_tree(view: ModelView) -> ast.Module | str | None:
    """The parsed service file; its problem as text; None without one to read."""
    member = view.model_file("Service")
    if member is None:
        return None
    # Service files are a few KiB; the syntax tree of a huge one takes gigabytes to build.
    limit = view.limits.max_service_bytes
    try:
        source = view.read(member, limit)
    except MemberTooLarge:
        return (
            f"not checked: {member.size:,} bytes, too large for a service file (mar-lint "
            f"parses up to {limit:,}: max-service-bytes)"
        )
    except MemberError:
        return None  # MAR002 or MAR004 says why
    return parse_service(source, member.name)


def top_level(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Statements that bind module attributes: also those inside top-level if/try blocks, in
    source order. Iterative: a 2,000-branch `elif` chain nests 2,000 `If` nodes deep."""
    pending = list(reversed(body))
    while pending:
        node = pending.pop()
        yield node
        inner: list[ast.stmt] = []
        if isinstance(node, ast.If):
            inner = node.body + node.orelse
        elif isinstance(node, ast.Try):
            inner = (
                node.body
                + node.orelse
                + node.finalbody
                + [s for h in node.handlers for s in h.body]
            )
        pending.extend(reversed(inner))


def base_name(expression: ast.expr) -> str | None:
    """`Base` or `module.Base` -> "Base"."""
    if isinstance(expression, ast.Name):
        return expression.id
    if isinstance(expression, ast.Attribute):
        return expression.attr
    return None


def service_classes(tree: ast.Module) -> dict[str, ServiceClass]:
    """Every service class bound at the module's top level, with what it derives from."""
    parents: dict[str, list[str]] = {}
    defined = set()
    for node in top_level(tree.body):
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if alias.name in MMS_CLASSES:
                    parents[alias.asname or alias.name] = [alias.name]
        elif isinstance(node, ast.ClassDef):
            # A class named after an MMS class (a copy of MMS's own module) stands for it.
            parents[node.name] = [b for b in map(base_name, node.bases) if b and b != node.name]
            defined.add(node.name)

    def lineage(name: str) -> frozenset[str]:
        # Iterative: a chain of thousands of classes must not exhaust the interpreter's stack.
        found: set[str] = set()
        pending = [name]
        while pending:
            current = pending.pop()
            if current in found:
                continue
            found.add(current)
            following = parents.get(current, [])
            if following == [current] or (current not in parents and current in MMS_CLASSES):
                following = [MMS_CLASSES[current]] if MMS_CLASSES[current] else []  # MMS's own
            pending.extend(following)
        return frozenset(found)

    return {name: ServiceClass(name, name in defined, lineage(name)) for name in parents}


def select(classes: dict[str, ServiceClass], release: str) -> Selection:
    """The class MMS `release` instantiates, following its selection code (§1.8)."""
    root = "MXNetBaseService" if release in ("0.1.5", "0.2.0", "0.3.0") else "SingleNodeService"
    candidates = tuple(c for _, c in sorted(classes.items()) if root in c.lineage)
    own = [c for c in candidates if c.defined]
    if not own:
        return Selection(release, candidates, None, f"no class derives from {root}")
    if release == "0.1.5":  # "the overrided class is the last one", alphabetically
        chosen = candidates[-1]
        if not chosen.defined:
            return Selection(
                release,
                candidates,
                chosen,
                f"MMS 0.1.5 instantiates the last candidate in alphabetical order, the imported "
                f"{chosen.name}, not {own[-1].name}: name your class so it sorts after "
                f"{chosen.name}",
            )
        return Selection(release, candidates, chosen, None)
    if release == "1.0.0":  # the legacy loader takes the first class defined in the file
        chosen, leaves = own[0], _leaves(own)
        if leaves != [chosen]:
            return Selection(
                release,
                candidates,
                chosen,
                "MMS 1.x's legacy loader instantiates the first class in alphabetical order, "
                f"{chosen.name}, of {', '.join(c.name for c in own)}",
            )
        return Selection(release, candidates, chosen, None)
    leaves = _leaves(candidates)
    if len(leaves) != 1:
        names = ", ".join(c.name for c in leaves)
        return Selection(
            release,
            candidates,
            None,
            f"{len(leaves)} classes derive from {root} with no subclass ({names}): MMS "
            f'{release} needs exactly one ("There should be one user defined service derived '
            'from ModelService.")',
        )
    return Selection(release, candidates, leaves[0], None)


def _leaves(candidates: tuple[ServiceClass, ...] | list[ServiceClass]) -> list[ServiceClass]:
    """Classes no other candidate derives from (`cls.__subclasses__()` is empty)."""
    return [
        c
        for c in candidates
        if not any(c.name in other.lineage for other in candidates if other is not c)
    ]


def target_release(view: ModelView) -> str:
    return view.mms_release[0] if view.mms_release else "0.4.0"


def service_selection(view: ModelView) -> Selection | None:
    """What the target MMS release makes of the service file; None when it does not parse."""
    tree = service_tree(view)
    if not isinstance(tree, ast.Module):
        return None
    release = target_release(view)
    classes = service_classes(tree)
    if len(classes) > MAX_CLASSES:  # the selection compares every pair of classes
        problem = (
            f"not checked: the module binds {len(classes):,} classes, more than mar-lint "
            f"examines ({MAX_CLASSES:,}); a service module defines a few"
        )
        return Selection(release, (), None, problem)
    return select(classes, release)


def is_vision(selection: Selection | None) -> bool:
    chosen = selection.chosen if selection else None
    return chosen is not None and any(name in chosen.lineage for name in VISION_CLASSES)


@rule(
    "MAR401",
    "service-invalid",
    "error",
    "the service file is missing from the archive or is not valid Python",
)
def service_invalid(view: ModelView) -> Iterator[Problem]:
    """MMS imports the service file named by `Model.Service` when it loads the model; a file
    that is not there or does not compile stops the model ("Incorrect or missing service
    file", or a raw traceback). mar-lint parses the file with Python's `ast` and never
    imports or runs it. MMS 0.x also ran on Python 2.7; mar-lint checks Python 3 syntax,
    which MMS 1.x and every supported Python need.

    Fix: correct the syntax error at the line and column given, or package the service file
    the manifest names.
    """
    member = view.model_file("Service")
    if member is None:
        if "Service" in view.references:
            return  # MAR102 or MAR103 reports the reference
        scripts = sorted(base for base in view.flattened() if base.endswith(".py"))
        if not scripts:
            yield Problem("the archive has no service .py file")
        else:
            yield Problem(
                f"{len(scripts)} .py files ({', '.join(scripts[:6])}) and the manifest names "
                "none as `Model.Service`"
            )
        return
    tree = service_tree(view)
    if isinstance(tree, str):
        yield Problem(tree, member=member.name, location=_line_column(tree))


def _line_column(problem: str) -> str | None:
    """'... (line 3, column 5)' -> '3:5', the way compilers point at source."""
    if "(line " not in problem:
        return None
    line, _, column = problem.rsplit("(line ", 1)[1].rstrip(")").partition(", column ")
    return f"{line}:{column}" if column else line


@rule(
    "MAR402",
    "service-class",
    "error",
    "MMS will not find exactly one service class, or a vision service lacks 4-D image inputs",
)
def service_class(view: ModelView) -> Iterator[Problem]:
    """MMS picks the service class by inheritance, not by name: MMS 0.2-0.4 take the one
    class deriving from `MXNetBaseService` (0.4: `SingleNodeService`) that nothing derives
    from, and fail when there are none or several ("There should be one user defined
    service derived from ModelService."); MMS 0.1.5 takes the last one in alphabetical
    order, imported MMS classes included; MMS 1.x's legacy loader the first class defined in
    the file. A copy of MMS's `mxnet_model_service.py` defines two such classes. A vision
    service (`MXNetVisionService`, `GluonVisionService`) resizes each JPEG to
    `data_shape[2:]` and feeds NCHW batches, so every input needs a 4-D shape.

    Fix: define exactly one class deriving (directly or through your own classes) from
    `MXNetBaseService`, `MXNetVisionService` or, on MMS 0.4, the Gluon services; give vision
    inputs shapes like `[0, 3, 224, 224]`.
    """
    member = view.model_file("Service")
    selection = service_selection(view)
    if member is None or selection is None:
        return
    if selection.problem:
        yield Problem(selection.problem, member=member.name)
    if is_vision(selection) and view.signature.ok and isinstance(view.signature.value, dict):
        inputs = view.signature.value.get("inputs")
        for index, entry in enumerate(inputs if isinstance(inputs, list) else []):
            shape = entry.get("data_shape") if isinstance(entry, dict) else None
            if isinstance(shape, list) and len(shape) != 4:
                yield Problem(
                    f"{selection.chosen.name} is a vision service, which resizes images to "  # type: ignore[union-attr]
                    f"data_shape[2:] and feeds NCHW batches: input {entry.get('data_name')!r} "
                    f"needs 4 dimensions like [0, 3, 224, 224], not "
                    f"{shape if len(shape) <= 8 else f'{len(shape):,} of them'}",
                    member=view.signature.member.name,  # type: ignore[union-attr]
                    location=json_pointer("inputs", index, "data_shape"),
                )
