"""MXNet 1.9.1's operator registry, and its attribute parsing, without MXNet.

The registry (`mxnet_ops.json`, generated from libmxnet by `scripts/generate_mxnet_ops.py`)
names every operator and alias MXNet 1.9.1 registers, with each parameter's dmlc type and
default. On top of it this module parses attribute strings the way dmlc-core's
`Parameter::Init` does (the code MXNet runs when it loads a graph) and says what MXNet would
refuse: an operator it does not register, a required parameter left out, a value its type
does not parse, an enum value it does not list, an attribute the operator does not declare.

The parsers follow dmlc-core and mxnet's headers as shipped in the 1.9.1 wheel
(`dmlc/parameter.h`, `dmlc/strtonum.h`, `dmlc/optional.h`, `mxnet/tuple.h`) to the character,
and the loader's upgrade of older graphs follows `src/nnvm/legacy_json_util.cc`. The
differential test `tests/test_op_registry_oracle.py` holds both against real MXNet.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable

from mar_lint.jsonpointer import json_pointer
from mar_lint.shapes.attrs import AttrError

__all__ = [
    "AttrError",
    "AttrIssue",
    "OpSpec",
    "Param",
    "canonical_name",
    "check_graph_operators",
    "check_node",
    "is_hidden_key",
    "is_known",
    "op_spec",
    "params",
    "parse_value",
]

CURRENT_VERSION = 10901  # MXNET_VERSION of 1.9.1: older graphs go through the upgrade passes
NO_PARSE_VERSION = 1_000_000  # UpgradeJSON_Parse runs only below 100.0.0
LEGACY_VERSION = 800  # what the loader assumes when the graph has no mxnet_version
# kHiddenKeys: graphs older than 1.9.1 may carry them bare; the upgrade makes them `__key__`.
LEGACY_HIDDEN_KEYS = ("ctx_group", "lr_mult", "wd_mult", "force_mirroring", "mirror_stage")
# Operators whose parameters only the Python code that registers them understands, and the
# internal ones that hold pointers or cached graphs: left to MXNet.
OPEN_OPS = frozenset(
    {"Custom", "_CustomFunction", "_CachedOp", "_CachedOpThreadSafe", "_NDArray", "_Native"}
)

_C_SPACE = " \t\n\v\f\r"  # isspace() in the C locale: what an istream skips
_DMLC_SPACE = " \t\n\f\r"  # dmlc::isspace(), used for trailing characters
_EOF = ""


@dataclass(frozen=True)
class Param:
    name: str
    type: str  # the dmlc type name: "int", "Shape(tuple)", "float or None", ..., or "enum"
    required: bool
    default: str | None  # as MXNet prints it; None when required or undeclared
    choices: tuple[str, ...] = ()  # an enum's values
    low: float | None = None  # bounds MXNet checks after parsing (set_range, set_lower_bound)
    high: float | None = None
    parsed: bool = True  # False: documented, but not a dmlc field: its parser is the op's own


@dataclass(frozen=True)
class OpSpec:
    name: str  # the canonical name (an alias resolves to it)
    inputs: tuple[str, ...]
    params: Mapping[str, Param]
    # "strict": dmlc Parameter::Init, refusing unknown names and bad values; "values": values
    # parsed, unknown names ignored; "none": attributes are not parsed when the graph loads.
    parser: str
    variadic: bool = False
    key_var_num_args: str = ""
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class AttrIssue:
    message: str
    location: str  # JSON pointer into the graph document


# -- the data ----------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _registry() -> dict[str, Any]:
    from importlib import resources

    text = resources.files("mar_lint.shapes").joinpath("mxnet_ops.json").read_text("utf-8")
    return json.loads(text)


def metadata() -> dict[str, str]:
    """Where the registry comes from: the MXNet release, its source and licence."""
    return dict(_registry()["meta"])


def canonical_name(op: str) -> str | None:
    """The operator's registered name (aliases resolved), or None if MXNet 1.9.1 has none."""
    data = _registry()
    if op in data["ops"]:
        return op
    return data["aliases"].get(op)


def is_known(op: str) -> bool:
    """Does MXNet 1.9.1 register this operator name (aliases and legacy names included)?"""
    return canonical_name(op) is not None


def all_op_names() -> list[str]:
    """Every registered name, aliases included, sorted."""
    data = _registry()
    return sorted([*data["ops"], *data["aliases"]])


@lru_cache(maxsize=4096)  # bounded: op names come from hostile graphs
def op_spec(op: str) -> OpSpec | None:
    name = canonical_name(op)
    if name is None:
        return None
    record = _registry()["ops"][name]
    table = {}
    for entry in record["params"]:
        key, kind, *status = entry
        choices = tuple(kind) if isinstance(kind, list) else ()
        required = status[:1] == ["required"]
        default = status[1] if len(status) > 1 else None
        low, high = status[2] if len(status) > 2 else (None, None)
        table[key] = Param(
            key,
            "enum" if choices else kind,
            required,
            default,
            choices,
            None if low is None else float(low),
            None if high is None else float(high),
            parsed=bool(status),
        )
    return OpSpec(
        name=name,
        inputs=tuple(record["inputs"]),
        params=table,
        parser=record["parser"],
        variadic=record.get("variadic", False),
        key_var_num_args=record.get("key_var_num_args", ""),
        aliases=tuple(record.get("aliases", ())),
    )


# -- dmlc's scanners -----------------------------------------------------------------------------


class _Fail(Exception):
    """The istream's failbit."""


def _peek(text: str, at: int) -> str:
    return text[at] if at < len(text) else _EOF


def _skip(text: str, at: int, spaces: str = _C_SPACE) -> int:
    while at < len(text) and text[at] in spaces:
        at += 1
    return at


def _istream_int(text: str, at: int, bits: int, unsigned: bool = False) -> tuple[int, int]:
    """`is >> n` for an integer of `bits` bits (libstdc++ num_get, base 10). An unsigned
    one takes a sign too, and wraps a negative value, as strtoul does: "-1" is 2**bits-1."""
    at = _skip(text, at)
    start = at
    if _peek(text, at) in ("+", "-"):
        at += 1
    digits = at
    while _peek(text, at).isdigit() and text[at].isascii():
        at += 1
    if at == digits:
        raise _Fail
    value = int(text[start:at])
    if unsigned:
        if abs(value) >= 2**bits:
            raise _Fail  # out of range: failbit
        return value % 2**bits, at
    if not -(2 ** (bits - 1)) <= value < 2 ** (bits - 1):
        raise _Fail  # out of range: failbit
    return value, at


def _istream_float(text: str, at: int, single: bool) -> tuple[float, int]:
    """`is >> x` for a float or double: libstdc++ gathers [sign] digits [. digits]
    [e [sign] digits] and hands them to strtod; no inf, no nan, no hex."""
    at = _skip(text, at)
    start = at
    if _peek(text, at) in ("+", "-"):
        at += 1
    mantissa = point = False
    while True:
        ch = _peek(text, at)
        if ch.isascii() and ch.isdigit():
            mantissa = True
        elif ch == "." and not point:
            point = True
        else:
            break
        at += 1
    exponent_ok = True
    if mantissa and _peek(text, at) in ("e", "E"):
        at += 1
        if _peek(text, at) in ("+", "-"):
            at += 1
        exponent_start = at
        while _peek(text, at).isascii() and _peek(text, at).isdigit():
            at += 1
        exponent_ok = at > exponent_start
    if not mantissa or not exponent_ok:
        raise _Fail
    value = float(text[start:at])
    if math.isinf(value) or (single and math.isinf(_to_float32(value))):
        raise _Fail  # strtod's HUGE_VAL: failbit
    return value, at


def _to_float32(value: float) -> float:
    try:
        return struct.unpack("f", struct.pack("f", value))[0]
    except OverflowError:
        return math.copysign(math.inf, value)


def _ascii_lower(ch: str) -> str:
    return ch.lower() if ch.isascii() else ch


def _dmlc_strtof(text: str, single: bool) -> float:
    """dmlc::stof / dmlc::stod (strtonum.h ParseFloat with range checks); the whole string
    must be used. Long because it is a port of one C++ parser, kept whole so the two read
    side by side."""
    max_exp, max_sig, min_sig = (
        (38, _to_float32(3.402823466), _to_float32(1.175494351))
        if single
        else (308, 1.79769313486231570, 2.22507385850720139)
    )
    rounded = _to_float32 if single else float
    at = _skip(text, 0, _DMLC_SPACE)
    negative = _peek(text, at) == "-"
    if _peek(text, at) in ("+", "-"):
        at += 1

    def ends(position: int, value: float) -> float:
        if position < len(text):
            raise AttrError(f"trailing characters {text[position:]!r} do not parse")
        return -value if negative else value

    matched = 0
    while matched < 8 and _ascii_lower(_peek(text, at + matched)) == "infinity"[matched]:
        matched += 1
    if matched in (3, 8):
        # ParseFloat sets no errno here, and stof then tests errno: after an earlier parse in
        # the same thread left ERANGE behind, MXNet refuses infinity too. A fresh process
        # (one MMS worker loading one model) accepts it.
        return ends(at + matched, math.inf)
    if "".join(map(_ascii_lower, text[at : at + 3])) == "nan":
        at += 3
        if _peek(text, at) == "(":
            at += 1
            while _peek(text, at).isascii() and (
                _peek(text, at).isalnum() or _peek(text, at) == "_"
            ):
                at += 1
            if _peek(text, at) != ")":
                raise AttrError("invalid NAN literal")
            at += 1
        return ends(at, math.nan)
    predec = 0
    while _peek(text, at).isascii() and _peek(text, at).isdigit():
        predec = (predec * 10 + int(text[at])) % 2**64
        at += 1
    value = rounded(float(predec))
    if _peek(text, at) == ".":
        at += 1
        fraction, scale, count = 0, 1, 0
        while _peek(text, at).isascii() and _peek(text, at).isdigit():
            if count < 19:
                fraction, scale = fraction * 10 + int(text[at]), scale * 10
            at += 1
            count += 1
        value = rounded(value + rounded(fraction / scale))
    if _peek(text, at) in ("e", "E"):
        at += 1
        negative_exp = _peek(text, at) == "-"
        if _peek(text, at) in ("+", "-"):
            at += 1
        exponent = 0
        while _peek(text, at).isascii() and _peek(text, at).isdigit():
            exponent = (exponent * 10 + int(text[at])) % 2**32  # unsigned wraps
            at += 1
        if exponent > max_exp or (
            exponent == max_exp
            and ((not negative_exp and value > max_sig) or (negative_exp and value < min_sig))
        ):
            raise AttrError("out of range")
        value = value / 10.0**exponent if negative_exp else value * 10.0**exponent
    if _peek(text, at) in ("f", "F"):
        at += 1
    if at == 0:
        raise AttrError("no number")
    return ends(at, value)


def _tuple(
    text: str, at: int, element: Callable[[str, int], tuple[Any, int]], integral: bool
) -> tuple[tuple[Any, ...] | None, int]:
    """mxnet::Tuple's operator>> (mxnet/tuple.h): "(1, 2)", "[1,2]", "(1,)", "()", "5",
    "None"; None stands for the unknown shape (ndim -1)."""
    while True:
        ch = _peek(text, at)
        if (ch.isascii() and ch.isdigit()) or ch == "-":
            value, at = element(text, at)
            return (value,), at
        if ch == _EOF:
            raise _Fail
        at += 1
        if ch in "([":
            break
        if ch not in _C_SPACE:
            if ch == "N":
                at = _skip(text, at)
                end = at
                while end < len(text) and text[end] not in _C_SPACE:
                    end += 1
                if text[at:end] == "one":
                    return None, end
            raise _Fail
    at = _skip(text, at)
    if _peek(text, at) in (")", "]") and _peek(text, at):
        return (), at + 1
    items = []
    while True:
        value, at = element(text, at)
        items.append(value)
        while _peek(text, at) and text[at] in _C_SPACE:
            at += 1
        ch = _peek(text, at)
        at += 1 if ch else 0
        if integral and ch == "L":
            ch = _peek(text, at)
            at += 1 if ch else 0
        if ch == ",":
            at = _skip(text, at)
            if _peek(text, at) and text[at] in ")]":
                return tuple(items), at + 1
        elif ch and ch in ")]":
            return tuple(items), at
        else:
            raise _Fail


def _optional(
    text: str, at: int, inner: Callable[[str, int], tuple[Any, int]], integral: bool
) -> tuple[Any, int]:
    """dmlc::optional's operator>>: "None" (exactly those 4 characters first), else the
    inner type; an integer may end in 'L'."""
    if text[at : at + 4] == "None":
        return None, at + 4
    value, at = inner(text, at)
    if integral and _peek(text, at) == "L":
        at += 1
    return value, at


def _optional_bool(text: str, at: int) -> tuple[bool | None, int]:
    at = _skip(text, at, _DMLC_SPACE)
    end = at
    while end < len(text) and text[end].isascii() and text[end].isalnum():
        end += 1
    word = text[at:end].lower()
    if word in ("1", "true"):
        return True, end
    if word in ("0", "false"):
        return False, end
    if word == "none":
        return None, end
    raise _Fail


def _int(bits: int, unsigned: bool = False) -> Callable[[str, int], tuple[int, int]]:
    return lambda text, at: _istream_int(text, at, bits, unsigned)


def _float(single: bool) -> Callable[[str, int], tuple[float, int]]:
    return lambda text, at: _istream_float(text, at, single)


def _shape(bits: int = 64) -> Callable[[str, int], tuple[Any, int]]:
    return lambda text, at: _tuple(text, at, _int(bits), True)


# Types read through an istream (FieldEntryBase::Set): the scanner, then only whitespace.
_STREAMED: dict[str, Callable[[str, int], tuple[Any, int]]] = {
    "int": _int(32),
    "long": _int(64),
    # dmlc names uint32_t and uint64_t so: no bound is checked, "-1" wraps
    "int (non-negative)": _int(32, unsigned=True),
    "long (non-negative)": _int(64, unsigned=True),
    "Shape(tuple)": _shape(),
    "Shape or None": lambda t, a: _optional(t, a, _shape(), False),
    "int or None": lambda t, a: _optional(t, a, _int(32), True),
    "long or None": lambda t, a: _optional(t, a, _int(64), True),
    "float or None": lambda t, a: _optional(t, a, _float(True), False),
    "double or None": lambda t, a: _optional(t, a, _float(False), False),
    "boolean or None": _optional_bool,
    "tuple of <float>": lambda t, a: _tuple(t, a, _float(True), False),
    "tuple of <double>": lambda t, a: _tuple(t, a, _float(False), False),
    "tuple of <int>": lambda t, a: _tuple(t, a, _int(32), True),
    "tuple of <long>": lambda t, a: _tuple(t, a, _int(64), True),
    "tuple of <Shape(tuple)>": lambda t, a: _tuple(t, a, _shape(), False),
}
_FLOATS = {"float": True, "real_t": True, "double": False}


def parse_value(param: Param, text: str) -> Any:
    """The typed value MXNet's parser makes of `text`, or AttrError with the reason it
    refuses it. Types the registry does not describe (strings, pointers) come back as text."""
    kind = param.type
    if kind == "enum":
        if text not in param.choices:
            raise AttrError(f"{text!r} is not one of {', '.join(map(repr, param.choices))}")
        return None if text == "None" else text
    if kind == "boolean":
        lowered = text.lower()
        if lowered not in ("true", "false", "1", "0"):
            raise AttrError(f"{text!r} is not a boolean (true, false, 1 or 0)")
        return lowered in ("true", "1")
    if kind in _FLOATS:
        try:
            return _bounded(param, text, _dmlc_strtof(text, _FLOATS[kind]))
        except AttrError as exc:
            raise AttrError(f"{text!r} is not a {kind}: {exc}") from None
    scanner = _STREAMED.get(kind)
    if scanner is None:
        return text
    try:
        value, at = scanner(text, 0)
    except _Fail:
        raise AttrError(f"{text!r} is not a {kind}") from None
    if text[at:].strip(_DMLC_SPACE):
        raise AttrError(f"{text!r} is not a {kind}")
    return _bounded(param, text, value)


def _bounded(param: Param, text: str, value: Any) -> Any:
    """FieldEntryNumeric::Check: the bounds a parameter declares (NaN passes, as in C++)."""
    if param.low is not None and value < param.low:
        raise AttrError(f"{text!r} is below {param.name}'s lower bound {param.low:g}")
    if param.high is not None and value > param.high:
        raise AttrError(f"{text!r} is above {param.name}'s upper bound {param.high:g}")
    return value


def is_hidden_key(key: str) -> bool:
    """`__name__` keys, which dmlc's kAllowHidden lets through (and MXNet keeps for itself:
    `__shape__`, `__dtype__`, `__lr_mult__`, `__init__`, `__profiler_scope__`, ...)."""
    return len(key) > 4 and key.startswith("__") and key.endswith("__")


# -- one node ------------------------------------------------------------------------------------


def _legacy_hidden(key: str) -> bool:
    """Is `key` one the upgrade of a pre-1.9.1 graph takes out before parsing?"""
    for hidden in LEGACY_HIDDEN_KEYS:
        pos = key.rfind(hidden)
        if pos == 0 or (pos != -1 and pos == len(key) - len(hidden)):
            return True
    return False


def _legacy_kept(spec: OpSpec, key: str, variable_inputs: frozenset[int] | None) -> bool:
    """After parsing, the upgrade puts each removed key back: `lr_mult` as `__lr_mult__`,
    `weight_lr_mult` on the `weight` variable; anything else returns as it was, and the
    parse that follows refuses it (UpgradeJSON_FixParsing, then UpgradeJSON_Parse)."""
    for hidden in LEGACY_HIDDEN_KEYS:
        pos = key.rfind(hidden)
        if pos == 0 and len(key) == len(hidden):
            return True
        if pos > 1 and pos == len(key) - len(hidden):
            # FListInputNames: a variadic operator's inputs are arg0, arg1, ... Operators
            # without that function (Activation has none) refuse every such key; the C API
            # does not tell which they are, so those keys pass here: a miss, never a false
            # error.
            owner = key[: pos - 1]
            if spec.variadic:
                numbered = owner[3:] if owner.startswith("arg") else ""
                index = int(numbered) if numbered.isascii() and numbered.isdigit() else -1
            else:
                index = spec.inputs.index(owner) if owner in spec.inputs else -1
            if index < 0:
                return False
            return variable_inputs is None or index in variable_inputs
    return False


def check_node(
    op: str,
    attrs: Mapping[str, str],
    *,
    version: int | None = CURRENT_VERSION,
    variable_inputs: frozenset[int] | None = None,
) -> list[tuple[str | None, str]]:
    """What MXNet 1.9.1 refuses when it loads a node of `op` with these attributes, as
    (attribute or None, message) pairs; [] when it loads.

    `version` is the graph's saved `mxnet_version` (None: absent, which MXNet reads as
    0.8.0); `variable_inputs`, the positions of the node's inputs fed by variables (for the
    upgrade of older graphs; None: all of them)."""
    spec = op_spec(op)
    if spec is None:
        return [(None, f"MXNet {metadata()['mxnet_version']} has no operator {op!r}")]
    if spec.name in OPEN_OPS or spec.parser == "none":
        return []
    version = LEGACY_VERSION if version is None else version
    if version >= NO_PARSE_VERSION:
        return []  # reported once per graph: nothing is parsed at all
    legacy = version < CURRENT_VERSION
    problems: list[tuple[str | None, str]] = []
    for key in sorted(attrs):
        value = attrs[key]
        param = spec.params.get(key)
        if param is None:
            if spec.parser != "strict" or is_hidden_key(key):
                continue
            if legacy and _legacy_hidden(key) and _legacy_kept(spec, key, variable_inputs):
                continue
            known = ", ".join(sorted(spec.params)) or "none"
            problems.append(
                (key, f"{spec.name} has no parameter {key!r} (its parameters: {known})")
            )
            continue
        try:
            if param.parsed:
                parse_value(param, value)
        except AttrError as exc:
            problems.append((key, f"{spec.name}'s {key}={value!r}: {exc}"))
    for name, param in spec.params.items():
        if param.required and name not in attrs:
            kind = "one of " + ", ".join(param.choices) if param.choices else param.type
            problems.append((None, f"{spec.name} needs the parameter {name!r} ({kind})"))
    if not problems and spec.name in _WINDOWED:
        problems += _window_problems(spec, attrs)
    return problems


# Operators whose parameter parser also checks the window's dimensions (ConvolutionParamParser,
# DeconvolutionParamParser, PoolingParamParser): the kernel has 1, 2 or 3 dimensions, and each
# of these, when given, as many as the kernel. Pooling ignores the kernel when global_pool is set.
_WINDOWED = {
    "Convolution": ("stride", "dilate", "pad"),
    "Deconvolution": ("stride", "dilate", "pad", "adj"),
    "Pooling": (),
    "Pooling_v1": (),
    "_contrib_quantized_pooling": (),
}


def _window_problems(spec: OpSpec, attrs: Mapping[str, str]) -> list[tuple[str | None, str]]:
    values = params(spec.name, attrs)
    kernel = values.get("kernel")
    ndim = -1 if kernel is None else len(kernel)
    if values.get("global_pool") and ndim <= 3:
        return []
    if ndim not in (1, 2, 3):
        return [
            (
                "kernel" if "kernel" in attrs else None,
                f"{spec.name}'s kernel has {ndim} dimensions; MXNet supports 1, 2 or 3",
            )
        ]
    problems: list[tuple[str | None, str]] = []
    for key in _WINDOWED[spec.name]:
        value = values.get(key)
        if key in attrs and (value is None or (value and len(value) != ndim)):
            given = "None" if value is None else f"{len(value)} dimensions"
            problems.append((key, f"{spec.name}'s {key} has {given}, its kernel {ndim}"))
    return problems


def params(op: str, attrs: Mapping[str, str]) -> dict[str, Any]:
    """Every parameter of `op` with its typed value: from `attrs`, else its default.
    Raises AttrError for an unknown operator, a missing required parameter or a value MXNet
    would refuse; attributes the operator does not declare are ignored."""
    spec = op_spec(op)
    if spec is None:
        raise AttrError(f"unknown operator {op!r}")
    values: dict[str, Any] = {}
    for name, param in spec.params.items():
        if name in attrs:
            try:
                values[name] = parse_value(param, attrs[name])
            except AttrError as exc:
                raise AttrError(f"{spec.name}'s {name}: {exc}") from None
        elif param.required:
            raise AttrError(f"{spec.name} needs the parameter {name!r}")
        else:
            values[name] = _default(param)
    return values


def _default(param: Param) -> Any:
    if param.default is None or (param.default == "None" and param.type != "string"):
        return None
    try:
        return parse_value(param, param.default)
    except AttrError:
        return param.default  # printed defaults that do not parse back (none known)


# -- a whole graph -------------------------------------------------------------------------------


def check_graph_operators(doc: Mapping[str, Any], version: int | None) -> list[AttrIssue]:
    """Each node MXNet 1.9.1 refuses to load for its operator or attributes, in a graph
    that passed the structural checks (`mar_lint.graph_structure`). Subgraph nodes are checked for
    their operator name only: they are loaded without the upgrade passes."""
    from mar_lint.graph_structure import attr_maps, merged_attrs

    issues: list[AttrIssue] = []
    nodes = doc["nodes"]
    if version is not None and version >= NO_PARSE_VERSION:
        parsed = [n["op"] for n in nodes if n["op"] != "null" and _has_parser(n["op"])]
        if parsed:
            issues.append(
                AttrIssue(
                    f"the graph claims to come from MXNet {version // 10000}.x, newer than "
                    f"100.0: MXNet {metadata()['mxnet_version']} then never parses operator "
                    f"attributes, and shape inference fails on {parsed[0]}",
                    json_pointer("attrs", "mxnet_version"),
                )
            )
        return issues + list(_unknown_in_subgraphs(nodes))
    for index, node in enumerate(nodes):
        op = node["op"]
        if op == "null":
            continue
        feeds = frozenset(
            i for i, entry in enumerate(node.get("inputs", ())) if nodes[entry[0]]["op"] == "null"
        )
        label = f"node {index} ({node.get('name')!r}, {op})"
        for key, message in check_node(
            op, merged_attrs(node), version=version, variable_inputs=feeds
        ):
            where = json_pointer("nodes", index)
            if key is not None:
                source = next(k for k in attr_maps(node) if key in node[k])
                where = json_pointer("nodes", index, source, key)
            elif not is_known(op):
                where = json_pointer("nodes", index, "op")
            issues.append(AttrIssue(f"{label}: {message}", where))
    issues.extend(_unknown_in_subgraphs(nodes))
    return issues


def _has_parser(op: str) -> bool:
    spec = op_spec(op)
    return spec is not None and spec.parser != "none" and spec.name not in OPEN_OPS


def _unknown_in_subgraphs(nodes: list[dict[str, Any]]) -> Iterator[AttrIssue]:
    pending = [(node, json_pointer("nodes", i)) for i, node in enumerate(nodes)]
    while pending:
        node, where = pending.pop()
        for k, sub in enumerate(node.get("subgraphs", ())):
            for j, inner in enumerate(sub.get("nodes", ())):
                inner_where = f"{where}/subgraphs/{k}/nodes/{j}"
                if inner["op"] != "null" and not is_known(inner["op"]):
                    yield AttrIssue(
                        f"subgraph node {inner.get('name')!r}: MXNet "
                        f"{metadata()['mxnet_version']} has no operator {inner['op']!r}",
                        f"{inner_where}/op",
                    )
                pending.append((inner, inner_where))
