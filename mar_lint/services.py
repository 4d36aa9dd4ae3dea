"""The service file as MMS sees it: its classes, the one MMS instantiates, and which of MMS's
own methods that class runs.

The file is parsed with `ast`, never imported or run: the class MMS would pick is worked out
from the class statements and imports alone (mms-loader.md, "service class").
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field

# MMS's service classes and their parents (`mms/model_service/`). The Gluon ones exist from
# MMS 0.4 on.
MMS_CLASSES = {
    "ModelService": None,
    "SingleNodeService": "ModelService",
    "MXNetBaseService": "SingleNodeService",
    "MXNetVisionService": "MXNetBaseService",
    "GluonImperativeBaseService": "SingleNodeService",
    "GluonVisionService": "GluonImperativeBaseService",
}
# The request methods each of MMS's classes defines itself (MMS 0.4 `model_service/`).
MMS_METHODS = {
    "ModelService": frozenset(),
    "SingleNodeService": frozenset({"_preprocess", "_inference", "_postprocess"}),
    "MXNetBaseService": frozenset({"_preprocess", "_inference", "_postprocess"}),
    "MXNetVisionService": frozenset({"_preprocess", "_postprocess"}),
    "GluonImperativeBaseService": frozenset({"_preprocess", "_inference", "_postprocess"}),
    "GluonVisionService": frozenset({"_preprocess", "_inference", "_postprocess"}),
}
# The selection compares every pair of classes; a service module defines a few.
MAX_CLASSES = 1_000


@dataclass(frozen=True)
class ServiceClass:
    """A class name bound at the top level of the service module: defined there, or one of
    MMS's classes imported into it (`inspect.getmembers` sees both)."""

    name: str
    defined: bool
    lineage: frozenset[str]  # every class it is or derives from: its own and MMS's names
    bases: tuple[str, ...] = ()  # its direct parents, in order
    methods: frozenset[str] = frozenset()  # names its own body binds
    # methods whose body only returns the parent's result (`return super()._preprocess(d)`):
    # they run the inherited code, so they do not override it
    delegating: frozenset[str] = frozenset()
    line: int | None = None


@dataclass(frozen=True)
class Selection:
    """What one MMS release makes of the module's classes."""

    release: str
    candidates: tuple[ServiceClass, ...]  # the classes that release considers
    chosen: ServiceClass | None  # the class it instantiates; None when it fails
    problem: str | None  # why it fails or picks the wrong class
    classes: dict[str, ServiceClass] = field(default_factory=dict, compare=False)

    def provider(self, method: str) -> str | None:
        """The MMS class whose `method` the chosen class runs, following Python's method
        order; None when the service's own code (or a class mar-lint cannot see) defines it."""
        if self.chosen is None:
            return None
        for name in method_order(self.classes, self.chosen.name):
            if name == "object":
                continue
            own = self.classes.get(name)
            if own is not None and own.defined:
                if method in own.methods and method not in own.delegating:
                    return None
            elif name in MMS_METHODS:
                if method in MMS_METHODS[name]:
                    return name
            else:
                return None  # a class from elsewhere may define it: no claim
        return None


@dataclass(frozen=True)
class ChosenService:
    """The class an MMS release instantiates, the file it is in, and what it inherits."""

    member_name: str | None  # the service file
    chosen: ServiceClass
    selection: Selection

    @property
    def name(self) -> str:
        return self.chosen.name

    @property
    def line(self) -> int | None:
        """Where the class statement is; None for a class imported from MMS."""
        return self.chosen.line

    def provider(self, method: str) -> str | None:
        """The MMS class whose `method` the chosen class runs (see `Selection.provider`)."""
        return self.selection.provider(method)


@dataclass(frozen=True)
class ServiceSource:
    """The service file the manifest (or the convention) names, parsed once."""

    member_name: str | None
    tree: ast.Module | None = None
    error: str | None = None  # too large, or not valid Python 3
    unreadable: str | None = None  # the member cannot be read (MAR002/MAR004 say why)


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


def _own_methods(node: ast.ClassDef) -> tuple[frozenset[str], frozenset[str]]:
    """The names a class body binds, and those of them that only delegate to the parent."""
    methods, delegating = set(), set()
    for item in top_level(node.body):
        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
            methods.add(item.name)
            if _delegates(item):
                delegating.add(item.name)
        elif isinstance(item, ast.Assign):
            methods.update(t.id for t in item.targets if isinstance(t, ast.Name))
        elif isinstance(item, (ast.AnnAssign, ast.AugAssign)) and isinstance(item.target, ast.Name):
            methods.add(item.target.id)
    return frozenset(methods), frozenset(delegating)


def _delegates(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """`return super(...).same_name(...)` or `return Base.same_name(self, ...)`, alone
    (after a docstring)."""
    body = function.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    if len(body) != 1 or not isinstance(body[0], ast.Return):
        return False
    call = body[0].value
    if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Attribute):
        return False
    target = call.func.value
    is_super = (
        isinstance(target, ast.Call) and isinstance(target.func, ast.Name)
    ) and target.func.id == "super"
    return call.func.attr == function.name and (is_super or isinstance(target, ast.Name))


def service_classes(tree: ast.Module) -> dict[str, ServiceClass]:
    """Every service class bound at the module's top level, with what it derives from."""
    parents: dict[str, list[str]] = {}
    defined: dict[str, ast.ClassDef] = {}
    for node in top_level(tree.body):
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if alias.name in MMS_CLASSES:
                    parents[alias.asname or alias.name] = [alias.name]
        elif isinstance(node, ast.ClassDef):
            # A class named after an MMS class (a copy of MMS's own module) stands for it.
            parents[node.name] = [b for b in map(base_name, node.bases) if b and b != node.name]
            defined[node.name] = node

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
                stock = MMS_CLASSES[current]  # MMS's own parent
                following = [stock] if stock else []
            pending.extend(following)
        return frozenset(found)

    classes = {}
    for name in parents:
        statement = defined.get(name)
        methods, delegating = _own_methods(statement) if statement else (frozenset(), frozenset())
        classes[name] = ServiceClass(
            name,
            statement is not None,
            lineage(name),
            tuple(parents[name]) if statement else (),
            methods,
            delegating,
            statement.lineno if statement else None,
        )
    return classes


def method_order(classes: dict[str, ServiceClass], name: str) -> list[str]:
    """Where Python looks a method up, for the class `name`: depth first, left to right,
    each class kept at its last place (what C3 gives for the hierarchies services use)."""
    order: list[str] = []
    pending = [name]
    budget = 16 + 4 * len(classes) * max(len(classes), 1)  # cycles end, not loop
    while pending and budget > 0:
        budget -= 1
        current = pending.pop()
        order.append(current)
        own = classes.get(current)
        if own is not None and own.defined:
            following = list(own.bases)
        else:
            stock = MMS_CLASSES.get(current)
            following = [stock] if stock else []
        pending.extend(reversed(following))
    return [n for i, n in enumerate(order) if n not in order[i + 1 :]]


def select(classes: dict[str, ServiceClass], release: str) -> Selection:
    """The class MMS `release` instantiates, following its selection code."""
    if len(classes) > MAX_CLASSES:  # the selection compares every pair of classes
        problem = (
            f"not checked: the module binds {len(classes):,} classes, more than mar-lint "
            f"examines ({MAX_CLASSES:,}); a service module defines a few"
        )
        return Selection(release, (), None, problem, {})
    root = "MXNetBaseService" if release in ("0.1.5", "0.2.0", "0.3.0") else "SingleNodeService"
    candidates = tuple(c for _, c in sorted(classes.items()) if root in c.lineage)
    own = [c for c in candidates if c.defined]

    def chose(chosen: ServiceClass | None, problem: str | None) -> Selection:
        return Selection(release, candidates, chosen, problem, classes)

    if not own:
        return chose(None, f"no class derives from {root}")
    if release == "0.1.5":  # "the overrided class is the last one", alphabetically
        chosen = candidates[-1]
        if not chosen.defined:
            return chose(
                chosen,
                f"MMS 0.1.5 instantiates the last candidate in alphabetical order, the imported "
                f"{chosen.name}, not {own[-1].name}: name your class so it sorts after "
                f"{chosen.name}",
            )
        return chose(chosen, None)
    if release == "1.0.0":  # the legacy loader takes the first class defined in the file
        chosen, leaves = own[0], _leaves(own)
        if leaves != [chosen]:
            return chose(
                chosen,
                "MMS 1.x's legacy loader instantiates the first class in alphabetical order, "
                f"{chosen.name}, of {', '.join(c.name for c in own)}",
            )
        return chose(chosen, None)
    leaves = _leaves(candidates)
    if len(leaves) != 1:
        names = ", ".join(c.name for c in leaves)
        return chose(
            None,
            f"{len(leaves)} classes derive from {root} with no subclass ({names}): MMS "
            f'{release} needs exactly one ("There should be one user defined service derived '
            'from ModelService.")',
        )
    return chose(leaves[0], None)


def _leaves(candidates: tuple[ServiceClass, ...] | list[ServiceClass]) -> list[ServiceClass]:
    """Classes no other candidate derives from (`cls.__subclasses__()` is empty)."""
    return [
        c
        for c in candidates
        if not any(c.name in other.lineage for other in candidates if other is not c)
    ]
