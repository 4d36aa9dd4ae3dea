"""Tensor operators: elementwise, broadcast, reductions, reshaping, joining, creation.

Each function follows the operator's `FInferShape` in MXNet 1.9.1 (src/operator/tensor/).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from mar_lint.shapes.attrs import (
    AttrError,
    parse_axis_or_tuple,
    parse_bool,
    parse_enum,
    parse_int,
    parse_optional_int,
    parse_tuple,
)
from mar_lint.shapes.core import (
    DTYPES,
    Dtypes,
    Shape,
    ShapeError,
    Shapes,
    assign,
    cdiv,
    check,
    elemwise_shape,
    elemwise_type,
    known,
    one_input,
    register,
    show,
    size,
    two_inputs,
    type_assign,
)


def _axis(axis: int, ndim: int) -> int:
    """CheckAxis."""
    check(-ndim <= axis < ndim, f"axis {axis} exceeds the input dimension of {ndim}")
    return axis + ndim if axis < 0 else axis


def _same(p: Any, ins: Shapes, outs: Shapes) -> bool:
    return elemwise_shape(ins, outs)


# -- elementwise -------------------------------------------------------------------------------

UNARY = (
    "relu sigmoid tanh exp log sqrt rsqrt square abs sign negative reciprocal floor ceil round "
    "rint fix trunc sin cos tan arcsin arccos arctan sinh cosh arcsinh arccosh arctanh erf "
    "erfinv log1p expm1 log2 log10 softsign cbrt rcbrt gamma gammaln degrees radians "
    "logical_not _copy BlockGrad zeros_like ones_like hard_sigmoid identity "
    "_contrib_div_sqrt_dim reshape_like_disabled"
).split()
UNARY_ALIASES = {
    "_copy": ("identity",),
    "BlockGrad": ("stop_gradient",),
}

for _name in UNARY:
    if _name in ("identity", "reshape_like_disabled"):
        continue
    register(_name, parse=lambda a: None, aliases=UNARY_ALIASES.get(_name, ()))(_same)
# make_loss (elemwise_unary_op_basic.cc) names its output "loss"; the legacy MakeLoss
# (make_loss.cc) is a distinct operator that keeps "output".
register("make_loss", parse=lambda a: None, outputs=("loss",))(_same)
register("MakeLoss", parse=lambda a: None)(_same)


@register("clip", parse=lambda a: None)
def clip(p: Any, ins: Shapes, outs: Shapes) -> bool:
    check(len(ins) == 1, "clip takes one input")
    return elemwise_shape(ins, outs)


BINARY = {
    "elemwise_add": ("_add", "_plus", "_Plus"),
    "elemwise_sub": ("_sub", "_minus", "_Minus"),
    "elemwise_mul": ("_mul", "_Mul"),
    "elemwise_div": ("_div", "_Div"),
    "_maximum": ("_Maximum",),
    "_minimum": ("_Minimum",),
    "_power": ("_Power",),
    "_hypot": ("_Hypot",),
    "_mod": ("_Mod",),
    "_equal": ("_Equal",),
    "_not_equal": ("_Not_Equal",),
    "_greater": ("_Greater",),
    "_greater_equal": ("_Greater_Equal",),
    "_lesser": ("_Lesser",),
    "_lesser_equal": ("_Lesser_Equal",),
    "_logical_and": ("_Logical_And",),
    "_logical_or": ("_Logical_Or",),
    "_logical_xor": ("_Logical_Xor",),
    "_grad_add": (),
}


def _binary(p: Any, ins: Shapes, outs: Shapes) -> bool:
    check(len(ins) == 2, "needs two inputs: lhs, rhs")
    return elemwise_shape(ins, outs)


for _name, _aliases in BINARY.items():
    register(_name, inputs=("lhs", "rhs"), aliases=_aliases)(_binary)


SCALAR = (
    "plus minus rminus mul div rdiv power rpower maximum minimum mod rmod hypot equal not_equal "
    "greater greater_equal lesser lesser_equal logical_and logical_or logical_xor"
).split()
_SCALAR_OLD = {
    "plus": "_PlusScalar",
    "minus": "_MinusScalar",
    "rminus": "_RMinusScalar",
    "mul": "_MulScalar",
    "div": "_DivScalar",
    "rdiv": "_RDivScalar",
    "power": "_PowerScalar",
    "rpower": "_RPowerScalar",
    "maximum": "_MaximumScalar",
    "minimum": "_MinimumScalar",
    "mod": "_ModScalar",
    "rmod": "_RModScalar",
    "hypot": "_HypotScalar",
    "equal": "_EqualScalar",
    "not_equal": "_NotEqualScalar",
    "greater": "_GreaterScalar",
    "greater_equal": "_GreaterEqualScalar",
    "lesser": "_LesserScalar",
    "lesser_equal": "_LesserEqualScalar",
    "logical_and": "_LogicalAndScalar",
    "logical_or": "_LogicalOrScalar",
    "logical_xor": "_LogicalXorScalar",
}


def _unary_one(p: Any, ins: Shapes, outs: Shapes) -> bool:
    check(len(ins) == 1, "takes one input")
    return elemwise_shape(ins, outs)


for _name in SCALAR:
    _old = _SCALAR_OLD.get(_name)
    register(f"_{_name}_scalar", parse=lambda a: None, aliases=(_old,) if _old else ())(_unary_one)


class SumParams(NamedTuple):
    num_args: int


@register(
    "add_n",
    parse=lambda a: SumParams(parse_int(a, "num_args")),
    inputs=lambda p: tuple(f"arg{i}" for i in range(p.num_args)),
    aliases=("ElementWiseSum", "_sparse_ElementWiseSum", "_sparse_add_n"),
)
def add_n(p: SumParams, ins: Shapes, outs: Shapes) -> bool:
    check(len(ins) == p.num_args, "the number of inputs must equal num_args")
    return elemwise_shape(ins, outs)


def broadcast_shapes(lhs: tuple[int, ...], rhs: tuple[int, ...]) -> tuple[int, ...]:
    ndim = max(len(lhs), len(rhs))
    out = [-1] * ndim
    bl, br = ndim - len(lhs), ndim - len(rhs)
    for i in range(ndim):
        left = lhs[i - bl] if i >= bl else 1
        right = rhs[i - br] if i >= br else 1
        if left < 0 or right < 0:
            continue
        if left != right:
            check(
                left == 1 or right == 1,
                f"operands could not be broadcast together with shapes {show(lhs)} {show(rhs)}",
            )
            out[i] = right if left == 1 else left
        else:
            out[i] = left
    return tuple(out)


BROADCAST = {
    "add": ("broadcast_plus",),
    "sub": ("broadcast_minus",),
    "mul": (),
    "div": (),
    "mod": (),
    "power": (),
    "maximum": (),
    "minimum": (),
    "hypot": (),
    "equal": (),
    "not_equal": (),
    "greater": (),
    "greater_equal": (),
    "lesser": (),
    "lesser_equal": (),
    "logical_and": (),
    "logical_or": (),
    "logical_xor": (),
}


def _broadcast(p: Any, ins: Shapes, outs: Shapes) -> bool:
    lhs, rhs = two_inputs(ins, "needs two inputs: lhs, rhs")
    if lhs is None or rhs is None:
        return False
    if lhs == rhs:
        assign(outs, 0, lhs)
        return known(lhs)
    assign(outs, 0, broadcast_shapes(lhs, rhs))
    return known(lhs) and known(rhs) and known(outs[0])


for _name, _aliases in BROADCAST.items():
    register(f"broadcast_{_name}", inputs=("lhs", "rhs"), aliases=_aliases)(_broadcast)


# -- dtype conversion and creation -------------------------------------------------------------


def _dtype_param(attrs: Mapping[str, str], default: str | None) -> int:
    name = parse_enum(attrs, "dtype", tuple(DTYPES), default)
    if name is None:
        raise AttrError("Required parameter dtype is not presented")
    return DTYPES[name]


def _cast_type(p: int, ins: Dtypes, outs: Dtypes) -> None:
    type_assign(outs, 0, p)
    return None


@register("Cast", parse=lambda a: _dtype_param(a, None), dtype=_cast_type, aliases=("cast",))
def cast(p: int, ins: Shapes, outs: Shapes) -> bool:
    check(len(ins) == 1, "Cast takes one input")
    return elemwise_shape(ins, outs)


class InitParams(NamedTuple):
    shape: tuple[int, ...]
    dtype: int


def _init_type(p: InitParams, ins: Dtypes, outs: Dtypes) -> None:
    type_assign(outs, 0, p.dtype)


def _init(p: InitParams, ins: Shapes, outs: Shapes) -> bool:
    check(len(ins) == 0, "takes no inputs")
    shape = tuple(-1 if d == 0 else d for d in p.shape) if p.shape else None
    assign(outs, 0, shape)
    return known(outs[0])


for _name in ("_zeros", "_ones", "_full"):
    register(
        _name,
        parse=lambda a: InitParams(parse_tuple(a, "shape") or (), _dtype_param(a, "float32")),
        inputs=(),
        dtype=_init_type,
    )(_init)


# -- reductions --------------------------------------------------------------------------------


class ReduceParams(NamedTuple):
    axis: tuple[int, ...] | None
    keepdims: bool
    exclude: bool


def reduce_shape(ishape: tuple[int, ...], p: ReduceParams) -> tuple[int, ...]:
    """ReduceAxesShapeImpl."""
    ndim = len(ishape)
    if not p.axis:
        return (1,) * ndim if p.keepdims else (1,)
    axes = sorted(a + ndim if a < 0 else a for a in p.axis)
    for a, b in zip(axes, axes[1:]):
        check(a < b, f"Reduction axes have duplicates {axes}")
    check(axes[-1] < ndim, f"Reduction axis {axes[-1]} Exceeds input dimensions {show(ishape)}")
    check(axes[0] >= 0, f"Reduction axis {p.axis} Exceeds input dimensions {show(ishape)}")
    if p.keepdims and p.exclude:
        return tuple(d if i in axes else 1 for i, d in enumerate(ishape))
    if p.keepdims:
        return tuple(1 if i in axes else d for i, d in enumerate(ishape))
    if p.exclude:
        return tuple(ishape[a] for a in axes)
    kept = tuple(d for i, d in enumerate(ishape) if i not in axes)
    return kept or (1,)


def _parse_reduce(a: Mapping[str, str]) -> ReduceParams:
    return ReduceParams(
        parse_axis_or_tuple(a, "axis"), parse_bool(a, "keepdims"), parse_bool(a, "exclude")
    )


def _reduce(p: ReduceParams, ins: Shapes, outs: Shapes) -> bool:
    data = one_input(ins, "reduction takes one input")
    if data is None:
        return False
    assign(outs, 0, reduce_shape(data, p))
    return True


REDUCE = {
    "sum": ("sum_axis",),
    "mean": (),
    "prod": (),
    "nansum": (),
    "nanprod": (),
    "max": ("max_axis",),
    "min": ("min_axis",),
}
for _name, _aliases in REDUCE.items():
    register(_name, parse=_parse_reduce, aliases=_aliases)(_reduce)


class ArgParams(NamedTuple):
    axis: int | None
    keepdims: bool


@register(
    "argmax",
    parse=lambda a: ArgParams(parse_optional_int(a, "axis"), parse_bool(a, "keepdims")),
    aliases=("argmin",),
)
def argmax(p: ArgParams, ins: Shapes, outs: Shapes) -> bool:
    data = one_input(ins, "takes one input")
    if data is None:
        return False
    if p.axis is None:
        assign(outs, 0, (1,) * len(data) if p.keepdims else (1,))
        return True
    axis = _axis(p.axis, len(data))
    if p.keepdims:
        out = tuple(1 if i == axis else d for i, d in enumerate(data))
    else:
        out = tuple(d for i, d in enumerate(data) if i != axis) or (1,)
    assign(outs, 0, out)
    return True


class SoftmaxParams(NamedTuple):
    axis: int
    dtype: int | None
    use_length: bool


def _softmax_type(p: SoftmaxParams, ins: Dtypes, outs: Dtypes) -> None:
    if p.dtype is None:
        elemwise_type(ins, outs)
        return
    type_assign(outs, 0, p.dtype)


def _parse_softmax(a: Mapping[str, str]) -> SoftmaxParams:
    name = parse_enum(a, "dtype", ("float16", "float32", "float64"), None)
    return SoftmaxParams(
        parse_int(a, "axis", -1),
        None if name is None else DTYPES[name],
        parse_bool(a, "use_length"),
    )


@register(
    "softmax",
    parse=_parse_softmax,
    inputs=lambda p: ("data", "length") if p.use_length else ("data",),
    dtype=_softmax_type,
    aliases=("log_softmax", "softmin"),
)
def softmax(p: SoftmaxParams, ins: Shapes, outs: Shapes) -> bool:
    if p.use_length:
        data = ins[0]
        if data is None:
            return False
        axis = _axis(p.axis, len(data))
        assign(ins, 1, tuple(d for i, d in enumerate(data) if i != axis))
        assign(outs, 0, data)
        return True
    check(len(ins) == 1, "softmax takes one input")
    return elemwise_shape(ins, outs)


# -- reshaping ---------------------------------------------------------------------------------


class ReshapeParams(NamedTuple):
    shape: tuple[int, ...]
    reverse: bool
    target_shape: tuple[int, ...] | None
    keep_highest: bool


def infer_reshape(param: tuple[int, ...], dshape: tuple[int, ...], reverse: bool) -> list[int]:
    """InferReshapeShape: the special values 0, -1, -2, -3, -4 and `reverse`.

    Long because it is a line-for-line port of MXNet's one C++ function
    (src/operator/tensor/matrix_op-inl.h), kept whole so the two read side by side."""
    dims = list(dshape)
    spec = list(param)
    if reverse:
        dims.reverse()
        spec.reverse()
    out: list[int] = []
    src = 0
    inferred = -1
    i = 0
    while i < len(spec):
        value = spec[i]
        if value == 0:
            check(src < len(dims), "Reshape: 0 refers past the input's dimensions")
            out.append(dims[src])
            src += 1
        elif value == -1:
            check(inferred < 0, "One and only one dim can be inferred")
            inferred = i  # MXNet keeps the position in the spec, not in the output
            out.append(1)
            src += 1
        elif value == -2:
            out.extend(dims[src:])
            src = len(dims)
        elif value == -3:
            check(src < len(dims) - 1, "Reshape: -3 needs two input dimensions")
            d1, d2 = dims[src], dims[src + 1]
            src += 2
            out.append(-1 if d1 < 0 or d2 < 0 else d1 * d2)
        elif value == -4:
            check(i + 2 < len(spec), "Reshape: -4 needs two dimensions after it")
            check(src < len(dims), "Reshape: -4 refers past the input's dimensions")
            d0 = dims[src]
            src += 1
            d1, d2 = spec[i + 1], spec[i + 2]
            i += 2
            check(d1 != -1 or d2 != -1, "Split dims cannot both be -1.")
            if d1 == -1 and d0 >= 0:
                d1 = cdiv(d0, d2)
            if d2 == -1 and d0 >= 0:
                d2 = cdiv(d0, d1)
            check(
                d1 * d2 == d0 or d0 == -1, f"Split dims {d1}, {d2} do not divide original dim {d0}"
            )
            out.extend((d1, d2))
        else:
            out.append(value)
            src += 1
        i += 1
    if inferred >= 0:
        if known(dshape):
            check(inferred < len(out), "Reshape: -1 refers past the output's dimensions")
            new_size = size(tuple(out))
            out[inferred] = cdiv(size(dshape), new_size)
        else:
            check(inferred < len(out), "Reshape: -1 refers past the output's dimensions")
            out[inferred] = -1
    if reverse:
        out.reverse()
    return out


def _reverse_reshape(ins: Shapes, out: Shape) -> bool:
    """ReverseReshapeInferShape: one unknown input dimension from the output's size."""
    data = ins[0]
    if known(data) and known(out):
        return True
    if not known(out):
        return False
    assert data is not None and out is not None
    unknown = [i for i, d in enumerate(data) if d < 0]
    if len(unknown) != 1:
        return False
    rest = size(tuple(d for d in data if d >= 0))
    dims = list(data)
    dims[unknown[0]] = cdiv(size(out), rest)
    ins[0] = tuple(dims)
    return True


def _parse_reshape(a: Mapping[str, str]) -> ReshapeParams:
    return ReshapeParams(
        parse_tuple(a, "shape") or (),
        parse_bool(a, "reverse"),
        parse_tuple(a, "target_shape", None),
        parse_bool(a, "keep_highest"),
    )


@register("Reshape", parse=_parse_reshape, aliases=("reshape",))
def reshape(p: ReshapeParams, ins: Shapes, outs: Shapes) -> bool:
    data = one_input(ins, "Input: [data]")
    if data is None:
        return False
    if p.shape:
        oshape = tuple(infer_reshape(p.shape, data, p.reverse))
    elif p.target_shape is not None:
        target = list(p.target_shape)
        if p.keep_highest:
            target[0] = data[0]
        zeros = [i for i in range(1 if p.keep_highest else 0, len(target)) if target[i] == 0]
        if len(zeros) == 1:
            target[zeros[0]] = 1
            check(known(data), "Shape is unknown.")
            target[zeros[0]] = cdiv(size(data), size(tuple(target)))
        oshape = tuple(target)
    else:
        return known(outs[0]) and _reverse_reshape(ins, outs[0])
    fake: Shapes = [data]
    _reverse_reshape(fake, oshape)
    ins[0] = fake[0]
    assign(outs, 0, oshape)
    return _reverse_reshape(ins, outs[0])


@register("Flatten", aliases=("flatten",))
def flatten(p: Any, ins: Shapes, outs: Shapes) -> bool:
    data = one_input(ins, "Input: [data]")
    if data is None:
        return False
    rest = data[1:]
    target = -1 if any(d < 0 for d in rest) else size(rest)
    assign(outs, 0, (data[0], target))
    return known(outs[0])


@register("transpose", parse=lambda a: parse_tuple(a, "axes") or ())
def transpose(p: tuple[int, ...], ins: Shapes, outs: Shapes) -> bool:
    check(len(ins) == 1, "Input: [data]")
    data, out = ins[0], outs[0]
    known_rank = data if data is not None else out
    if known_rank is None:
        return False
    ndim = len(known_rank)
    axes = p or tuple(range(ndim - 1, -1, -1))
    check(len(axes) == ndim, "The number of axes must match the input's dimensions")
    axes = tuple(a + ndim if a < 0 else a for a in axes)
    check(all(0 <= a < ndim for a in axes), "transpose: axis out of range")
    if data is not None:
        assign(outs, 0, tuple(data[a] for a in axes))
    if outs[0] is not None:
        back = [-1] * ndim
        for i, a in enumerate(axes):
            back[a] = outs[0][i]
        assign(ins, 0, tuple(back))
    return known(ins[0]) and known(outs[0])


@register("expand_dims", parse=lambda a: parse_int(a, "axis"))
def expand_dims(p: int, ins: Shapes, outs: Shapes) -> bool:
    data = one_input(ins, "Input: [data]")
    if data is None:
        return False
    ndim = len(data)
    check(-ndim - 1 <= p <= ndim, f"axis {p} is out of range for {ndim}d input")
    axis = p + ndim + 1 if p < 0 else p
    assign(outs, 0, (*data[:axis], 1, *data[axis:]))
    return known(outs[0])


@register("squeeze", parse=lambda a: parse_axis_or_tuple(a, "axis"))
def squeeze(p: tuple[int, ...] | None, ins: Shapes, outs: Shapes) -> bool:
    data = one_input(ins, "Input: [data]")
    if data is None:
        return False
    ndim = len(data)
    if p is None:
        out = tuple(d for d in data if d != 1)
    else:
        axes = set()
        for a in p:
            axis = _axis(a, ndim)
            check(
                data[axis] == 1,
                "cannot select an axis to squeeze out which has size not equal to one",
            )
            axes.add(axis)
        out = tuple(d for i, d in enumerate(data) if i not in axes)
    assign(outs, 0, out or (1,))
    return known(outs[0])


@register(
    "SwapAxis",
    parse=lambda a: (parse_int(a, "dim1", 0), parse_int(a, "dim2", 0)),
    aliases=("swapaxes",),
)
def swap_axis(p: tuple[int, int], ins: Shapes, outs: Shapes) -> bool:
    data = one_input(ins, "Input: [data]")
    if data is None:
        return False
    ndim = len(data)
    a, b = (d + ndim if d < 0 else d for d in p)
    check(0 <= a < ndim and 0 <= b < ndim, "SwapAxis: axis out of range")
    dims = list(data)
    dims[a], dims[b] = dims[b], dims[a]
    outs[:] = [tuple(dims)]
    return True


class SliceParams(NamedTuple):
    begin: tuple[int | None, ...]
    end: tuple[int | None, ...]
    step: tuple[int | None, ...]


def _optional_ints(a: Mapping[str, str], key: str, required: bool) -> tuple[int | None, ...]:
    text = a.get(key)
    if text is None:
        if required:
            raise AttrError(f"Required parameter {key} is not presented")
        return ()
    body = text.strip()
    if body[:1] in "([" and body[-1:] in ")]":
        body = body[1:-1]
    parts = [s.strip() for s in body.split(",") if s.strip()]
    try:
        return tuple(None if s == "None" else int(s) for s in parts)
    except ValueError:
        raise AttrError(f"Invalid Parameter format for {key}: {text!r}") from None


def _slice_dim(length: int, begin: int | None, end: int | None, step: int) -> int:
    """GetIndexRange and SetSliceOpOutputDimSize for one axis of known length."""
    if length == 0:
        return 0
    b = begin if begin is not None else (length - 1 if step < 0 else 0)
    e = end if end is not None else (-1 if step < 0 else length)
    if b < 0:
        b += length
    if e < 0 and end is not None:
        e += length
    b = 0 if (b < 0 and step > 0) else b
    b = length - 1 if (b > length - 1 and step < 0) else b
    b = -1 if (b < 0 or b > length - 1) else b
    e = e if e > -1 else -1
    e = min(e, length)
    if e != b and b >= 0:
        if step > 0:
            return (e - b - 1) // step + 1 if e > b else 0
        return (b - e - 1) // (-step) + 1 if e < b else 0
    return 0


@register(
    "slice",
    parse=lambda a: SliceParams(
        _optional_ints(a, "begin", True),
        _optional_ints(a, "end", True),
        _optional_ints(a, "step", False),
    ),
    aliases=("crop",),
)
def slice_op(p: SliceParams, ins: Shapes, outs: Shapes) -> bool:
    data = one_input(ins, "Input: [data]")
    if data is None:
        return False
    check(len(p.begin) == len(p.end), "begin and end must have the same length")
    check(not p.step or len(p.step) == len(p.begin), "step must have the same length as begin")
    check(len(p.begin) <= len(data), "slice has more dimensions than the input")
    out = list(data)
    for i in range(len(p.begin)):
        step = p.step[i] if p.step else None
        step = 1 if step is None else step
        check(step != 0, f"slice op step[{i}] cannot be 0")
        if data[i] < 0:
            out[i] = -1
            continue
        out[i] = _slice_dim(data[i], p.begin[i], p.end[i], step)
    assign(outs, 0, tuple(out))
    return known(data) and known(outs[0])


class SliceAxisParams(NamedTuple):
    axis: int
    begin: int
    end: int | None


@register(
    "slice_axis",
    parse=lambda a: SliceAxisParams(
        parse_int(a, "axis"),
        parse_int(a, "begin"),
        parse_optional_int(a, "end") if "end" in a else _required_end(),
    ),
)
def slice_axis(p: SliceAxisParams, ins: Shapes, outs: Shapes) -> bool:
    data = one_input(ins, "Input: [data]")
    if data is None:
        return False
    axis = _axis(p.axis, len(data))
    length = data[axis]
    if length < 0:
        assign(outs, 0, data)
        return False
    begin = p.begin + length if p.begin < 0 else p.begin
    if length > 0:
        end = length if p.end is None else (p.end + length if p.end < 0 else p.end)
        check(end <= length, f"Invalid end for end={end} as axis_size is {length}")
        check(begin < end, f"Invalid begin, end, get begin={begin}, end={end}")
    else:
        begin = end = 0
    check(end >= 0, f"Invalid end for end={end}")
    check(begin >= 0, f"Invalid begin for begin={begin}")
    assign(outs, 0, tuple(end - begin if i == axis else d for i, d in enumerate(data)))
    return known(outs[0])


def _required_end() -> int:
    raise AttrError("Required parameter end of int or None is not presented")


@register("tile", parse=lambda a: parse_tuple(a, "reps", None) or ())
def tile(p: tuple[int, ...], ins: Shapes, outs: Shapes) -> bool:
    data = one_input(ins, "Input: [data]")
    if data is None:
        return False
    if not p:
        assign(outs, 0, data)
        return known(data)
    ndim = max(len(data), len(p))
    out = [0] * ndim
    i1, i2 = len(data) - 1, len(p) - 1
    for i in range(ndim - 1, -1, -1):
        if i1 >= 0 and i2 >= 0:
            out[i] = data[i1] * p[i2] if data[i1] >= 0 else -1
            i1 -= 1
            i2 -= 1
        elif i1 >= 0:
            out[i] = data[i1]
            i1 -= 1
        else:
            out[i] = p[i2]
            i2 -= 1
    assign(outs, 0, tuple(out))
    return known(data) and known(outs[0])


@register("repeat", parse=lambda a: (parse_int(a, "repeats"), parse_optional_int(a, "axis")))
def repeat(p: tuple[int, int | None], ins: Shapes, outs: Shapes) -> bool:
    data = one_input(ins, "Input: [data]")
    if data is None:
        return False
    repeats, axis = p
    check(repeats >= 0, "repeats cannot be a negative number")
    if repeats == 0:
        return False
    if axis is None:
        total = size(data) if known(data) else -1
        assign(outs, 0, (total * repeats if total >= 0 else -1,))
        return known(outs[0])
    axis = _axis(axis, len(data))
    assign(
        outs,
        0,
        tuple((d * repeats if d >= 0 else -1) if i == axis else d for i, d in enumerate(data)),
    )
    return known(outs[0])


# -- joining and splitting ---------------------------------------------------------------------


class ConcatParams(NamedTuple):
    num_args: int
    dim: int


@register(
    "Concat",
    parse=lambda a: ConcatParams(parse_int(a, "num_args"), parse_int(a, "dim", 1)),
    inputs=lambda p: tuple(f"arg{i}" for i in range(p.num_args)),
    aliases=("concat",),
)
def concat(p: ConcatParams, ins: Shapes, outs: Shapes) -> bool:
    check(len(ins) == p.num_args, "the number of inputs must equal num_args")
    from mar_lint.shapes.core import merge

    common: Shape = None
    total = 0
    unknown = False
    axis = -1
    for shape in ins:
        if shape is None:
            continue
        axis = _axis(p.dim, len(shape))
        unknown = unknown or shape[axis] < 0
        total += shape[axis]
        masked = tuple(-1 if i == axis else d for i, d in enumerate(shape))
        try:
            common = merge(common, masked)
        except ValueError:
            pass
    out = outs[0]
    if out is not None:
        axis = _axis(p.dim, len(out))
        masked = tuple(-1 if i == axis else d for i, d in enumerate(out))
        try:
            common = merge(common, masked)
        except ValueError:
            pass
    if common is None:
        return False
    check(len(common) != 0, "zero-dimensional arrays cannot be concatenated")
    for i in range(len(ins)):
        try:
            ins[i] = merge(ins[i], common)
        except ValueError:
            raise ShapeError(
                f"Incompatible input shape: expected {show(common)}, got {show(ins[i])}"
            ) from None
    if not unknown:
        common = tuple(total if i == axis else d for i, d in enumerate(common))
    try:
        outs[0] = merge(outs[0], common)
    except ValueError:
        raise ShapeError(
            f"Incompatible output shape: expected {show(common)}, got {show(outs[0])}"
        ) from None
    return known(common)


class StackParams(NamedTuple):
    axis: int
    num_args: int


@register(
    "stack",
    parse=lambda a: StackParams(parse_int(a, "axis", 0), parse_int(a, "num_args")),
    inputs=lambda p: tuple(f"arg{i}" for i in range(p.num_args)),
)
def stack(p: StackParams, ins: Shapes, outs: Shapes) -> bool:
    check(len(ins) == p.num_args, "the number of inputs must equal num_args")
    from mar_lint.shapes.core import merge

    # StackOpShape merges what the inputs agree on (a disagreement is ignored here) and
    # writes nothing back to them.
    common: Shape = None
    for shape in ins:
        try:
            common = merge(common, shape)
        except ValueError:
            pass
    if not known(common):
        return False
    assert common is not None
    ndim = len(common) + 1
    axis = _axis(p.axis, ndim)
    assign(outs, 0, (*common[:axis], p.num_args, *common[axis:]))
    return known(outs[0])


# More outputs than any real graph has: refused before a name is made for each.
MAX_OUTPUTS = 1 << 16


def _parse_split(a: Mapping[str, str]) -> SplitParams:
    outputs = parse_int(a, "num_outputs")
    if not 0 < outputs <= MAX_OUTPUTS:
        raise AttrError(f"num_outputs={outputs} is out of range (1 to {MAX_OUTPUTS})")
    return SplitParams(outputs, parse_int(a, "axis", 1), parse_bool(a, "squeeze_axis"))


class SplitParams(NamedTuple):
    num_outputs: int
    axis: int
    squeeze_axis: bool


@register(
    "SliceChannel",
    parse=_parse_split,
    outputs=lambda p: tuple(f"output{i}" for i in range(p.num_outputs)),
    aliases=("split",),
)
def slice_channel(p: SplitParams, ins: Shapes, outs: Shapes) -> bool:
    data = one_input(ins, "Input: [data]")
    if data is None:
        return False
    ndim = len(data)
    check(-ndim <= p.axis < ndim, "axis out of range")
    axis = p.axis + ndim if p.axis < 0 else p.axis
    dims = list(data)
    if dims[axis] >= 0:
        check(
            dims[axis] % p.num_outputs == 0,
            f"You are trying to split the {axis}-th axis of input tensor with shape {show(data)} "
            f"into num_outputs={p.num_outputs} evenly sized chunks, but this is not possible "
            f"because {p.num_outputs} does not evenly divide {dims[axis]}",
        )
        if p.squeeze_axis:
            check(
                dims[axis] == p.num_outputs,
                "If squeeze axis is True, the size of the sliced axis must be the same as num_outputs.",
            )
        dims[axis] //= p.num_outputs
    if p.squeeze_axis and (dims[axis] == 1 or data[axis] < 0):
        del dims[axis]
    for i in range(p.num_outputs):
        assign(outs, i, tuple(dims))
    return known(data)


# -- linear algebra and selection --------------------------------------------------------------


class DotParams(NamedTuple):
    transpose_a: bool
    transpose_b: bool


def _parse_dot(a: Mapping[str, str]) -> DotParams:
    return DotParams(parse_bool(a, "transpose_a"), parse_bool(a, "transpose_b"))


@register("dot", parse=_parse_dot, inputs=("lhs", "rhs"))
def dot(p: DotParams, ins: Shapes, outs: Shapes) -> bool:
    lhs, rhs = two_inputs(ins, "dot needs lhs and rhs")
    if lhs is None or rhs is None:
        return False
    if len(lhs) == 1 and len(rhs) == 1:
        check(lhs[0] == rhs[0] or -1 in (lhs[0], rhs[0]), "dot: shapes do not match")
        assign(outs, 0, (1,))
        return True
    left = lhs[:-1] if not p.transpose_a else lhs[1:]
    inner_l = lhs[-1] if not p.transpose_a else lhs[0]
    inner_r = rhs[0] if not p.transpose_b else rhs[-1]
    right = rhs[1:] if not p.transpose_b else rhs[:-1]
    check(
        inner_l == inner_r or inner_l < 0 or inner_r < 0,
        f"dot shape error: {show(lhs)} X {show(rhs)}",
    )
    assign(outs, 0, (*left, *right) or (1,))
    return known(outs[0])


@register("batch_dot", parse=_parse_dot, inputs=("lhs", "rhs"))
def batch_dot(p: DotParams, ins: Shapes, outs: Shapes) -> bool:
    lhs, rhs = two_inputs(ins, "batch_dot needs lhs and rhs")
    if lhs is None or rhs is None:
        return False
    check(
        len(lhs) >= 3 and len(rhs) >= 3 and len(lhs) == len(rhs),
        "batch_dot only supports N-D (N>=3) inputs of equal rank",
    )
    check(lhs[:-2] == rhs[:-2], "batch_dot: batch dimensions differ")
    m = lhs[-1] if p.transpose_a else lhs[-2]
    k1 = lhs[-2] if p.transpose_a else lhs[-1]
    k2 = rhs[-1] if p.transpose_b else rhs[-2]
    n = rhs[-2] if p.transpose_b else rhs[-1]
    check(k1 == k2, f"batch_dot shape error: {show(lhs)} X {show(rhs)}")
    assign(outs, 0, (*lhs[:-2], m, n))
    return known(outs[0])


def _where_type(p: Any, ins: Dtypes, outs: Dtypes) -> None:
    rest = [ins[1], ins[2]]
    elemwise_type(rest, outs)
    ins[1], ins[2] = rest


@register("where", inputs=("condition", "x", "y"), dtype=_where_type)
def where(p: Any, ins: Shapes, outs: Shapes) -> bool:
    check(len(ins) == 3, "where needs condition, x and y")
    cond = ins[0]
    rest = [ins[1], ins[2]]
    ok = elemwise_shape(rest, outs)
    ins[1], ins[2] = rest
    x = ins[1]
    if cond is None or x is None:
        return False
    if cond != x:
        check(
            len(cond) == 1 and cond[0] == x[0],
            "condition must have the shape of x, or be 1-D of size x.shape[0]",
        )
    return ok
