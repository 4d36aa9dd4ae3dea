"""Scaffold a built-in rule: `python scripts/new_rule.py MAR206 output-dtype`.

Appends a rule stub, with the docstring skeleton CONTRIBUTING.md describes, to the rule module
of its code family (rules/signature.py for MAR2xx, ...), and a test stub to that family's test
module; `--dry-run` prints both and writes nothing. Every TODO in the stubs is yours to fill
before the suite passes (the test stub fails until then). Then run
`python scripts/rules_table.py` for the README's rules table.
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CODE = re.compile(r"^MAR(\d)(\d\d)$")
NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")  # kebab-case, as registry.rule demands
# Code family -> (rule module, test module). 3xx: MAR301/302 are the graph, MAR303 on weights.
FAMILIES = {
    "0": ("container", "test_container"),
    "1": ("manifest", "test_manifest"),
    "2": ("signature", "test_signature"),
    "3": ("weights", "test_weights"),
    "4": ("service", "test_service"),
    "5": ("engine", "test_engine_rules"),
    "6": ("assets", "test_assets"),
}
GRAPH = ("graph", "test_graph_rules")
RULE_NAMES = ("rule", "Consequence", "Problem", "ModelView", "Iterator")
TEST_NAMES = ("ArchiveSpec", "check")

RULE_STUB = '''

@rule(
    "{code}",
    "{name}",
    "error",  # TODO: error, warning or info
    "TODO: what it reports, in one line, lower case, no full stop",
    consequence=Consequence.REFUSED,  # TODO: REFUSED, REQUESTS_FAIL, WRONG_ANSWERS, UNCHECKED_RISK
)
def {function}(view: ModelView) -> Iterator[Problem]:
    """Why it matters: TODO: what MMS does with such an archive (the MMS code it rests on,
    e.g. `mxnet_model_service.py`), and the harm to whoever deploys or calls the model.

    Example: TODO: one sentence on the case, then the offending input, indented:

        "TODO": "the offending JSON, manifest fragment, zip listing or service code"

    Fix: TODO: what to change, by hand. Add a `Repack:` paragraph (starting with safe,
    unsafe, or safe and unsafe) when the rule's problems carry a `Fix`.
    """
    yield from ()  # TODO: yield Problem(message, member=..., location=...) per finding
'''

TEST_STUB = '''

def test_{function}(tmp_path, mlp_model):
    """{code} {name}: TODO: the mistake, made in a real archive."""
    spec = ArchiveSpec(mlp_model, signature={{}})  # TODO: make the mistake
    result = check(spec.write(tmp_path / "m.model"))
    [finding] = result.only("{code}")
    assert finding["message"] == "TODO: the message the user sees"
    assert result.exit_code == 1
'''


def targets(code: str, family: str | None) -> tuple[str, str]:
    """(rule module, test module) for the code, or the family asked for."""
    if family is not None:
        found = [pair for pair in (*FAMILIES.values(), GRAPH) if pair[0] == family]
        if not found:
            raise SystemExit(f"no rule module rules/{family}.py (see FAMILIES in this script)")
        return found[0]
    hundreds, rest = code[3], code[4:]
    if hundreds == "3" and int(rest) <= 2:
        return GRAPH
    if hundreds not in FAMILIES:
        raise SystemExit(f"{code}: 9xx codes are the engine's own (mar_lint/registry.py)")
    return FAMILIES[hundreds]


def missing_names(source: str, names: tuple[str, ...]) -> list[str]:
    """The names a stub uses that the module neither imports nor defines."""
    bound = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            bound |= {alias.asname or alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            bound.add(node.name)
    return [name for name in names if name not in bound]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("code", help="MAR and three digits, e.g. MAR206")
    parser.add_argument("name", help="kebab-case, e.g. output-dtype")
    parser.add_argument("--family", help="the rules/ module, when the code's is not the one")
    parser.add_argument("--dry-run", action="store_true", help="print, write nothing")
    parser.add_argument("--root", type=Path, default=ROOT, help="the repository (for tests)")
    args = parser.parse_args(argv)
    code, name = args.code.upper(), args.name
    if not CODE.match(code) or not NAME.match(name):
        parser.error("the code is MAR and three digits, the name kebab-case (output-dtype)")
    rules = args.root / "rules"
    taken = [p.name for p in sorted(rules.glob("*.py")) if f'"{code}"' in p.read_text()]
    if taken:
        parser.error(f"{code} is already declared in rules/{taken[0]}")
    module, test_module = targets(code, args.family)
    function = name.replace("-", "_")
    rule_path, test_path = rules / f"{module}.py", args.root / "tests" / f"{test_module}.py"
    rule_text = RULE_STUB.format(code=code, name=name, function=function)
    test_text = TEST_STUB.format(code=code, name=name, function=function)
    notes = [
        f"{path.relative_to(args.root)}: import {', '.join(names)}"
        for path, names in (
            (rule_path, missing_names(rule_path.read_text(), RULE_NAMES)),
            (test_path, missing_names(test_path.read_text(), TEST_NAMES)),
        )
        if names
    ]
    for path, text in ((rule_path, rule_text), (test_path, test_text)):
        where = path.relative_to(args.root)
        if args.dry_run:
            print(f"--- would append to {where}:{text}")
        else:
            with path.open("a", encoding="utf-8") as out:
                out.write(text)
            print(f"appended {code} to {where}")
    for note in notes:
        print(f"to do: {note}")
    print("then: fill the TODOs, run `python scripts/rules_table.py` and the tests")
    return 0


if __name__ == "__main__":
    sys.exit(main())
