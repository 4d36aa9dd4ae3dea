"""Generate `mar_lint/shapes/mxnet_ops.json`: MXNet 1.9.1's own operator registry.

Regenerate (Python 3.11 with mxnet 1.9.1 installed, e.g. the repo's `.venv`):

    .venv/bin/python scripts/generate_mxnet_ops.py            # writes the file
    .venv/bin/python scripts/generate_mxnet_ops.py --check    # exit 1 if it would change

The output is deterministic: the same mxnet gives the same bytes.

Everything comes from libmxnet's C API, the way `mxnet/symbol/register.py` builds `mx.sym.*`:
`MXListAllOpNames` (every registered name, aliases included), `NNGetOpHandle` (an alias gets
its operator's handle) and `MXSymbolGetAtomicSymbolInfo` (canonical name, arguments and their
dmlc type strings, `key_var_num_args`). Arguments typed `NDArray-or-Symbol` (or `Symbol`,
`NDArray`, with `[]` when variadic) are the inputs; the rest are parameters.

What the C API does not say is how strictly an operator parses its attributes. That is
measured: each operator is loaded with `mx.sym.load_json` (the path MMS takes) as a one-node
graph, once with an attribute it does not declare and once per parameter with a value no typed
parameter accepts. `parser` records the outcome: "strict" (dmlc `Parameter::Init`: unknown
names and bad values are refused), "values" (values are parsed, unknown names ignored) or
"none" (attributes are never parsed at load). Each probe runs in its own child process, since
a crafted attribute may abort libmxnet.

The data is derived from Apache MXNet 1.9.1 (https://github.com/apache/mxnet, Apache License
2.0); the file's `meta` says so.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import subprocess
import sys
from pathlib import Path

OUTPUT = Path(__file__).resolve().parent.parent / "mar_lint" / "shapes" / "mxnet_ops.json"
INPUT_TYPES = ("NDArray-or-Symbol", "Symbol", "NDArray", "Symbol or Symbol[]")
PROBE_KEY = "zz_not_a_parameter"
BAD_VALUE = "@"  # no int, float, bool, shape, tuple or enum parses it; strings take it

# Loads the one-node graphs it is given (a JSON list of [op, attrs]) and answers, per graph,
# None when MXNet loads it or the first line of MXNet's error.
PROBE_CHILD = r"""
import json, sys
import mxnet as mx
out = []
for op, attrs in json.loads(sys.stdin.read()):
    graph = {"nodes": [{"op": op, "name": "n", "inputs": [], "attrs": attrs}],
             "arg_nodes": [], "node_row_ptr": [0, 1], "heads": [[0, 0, 0]],
             "attrs": {"mxnet_version": ["int", 10901]}}
    try:
        mx.sym.load_json(json.dumps(graph))
        out.append(None)
    except Exception as exc:
        out.append(str(exc).strip().splitlines()[0][:300])
print(json.dumps(out))
"""


def _c_strings(array: ctypes.Array, count: int) -> list[str]:  # type: ignore[type-arg]
    return [array[i].decode() for i in range(count)]


def registry_entries() -> tuple[dict[str, dict], dict[str, str], str]:
    """(canonical op -> raw C-API info, alias -> canonical op, mxnet version)."""
    import mxnet as mx
    from mxnet.base import _LIB, c_str, check_call, mx_uint

    size = ctypes.c_uint()
    names_ptr = ctypes.POINTER(ctypes.c_char_p)()
    check_call(_LIB.MXListAllOpNames(ctypes.byref(size), ctypes.byref(names_ptr)))
    names = sorted(_c_strings(names_ptr, size.value))
    ops: dict[str, dict] = {}
    aliases: dict[str, str] = {}
    for name in names:
        handle = ctypes.c_void_p()
        check_call(_LIB.NNGetOpHandle(c_str(name), ctypes.byref(handle)))
        real, desc, ret = ctypes.c_char_p(), ctypes.c_char_p(), ctypes.c_char_p()
        count, key_var = mx_uint(), ctypes.c_char_p()
        arg_names = ctypes.POINTER(ctypes.c_char_p)()
        arg_types = ctypes.POINTER(ctypes.c_char_p)()
        arg_descs = ctypes.POINTER(ctypes.c_char_p)()
        check_call(
            _LIB.MXSymbolGetAtomicSymbolInfo(
                handle,
                ctypes.byref(real),
                ctypes.byref(desc),
                ctypes.byref(count),
                ctypes.byref(arg_names),
                ctypes.byref(arg_types),
                ctypes.byref(arg_descs),
                ctypes.byref(key_var),
                ctypes.byref(ret),
            )
        )
        canonical = real.value.decode()
        if canonical != name:
            aliases[name] = canonical
            continue
        ops[name] = {
            "args": list(
                zip(_c_strings(arg_names, count.value), _c_strings(arg_types, count.value))
            ),
            "key_var_num_args": key_var.value.decode() if key_var.value else "",
        }
    return ops, aliases, mx.__version__


def parse_type_info(info: str) -> list:
    """A dmlc type string as [type, "required"] | [type, "optional", default] | [type].

    `type` is the dmlc type name ("int", "Shape(tuple)", "float or None", ...) or, for an
    enum, the list of its values ("None" included when the field is optional<int>)."""
    info = info.strip()
    if info.startswith("{"):
        close = info.index("}")
        kind: object = [v.strip().strip("'") for v in info[1:close].split(",")]
        rest = info[close + 1 :].lstrip(", ")
    else:
        kind, _, rest = info.partition(", ")
    rest = rest.strip()
    if rest == "required":
        return [kind, "required"]
    if rest.startswith("optional"):
        default = rest.partition("default=")[2]
        if len(default) >= 2 and default[0] == default[-1] == "'":
            default = default[1:-1]
        return [kind, "optional", default]
    return [kind]


def _probe(cases: list[tuple[str, dict[str, str]]]) -> list[str | None]:
    """Load each one-node graph in a child process; split the batch when a case kills it."""
    if not cases:
        return []
    result = subprocess.run(
        [sys.executable, "-I", "-c", PROBE_CHILD],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        timeout=600,
        cwd="/",
    )
    if result.returncode == 0:
        return json.loads(result.stdout.strip().splitlines()[-1])
    if len(cases) == 1:
        return [f"crash: exit status {result.returncode}"]
    middle = len(cases) // 2
    return _probe(cases[:middle]) + _probe(cases[middle:])


def parser_kinds(ops: dict[str, dict]) -> dict[str, str]:
    """Per operator: "strict", "values" or "none" (see the module docstring)."""
    cases: list[tuple[str, dict[str, str]]] = []
    index: list[tuple[str, str]] = []
    for name, entry in ops.items():
        cases.append((name, {PROBE_KEY: "1"}))
        index.append((name, PROBE_KEY))
        for param, info in entry["args"]:
            if not info.startswith(INPUT_TYPES):
                cases.append((name, {param: BAD_VALUE}))
                index.append((name, param))
    answers = _probe(cases)
    kinds = {name: "none" for name in ops}
    for (name, key), error in zip(index, answers):
        if key == PROBE_KEY:
            if error and f"Cannot find argument '{PROBE_KEY}'" in error:
                kinds[name] = "strict"
        elif error and f"'{BAD_VALUE}'" in error and kinds[name] == "none":
            kinds[name] = "values"
    return kinds


def build() -> dict:
    ops, aliases, version = registry_entries()
    kinds = parser_kinds(ops)
    out_ops = {}
    for name in sorted(ops):
        entry = ops[name]
        inputs, params = [], []
        variadic = False
        for arg, info in entry["args"]:
            if info.startswith(INPUT_TYPES):
                inputs.append(arg)
                variadic = variadic or info.endswith("[]")
            else:
                params.append([arg, *parse_type_info(info)])
        record: dict = {"inputs": inputs, "params": params, "parser": kinds[name]}
        if variadic:
            record["variadic"] = True
        if entry["key_var_num_args"]:
            record["key_var_num_args"] = entry["key_var_num_args"]
        op_aliases = sorted(a for a, c in aliases.items() if c == name)
        if op_aliases:
            record["aliases"] = op_aliases
        out_ops[name] = record
    return {
        "meta": {
            "mxnet_version": version,
            "source": "Apache MXNet (https://github.com/apache/mxnet), operator registry of "
            "libmxnet read through its C API",
            "license": "Apache-2.0",
            "generator": "scripts/generate_mxnet_ops.py",
            "param_format": "[name, type, 'required'] | [name, type, 'optional', default] | "
            "[name, type]; an enum's type is the list of its values",
        },
        "aliases": dict(sorted(aliases.items())),
        "ops": out_ops,
    }


def render(data: dict) -> str:
    # One operator per line: compact, yet a diff shows which operators changed.
    lines = ["{", f'"meta": {json.dumps(data["meta"], sort_keys=True)},']
    lines.append(f'"aliases": {json.dumps(data["aliases"], separators=(",", ":"))},')
    lines.append('"ops": {')
    items = list(data["ops"].items())
    for i, (name, record) in enumerate(items):
        comma = "," if i < len(items) - 1 else ""
        lines.append(f"{json.dumps(name)}:{json.dumps(record, separators=(',', ':'))}{comma}")
    lines.append("}}")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the file would change")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    text = render(build())
    if args.check:
        same = args.output.exists() and args.output.read_text() == text
        print("up to date" if same else f"{args.output} differs from the installed MXNet")
        return 0 if same else 1
    args.output.write_text(text)
    print(f"wrote {args.output} ({len(text.encode()):,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
