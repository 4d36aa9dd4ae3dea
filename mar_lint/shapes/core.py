"""The pieces every shape function shares: shapes, their merging, dtypes and the op table.

Shapes follow MXNet 1.9.1's internal convention: None is a shape of unknown rank, and -1 a
dimension not known yet. A shape function receives the lists of its input and output shapes,
fills in what it can (forward and backward, as MXNet's `FInferShape` does) and raises
`ShapeError` where MXNet's `CHECK`s fail.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Optional, overload

Shape = Optional[tuple[int, ...]]
Shapes = list[Shape]
Dtypes = list[int]

# mshadow type flags (formats.md §5.3).
DTYPES = {
    "float32": 0,
    "float64": 1,
    "float16": 2,
    "uint8": 3,
    "int32": 4,
    "int8": 5,
    "int64": 6,
    "bool": 7,
    "int16": 8,
    "uint16": 9,
    "uint32": 10,
    "uint64": 11,
    "bfloat16": 12,
}
DTYPE_NAMES = {flag: name for name, flag in DTYPES.items()}
UNKNOWN_DTYPE = -1


class ShapeError(Exception):
    """A CHECK in MXNet's shape or type function fails: the graph is inconsistent."""


def known(shape: Shape) -> bool:
    return shape is not None and all(d >= 0 for d in shape)


def show(shape: Shape) -> str:
    return "None" if shape is None else "[" + ",".join(str(d) for d in shape) + "]"


@overload
def merge(a: Shape, b: tuple[int, ...]) -> tuple[int, ...]: ...


@overload
def merge(a: Shape, b: Shape) -> Shape: ...


def merge(a: Shape, b: Shape) -> Shape:
    """MXNet's `shape_assign`: the shape that agrees with both, or raise ValueError."""
    if a is None:
        return b
    if b is None or a == b:
        return a
    if len(a) != len(b):
        raise ValueError
    out = []
    for x, y in zip(a, b):
        if x == -1:
            out.append(y)
        elif y != -1 and x != y:
            raise ValueError
        else:
            out.append(x)
    return tuple(out)


def show_inferred(shape: Shape) -> str:
    """How MXNet prints the shape its operator inferred (an mshadow Shape, Python style)."""
    if shape is None:
        return "None"
    return "(" + ",".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


@overload
def assign(shapes: Shapes, index: int, shape: tuple[int, ...]) -> tuple[int, ...]: ...


@overload
def assign(shapes: Shapes, index: int, shape: Shape) -> Shape: ...


def assign(shapes: Shapes, index: int, shape: Shape) -> Shape:
    """SHAPE_ASSIGN_CHECK; the merged shape (of known rank when `shape` has one)."""
    try:
        shapes[index] = merged = merge(shapes[index], shape)
        return merged
    except ValueError:
        raise ShapeError(
            f"Shape inconsistent, Provided = {show(shapes[index])}, "
            f"inferred shape={show_inferred(shape)}"
        ) from None


def check(condition: bool, message: str) -> None:
    if not condition:
        raise ShapeError(message)


def one_input(ins: Shapes, message: str = "Input: [data]") -> Shape:
    """The only input's shape, once MXNet's CHECK_EQ(in_shape->size(), 1U) holds."""
    check(len(ins) == 1, message)
    return ins[0]


def two_inputs(ins: Shapes, message: str) -> tuple[Shape, Shape]:
    """The two inputs' shapes, once MXNet's CHECK_EQ(in_shape->size(), 2U) holds."""
    check(len(ins) == 2, message)
    return ins[0], ins[1]


def cdiv(a: int, b: int) -> int:
    """C++ integer division (truncates toward zero)."""
    if b == 0:
        raise ShapeError("division by zero")
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def size(shape: tuple[int, ...]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def elemwise_shape(ins: Shapes, outs: Shapes) -> bool:
    """ElemwiseShape: every input and output has one shape."""
    common: Shape = None
    for kind, vec in (("input", ins), ("output", outs)):
        for i, s in enumerate(vec):
            try:
                common = merge(common, s)
            except ValueError:
                raise ShapeError(
                    f"Incompatible attr in node at {i}-th {kind}: expected {show(common)}, got {show(s)}"
                ) from None
    for vec in (ins, outs):
        for i in range(len(vec)):
            vec[i] = common
    return known(common)


def elemwise_type(ins: Dtypes, outs: Dtypes) -> None:
    """ElemwiseType: every input and output has one dtype."""
    common = UNKNOWN_DTYPE
    for kind, vec in (("input", ins), ("output", outs)):
        for i, t in enumerate(vec):
            if common == UNKNOWN_DTYPE:
                common = t
            elif t != UNKNOWN_DTYPE and t != common:
                raise ShapeError(
                    f"Incompatible attr in node at {i}-th {kind}: expected "
                    f"{DTYPE_NAMES.get(common)}, got {DTYPE_NAMES.get(t)}"
                )
    for vec in (ins, outs):
        for i in range(len(vec)):
            vec[i] = common


def type_assign(types: Dtypes, index: int, dtype: int) -> None:
    """TYPE_ASSIGN_CHECK."""
    if dtype == UNKNOWN_DTYPE:
        return
    if types[index] == UNKNOWN_DTYPE:
        types[index] = dtype
    elif types[index] != dtype:
        raise ShapeError(
            f"Type inconsistent, Provided = {DTYPE_NAMES.get(types[index])}, "
            f"inferred type = {DTYPE_NAMES.get(dtype)}"
        )


Names = Callable[[Any], tuple[str, ...]]
ShapeFn = Callable[[Any, Shapes, Shapes], Any]
TypeFn = Callable[[Any, Dtypes, Dtypes], Any]


@dataclass(frozen=True)
class OpDef:
    """One MXNet operator: its parameters, inputs, outputs and inference functions."""

    name: str
    parse: Callable[[Mapping[str, str]], Any]
    inputs: Names  # argument inputs, in order
    aux: Names  # auxiliary-state inputs, after the arguments (FMutateInputs)
    outputs: Names  # output names as list_outputs suffixes; len() is the output count
    visible: Callable[[Any], int]  # FNumVisibleOutputs
    shape: ShapeFn
    dtype: TypeFn


OPS: dict[str, OpDef] = {}
# Old and alternative names MXNet 1.9.1 registers for the same operator.
ALIASES: dict[str, str] = {}


def _names(value: tuple[str, ...] | Names) -> Names:
    if callable(value):
        return value
    names = value

    def constant(_params: Any) -> tuple[str, ...]:
        return names

    return constant


def no_params(attrs: Mapping[str, str]) -> None:
    return None


def register(
    name: str,
    *,
    parse: Callable[[Mapping[str, str]], Any] = no_params,
    inputs: tuple[str, ...] | Names = ("data",),
    aux: tuple[str, ...] | Names = (),
    outputs: tuple[str, ...] | Names = ("output",),
    visible: Callable[[Any], int] | None = None,
    dtype: TypeFn | None = None,
    aliases: tuple[str, ...] = (),
) -> Callable[[ShapeFn], ShapeFn]:
    """Register the decorated shape function as operator `name` (and its aliases)."""

    def wrap(shape: ShapeFn) -> ShapeFn:
        out_names = _names(outputs)
        OPS[name] = OpDef(
            name=name,
            parse=parse,
            inputs=_names(inputs),
            aux=_names(aux),
            outputs=out_names,
            visible=visible or (lambda p: len(out_names(p))),
            shape=shape,
            dtype=dtype or (lambda _p, ins, outs: elemwise_type(ins, outs)),
        )
        for alias in aliases:
            ALIASES[alias] = name
        return shape

    return wrap
