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
import re
import subprocess
import sys
import threading
from pathlib import Path

OUTPUT = Path(__file__).resolve().parent.parent / "mar_lint" / "shapes" / "mxnet_ops.json"
INPUT_TYPES = ("NDArray-or-Symbol", "Symbol", "NDArray", "Symbol or Symbol[]")
PROBE_KEY = "zz_not_a_parameter"
BAD_VALUE = "@"  # no int, float, bool, shape, tuple or enum parses it; strings take it

# Loads each graph of its stdin (one JSON document per line) and answers each on a line:
# null when MXNet loads it, else the first line of the error. With "infer" it also infers
# shapes from the given input shapes.
LOADER = r"""
import ctypes, json, sys
import mxnet as mx
MARK = "@@verdict "  # libmxnet may print to stdout too
# dmlc::stof tests errno without clearing it: start each graph as a fresh process would.
errno_location = ctypes.CDLL(None).__errno_location
errno_location.restype = ctypes.POINTER(ctypes.c_int)
for line in sys.stdin:
    case = json.loads(line)
    errno_location()[0] = 0
    try:
        symbol = mx.sym.load_json(case["graph"])
        if case.get("infer"):
            symbol.infer_shape(**{k: tuple(v) for k, v in case["infer"].items()})
        answer = None
    except Exception as exc:
        text = str(exc).strip()
        answer = (text[:20000] if case.get("full") else text.splitlines()[0][:300]) if text else type(exc).__name__
    print(MARK + json.dumps(answer), flush=True)
"""
MEMORY = 2 << 30  # bytes of address space per child
CASE_SECONDS = 20.0  # a graph that takes longer is a hang


def mxnet_verdicts(
    cases: list[dict], *, site_packages: str, cwd: str = "/", memory: int = MEMORY
) -> list[str | None]:
    """MXNet's verdict per case ({"graph": json text, "infer": {...}?}): None when it
    loads, else MXNet's error, "crash: ..." or "hang". Each child runs `python -I` with
    `site_packages` as its only added path (never the working folder), under an address-space
    limit; a crash or a hang costs that case only: a new child takes the rest."""
    import resource
    import selectors
    import time

    def limits() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    prelude = f"import sys; sys.path[:] = [p for p in sys.path if p] + [{site_packages!r}]\n"
    verdicts: list[str | None] = []
    while len(verdicts) < len(cases):
        child = subprocess.Popen(
            [sys.executable, "-I", "-c", prelude + LOADER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd=cwd,
            preexec_fn=limits,
        )
        selector = selectors.DefaultSelector()
        selector.register(child.stdout, selectors.EVENT_READ)  # type: ignore[arg-type]
        pending = b"".join(json.dumps(c).encode() + b"\n" for c in cases[len(verdicts) :])
        feeder = threading.Thread(target=_feed, args=(child, pending), daemon=True)
        feeder.start()
        started = len(verdicts)
        deadline = time.monotonic() + CASE_SECONDS * 3  # the first answer waits for the import
        while len(verdicts) < len(cases):
            if not selector.select(max(0.0, deadline - time.monotonic())):
                verdicts.append("hang")
                break
            line = child.stdout.readline()  # type: ignore[union-attr]
            if not line:
                child.wait()
                verdicts.append(f"crash: exit status {child.returncode}")
                break
            if not line.startswith(b"@@verdict "):
                continue  # libmxnet's own printing
            verdicts.append(json.loads(line[len(b"@@verdict ") :]))
            deadline = time.monotonic() + CASE_SECONDS
        child.kill()
        child.wait()
        selector.close()
        assert len(verdicts) > started
    return verdicts


def _feed(child: subprocess.Popen, data: bytes) -> None:
    try:
        child.stdin.write(data)  # type: ignore[union-attr]
        child.stdin.close()  # type: ignore[union-attr]
    except OSError:
        pass  # the child died: its verdict says so


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


def _probe(cases: list[tuple[str, dict[str, str]]], full: str = "") -> list[str | None]:
    """MXNet's verdict on one-node graphs of (operator, attributes); the whole message for
    the graphs that carry the attribute `full`."""
    import mxnet

    graphs = [
        {
            "graph": json.dumps(
                {
                    "nodes": [{"op": op, "name": "n", "inputs": [], "attrs": attrs}],
                    "arg_nodes": [],
                    "node_row_ptr": [0, 1],
                    "heads": [[0, 0, 0]],
                    "attrs": {"mxnet_version": ["int", 10901]},
                }
            ),
            "full": full in attrs,
        }
        for op, attrs in cases
    ]
    return mxnet_verdicts(graphs, site_packages=str(Path(mxnet.__file__).parent.parent))


FIELD = re.compile(r"^(?P<name>\w+) : (?P<info>.+)$")


def parser_kinds(ops: dict[str, dict]) -> tuple[dict[str, str], dict[str, list[list]]]:
    """Per operator: "strict", "values" or "none" (see the module docstring); and for the
    strict ones, the fields their parser lists when it refuses an unknown name ("Possible
    Arguments"), which are what it parses: a few operators document other parameters
    (`_linspace` shows `_arange`'s) or leave one out (`add_n`'s `num_args`)."""
    cases: list[tuple[str, dict[str, str]]] = []
    index: list[tuple[str, str]] = []
    for name, entry in ops.items():
        cases.append((name, {PROBE_KEY: "1"}))
        index.append((name, PROBE_KEY))
        for param, info in entry["args"]:
            if not info.startswith(INPUT_TYPES):
                cases.append((name, {param: BAD_VALUE}))
                index.append((name, param))
    answers = _probe(cases, full=PROBE_KEY)
    kinds = {name: "none" for name in ops}
    fields: dict[str, list[list]] = {}
    for (name, key), error in zip(index, answers):
        if key == PROBE_KEY:
            if error and f"Cannot find argument '{PROBE_KEY}'" in error:
                kinds[name] = "strict"
                fields[name] = [
                    [m["name"], *parse_type_info(m["info"])]
                    for m in map(FIELD.match, error.splitlines())
                    if m
                ]
        elif error and f"'{BAD_VALUE}'" in error and kinds[name] == "none":
            kinds[name] = "values"
    return kinds, fields


# The extremes of each numeric type: a bounded parameter refuses one of them and names its
# bound ("exceed bound [1,3]", "should be greater equal to 0", "should be less equal to 1").
EXTREMES = {
    "int": ("-2147483648", "2147483647"),
    "long": ("-9223372036854775808", "9223372036854775807"),
    "float": ("-1e30", "1e30"),
    "double": ("-1e300", "1e300"),
}
BOUND = re.compile(
    r"exceed bound \[(?P<low>[^,\]]+),(?P<high>[^\]]+)\]"
    r"|should be greater equal to (?P<min>\S+)|should be less equal to (?P<max>\S+)"
)


def bounds(ops: dict[str, dict], params: dict[str, list[list]]) -> None:
    """Add [low, high] (either may be null) to each numeric parameter MXNet bounds
    (`set_range`, `set_lower_bound`); the C API's type string does not show them."""
    cases, index = [], []
    for name in ops:
        for entry in params[name]:
            extremes = EXTREMES.get(entry[1].split(" ")[0]) if isinstance(entry[1], str) else None
            if extremes and "or None" not in entry[1]:
                for value in extremes:
                    cases.append((name, {entry[0]: value}))
                    index.append(entry)
    found: dict[int, list] = {}
    for entry, error in zip(index, _probe(cases)):
        match = BOUND.search(error or "")
        if match:
            low = match["low"] or match["min"]
            high = match["high"] or match["max"]
            old = found.setdefault(id(entry), [None, None])
            old[0], old[1] = low or old[0], high or old[1]
    for name in ops:
        for entry in params[name]:
            if id(entry) in found:
                if len(entry) == 2:
                    entry.append("")  # undeclared status: keep the range in 5th place
                while len(entry) < 4:
                    entry.append(None)
                entry.append(found[id(entry)])


def build() -> dict:
    ops, aliases, version = registry_entries()
    kinds, fields = parser_kinds(ops)
    params: dict[str, list[list]] = {}
    for name, entry in ops.items():
        params[name] = fields.get(name) or [
            [arg, *parse_type_info(info)]
            for arg, info in entry["args"]
            if not info.startswith(INPUT_TYPES)
        ]
        # The count of a variadic operator's inputs is a parameter the C API leaves out of
        # the list (Python fills it in); MXNet requires it in a graph.
        count = entry["key_var_num_args"]
        if count and count not in {p[0] for p in params[name]}:
            params[name].append([count, "int", "required"])
    bounds(ops, params)
    out_ops = {}
    for name in sorted(ops):
        entry = ops[name]
        inputs = [arg for arg, info in entry["args"] if info.startswith(INPUT_TYPES)]
        variadic = any(
            info.endswith("[]") for _, info in entry["args"] if info.startswith(INPUT_TYPES)
        )
        record: dict = {"inputs": inputs, "params": params[name], "parser": kinds[name]}
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
            "[name, type]; an enum's type is the list of its values; a bounded number has "
            "[low, high] (null: unbounded) in 5th place",
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
