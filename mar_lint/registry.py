"""Rules and how they come in.

A rule is a function from the model view to problems, wrapped by `@rule` with its code, its
kebab-case name, its default severity and a one-line summary; its docstring explains why it
matters and how to fix it (`mar-lint rule CODE` prints it). Rules come in through the
`mar_lint.rules` entry-point group, built-in ones included, so there is one way in: an entry
point names a module (every `Rule` it defines at its top level counts) or a single `Rule`.

The built-in rules fail closed: when a module of `mar_lint_rules` is not registered (a source
checkout on PYTHONPATH, a bundle without package metadata, an editable install older than a
new rule module) or does not import, `load_registry` raises `RulesUnavailable` instead of
returning a registry that would pass every archive.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Callable

from mar_lint.findings import Consequence, Problem, Severity

if TYPE_CHECKING:
    from mar_lint.model import ModelView

if sys.version_info >= (3, 10):
    from importlib.metadata import entry_points
else:  # pragma: no cover - Python 3.9
    from importlib.metadata import entry_points as _entry_points

    def entry_points(group: str):  # type: ignore[no-redef]
        return _entry_points().get(group, [])


ENTRY_POINT_GROUP = "mar_lint.rules"
BUILTIN_PACKAGE = "mar_lint_rules"  # the repository's rules/ folder, as installed
BUILT_IN_PREFIX = "MAR"  # mar-lint's own codes; plugins use their own prefix
# What a plugin rule that states no consequence predicts: a team's own policy, which MMS
# itself does not check.
PLUGIN_CONSEQUENCE = Consequence.UNCHECKED_RISK
CODE_PATTERN = re.compile(r"^[A-Z]{2,8}[0-9]{3,4}$")
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")

Check = Callable[["ModelView"], Iterable[Problem]]


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    severity: Severity
    summary: str
    doc: str
    check: Check | None  # None for the engine's own codes (9xx)
    needs_mxnet: bool = False
    on_unreadable: bool = False  # also runs when the file is not a readable archive
    origin: str = "mar-lint"  # the entry point (plugin) it came from
    # what MMS does with an archive this rule flags; None only for the engine's own codes
    consequence: Consequence | None = None

    @property
    def consequence_text(self) -> str:
        """The consequence as people read it; the engine's own codes are about mar-lint."""
        return self.consequence.text if self.consequence else "about mar-lint itself"


def rule(
    code: str,
    name: str,
    severity: Severity | str,
    summary: str,
    *,
    needs_mxnet: bool = False,
    on_unreadable: bool = False,
    consequence: Consequence | str | None = None,
) -> Callable[[Check], Rule]:
    """Declare a rule: `@rule("MAR201", "signature-invalid", "error", "...",
    consequence="refused")` over its check. Built-in (MAR) rules must state their
    consequence; a plugin rule that does not predicts a risk MMS does not check."""
    if not CODE_PATTERN.match(code):
        raise ValueError(f"rule code {code!r} must be 2-8 capitals and 3-4 digits, like MAR201")
    if not NAME_PATTERN.match(name):
        raise ValueError(f"rule name {name!r} must be kebab-case, like signature-invalid")
    if consequence is None:
        if code.startswith(BUILT_IN_PREFIX):
            choices = ", ".join(c.value for c in Consequence)
            raise ValueError(f"rule {code} must state its consequence, one of {choices}")
        consequence = PLUGIN_CONSEQUENCE

    def wrap(check: Check) -> Rule:
        doc = inspect.cleandoc(check.__doc__ or "")
        if not doc:
            raise ValueError(f"rule {code} has no docstring: say why it matters and how to fix it")
        return Rule(
            code,
            name,
            Severity(severity),
            summary,
            doc,
            check,
            needs_mxnet,
            on_unreadable,
            consequence=Consequence(consequence),
        )

    return wrap


# The engine's own findings, documented like rules so every code a user sees can be explained.
ENGINE_RULES = (
    Rule(
        "MAR901",
        "rule-crashed",
        Severity.ERROR,
        "a rule raised an exception; the other rules still ran",
        "Why it matters: a rule failed with an unexpected exception on this archive. This is\n"
        "a bug in the rule (or the plugin that provides it), not necessarily in the archive:\n"
        "report it with the archive if you can share it. The other rules ran and their\n"
        "findings stand.\n\n"
        "Example: a plugin rule that assumed every manifest has a `Model` object:\n\n"
        "    rule ACME101 (model-name-case) from acme (acme_mar_rules) raised KeyError:\n"
        "    'Model' (at acme_mar_rules.py:27)\n\n"
        "Fix: upgrade mar-lint or the plugin named in the message; until then, leave the rule\n"
        "out with `--ignore CODE`.",
        None,
    ),
    Rule(
        "MAR902",
        "mxnet-unavailable",
        Severity.INFO,
        "rules that need MXNet were skipped because mxnet cannot be imported",
        "Why it matters: the graph rules need the graph's inferred shapes.\n"
        "mar-lint's own engine infers them\n"
        "as MXNet 1.9.1 does, without MXNet; MXNet itself is needed only when `--engine mxnet`\n"
        '(or `engine = "mxnet"` in the configuration) asks for it, or when the graph uses an\n'
        "operator the engine does not model (a plugin op such as WarpCTC, a `Custom` op). If\n"
        "mxnet cannot be imported then, the rules that need it are skipped, and this finding\n"
        "lists them (and the operators) so a clean run is never mistaken for a pass.\n\n"
        "Example: `mar-lint check --engine mxnet model.model` where mxnet is not installed:\n\n"
        "    skipped MAR204, MAR205, MAR301, MAR302, MAR304: mxnet cannot be imported: No\n"
        "    module named 'mxnet'\n\n"
        "Fix: install the extra, `pip install 'mar-lint[mxnet]'` (mxnet 1.9.1 with numpy<1.24,\n"
        "on Python 3.11 or older), or drop `--engine mxnet`.",
        None,
    ),
    Rule(
        "MAR903",
        "plugin-failed",
        Severity.ERROR,
        "a rule plugin could not be loaded; the other rules still ran",
        "Why it matters: an entry point in the `mar_lint.rules` group failed to import or\n"
        "does not provide valid rules, so its rules did not run. The built-in rules and the\n"
        "other plugins still ran.\n\n"
        "Example: a plugin's entry point naming a module that is not installed:\n\n"
        "    plugin acme (acme_mar_rules): ModuleNotFoundError: No module named\n"
        "    'acme_mar_rules'\n\n"
        "Fix: reinstall or upgrade the plugin named in the message, or uninstall it.",
        None,
    ),
    Rule(
        "MAR904",
        "out-of-memory",
        Severity.ERROR,
        "mar-lint ran out of memory on the archive; its checks stopped there",
        "Why it matters: mar-lint runs under an address-space limit\n"
        "(the `memory` limit, 2 GiB by default), a\n"
        "backstop behind every size cap: an archive that still makes it allocate that much is\n"
        "hostile or far beyond what a model needs. The checks of that archive stopped; the\n"
        "findings made before stand, and the run went on to the next archive. The archive is\n"
        "never reported clean.\n\n"
        "Example: the finding, on an archive built to exhaust memory:\n\n"
        "    mar-lint ran out of memory on this archive (its limit: 2,048 MiB, the `memory`\n"
        "    limit): its checks stopped there; the other findings stand\n\n"
        "Fix: find what is oversized in the archive (`mar-lint explore`); raise\n"
        "`[limits] memory` only for archives you trust.",
        None,
    ),
    Rule(
        "MAR910",
        "remote-unverified",
        Severity.INFO,
        "a remote archive was checked without reading every byte; the finding says what",
        "Why it matters: a remote check reads only what the rules need\n"
        "(the zip directory, the JSON members,\n"
        "the service file, the params headers), so a 550 MB archive costs well under 1 MB.\n"
        "The CRC-32 of the members no rule read, and the weights between the params headers,\n"
        "were not verified: damage there goes unseen. The finding also says when a server\n"
        "ignored range requests and the archive was downloaded whole.\n\n"
        "Example: `mar-lint check https://models.example.com/resnet-18.model`:\n\n"
        "    the CRC-32 of 2 of 6 members (46,839,420 bytes) was not verified; the weights\n"
        "    were read from header to header, their payloads skipped\n\n"
        "Fix: nothing, if that is enough; `--verify-crc` reads every byte once.",
        None,
    ),
    Rule(
        "MAR911",
        "remote-read-failed",
        Severity.ERROR,
        "reading a remote archive stopped: transfer limit, timeout, server error or truncation",
        "Why it matters: the archive could not be read to the end of what the rules need:\n"
        "the --max-transfer\n"
        "limit was reached (a hostile or huge archive), the server stopped answering within\n"
        "--timeout, answered with an error, or cut a response short. The rules that needed the\n"
        "missing bytes could not run, so the archive is not known to be good.\n\n"
        "Example: an archive whose members lie past the transfer limit:\n\n"
        "    reading stopped: the --max-transfer limit of 64.0 MiB was reached (moved 63.9 MiB;\n"
        "    the next read needs 1.0 MiB more)\n\n"
        "Fix: raise `--max-transfer` or `--timeout` if the archive is large or the link slow;\n"
        "otherwise fix the server or check a local copy.",
        None,
    ),
)


@dataclass(frozen=True)
class PluginFailure:
    origin: str
    message: str


@dataclass(frozen=True)
class Registry:
    rules: tuple[Rule, ...]
    failures: tuple[PluginFailure, ...] = ()

    def get(self, code: str) -> Rule | None:
        return next((r for r in self.rules if r.code == code), None)


class RulesUnavailable(Exception):
    """The built-in rules cannot all be loaded: checking would pass archives it never judged."""


def defined_in(rule: Rule, module: ModuleType) -> bool:
    """Whether the rule's check is defined in `module` or one of its submodules."""
    defining = getattr(rule.check, "__module__", None) or ""
    return defining == module.__name__ or defining.startswith(module.__name__ + ".")


def rules_in(target: object, origin: str) -> Iterator[tuple[Rule, bool]]:
    """The rules an entry point provides (a Rule, or every Rule at a module's top level),
    each with whether the module defines it (False: imported from another module)."""
    if isinstance(target, Rule):
        yield target, True
    elif isinstance(target, ModuleType):
        for value in vars(target).values():
            if isinstance(value, Rule):
                yield value, defined_in(value, target)
    else:
        raise TypeError(f"{origin} points at {type(target).__name__}, not a module or a Rule")


def builtin_modules() -> set[str]:
    """The built-in rule modules that are there to load (not what the metadata says)."""
    try:
        package = importlib.import_module(BUILTIN_PACKAGE)
    except ImportError as exc:
        raise RulesUnavailable(
            f"the built-in rules ({BUILTIN_PACKAGE}) cannot be imported: {exc}"
        ) from exc
    return {
        f"{BUILTIN_PACKAGE}.{found.name}"
        for found in pkgutil.iter_modules(package.__path__)
        if not found.name.startswith("_")
    }


def check_builtins_loaded(loaded: set[str], failures: list[PluginFailure]) -> None:
    """Raise RulesUnavailable unless every built-in rule module loaded through its entry point."""
    expected = builtin_modules()
    if not expected:
        raise RulesUnavailable(f"the built-in rules ({BUILTIN_PACKAGE}) hold no rule modules")
    missing = sorted(expected - loaded)
    if not missing:
        return
    why = [f.message for f in failures if f.origin.endswith(tuple(f"({m})" for m in missing))]
    if why:
        raise RulesUnavailable(f"built-in rules failed to load: {'; '.join(why)}")
    raise RulesUnavailable(
        f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not registered in the "
        f"`{ENTRY_POINT_GROUP}` entry points of the installed package metadata "
        f"({len(loaded)} of {len(expected)} built-in rule modules loaded): the metadata is "
        "missing or older than the code"
    )


def load_registry() -> Registry:
    """Every rule from every entry point; a plugin that fails is recorded, not fatal. Raises
    RulesUnavailable when a built-in rule module is not registered or fails to load."""
    found: dict[str, Rule] = {r.code: r for r in ENGINE_RULES}
    failures: list[PluginFailure] = []
    loaded_builtins: set[str] = set()
    provided: list[tuple[str, Rule, bool]] = []
    for entry in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        origin = f"{entry.name} ({entry.value})"
        try:
            provided.extend((origin, *item) for item in rules_in(entry.load(), origin))
        except Exception as exc:  # noqa: BLE001 - any import-time failure of third-party code
            failures.append(PluginFailure(origin, f"{type(exc).__name__}: {exc}"))
            continue
        if entry.value.startswith(BUILTIN_PACKAGE + "."):
            loaded_builtins.add(entry.value.split(":")[0].strip())
    # Rules where they are defined first: a rule one module imports from another registers
    # once, from its own module; the importing module's copy is the same rule, passed over.
    for origin, item, own in sorted(provided, key=lambda provision: not provision[2]):
        existing = found.get(item.code)
        if existing is not None and not own and existing.check is item.check:
            continue  # the same rule, imported by another module
        if existing is not None:
            message = f"{item.code} is already provided by {existing.origin}"
            failures.append(PluginFailure(origin, message))
            continue
        found[item.code] = dataclasses.replace(item, origin=origin)
    check_builtins_loaded(loaded_builtins, failures)
    return Registry(tuple(sorted(found.values(), key=lambda r: r.code)), tuple(failures))
