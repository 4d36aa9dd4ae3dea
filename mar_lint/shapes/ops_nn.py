"""Neural-network layers: one shape function per MXNet 1.9.1 operator, with its parameters.

Each function follows the operator's `FInferShape` in MXNet 1.9.1 (the file is named above
it): the same checks, in the same order, filling weights and outputs the same way.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, NamedTuple

from mar_lint.shapes.attrs import (
    AttrError,
    parse_bool,
    parse_enum,
    parse_float,
    parse_int,
    parse_optional_int,
    parse_tuple,
)
from mar_lint.shapes.core import (
    DTYPES,
    UNKNOWN_DTYPE,
    Dtypes,
    ShapeError,
    Shapes,
    assign,
    cdiv,
    check,
    elemwise_shape,
    known,
    one_input,
    register,
    show,
    size,
    type_assign,
)

LAYOUTS = ("NCW", "NCHW", "NCDHW", "NWC", "NHWC", "NDHWC")


def _to_nc(shape: tuple[int, ...], layout: str) -> tuple[int, ...]:
    """ConvertLayout to channels-first."""
    if layout.startswith("NC"):
        return shape
    return (shape[0], shape[-1], *shape[1:-1])


def _from_nc(shape: tuple[int, ...], layout: str) -> tuple[int, ...]:
    if layout.startswith("NC"):
        return shape
    return (shape[0], *shape[2:], shape[1])


# -- Convolution / Deconvolution (src/operator/nn/convolution.cc, deconvolution.cc) ------------


class ConvParams(NamedTuple):
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    dilate: tuple[int, ...]
    pad: tuple[int, ...]
    num_filter: int
    num_group: int
    no_bias: bool
    layout: str
    adj: tuple[int, ...] = ()
    target_shape: tuple[int, ...] = ()


def _parse_conv(attrs: Mapping[str, str], deconv: bool) -> ConvParams:
    kernel = parse_tuple(attrs, "kernel", None)
    if kernel is None:
        raise AttrError("Required parameter kernel of Shape(tuple) is not presented")
    n = len(kernel)
    stride = parse_tuple(attrs, "stride") or (1,) * n
    dilate = parse_tuple(attrs, "dilate") or (1,) * n
    pad = parse_tuple(attrs, "pad") or (0,) * n
    default_layout = {1: "NCW", 2: "NCHW", 3: "NCDHW"}.get(n)
    layout = parse_enum(attrs, "layout", LAYOUTS, None) or default_layout
    if layout is None:
        raise AttrError(f"kernel must have 1 to 3 dimensions, got {n}")
    params = ConvParams(
        kernel,
        stride,
        dilate,
        pad,
        parse_int(attrs, "num_filter"),
        parse_int(attrs, "num_group", 1),
        parse_bool(attrs, "no_bias", deconv),
        layout,
    )
    if deconv:
        adj = parse_tuple(attrs, "adj") or (0,) * n
        target = parse_tuple(attrs, "target_shape") or (0,) * n
        params = params._replace(adj=adj, target_shape=target)
    for field in ("stride", "dilate", "pad"):
        if len(getattr(params, field)) != n:
            raise ShapeError(f"{field} must have the same number of dimensions as kernel")
    return params


def _conv_inputs(p: ConvParams) -> tuple[str, ...]:
    return ("data", "weight") if p.no_bias else ("data", "weight", "bias")


def _expected_inputs(p: ConvParams, ins: Shapes) -> None:
    if p.no_bias:
        check(len(ins) == 2, "Input:[data, weight]")
    else:
        check(len(ins) == 3, "Input:[data, weight, bias]")


@register(
    "Convolution",
    parse=lambda a: _parse_conv(a, False),
    inputs=_conv_inputs,
)
def convolution(p: ConvParams, ins: Shapes, outs: Shapes) -> bool:
    _expected_inputs(p, ins)
    data = ins[0]
    if data is None:
        return False
    n = len(p.kernel)
    check(len(data) == n + 2, f"Input data should be {n + 2}D")
    d = list(_to_nc(data, p.layout))
    g = p.num_group
    wshape = [cdiv(p.num_filter, g), cdiv(d[1], g) if d[1] != -1 else -1, *p.kernel]
    wshape_l = list(_from_nc(tuple(wshape), p.layout))
    if wshape_l[0] >= 0:
        wshape_l[0] *= g
    assign(ins, 1, tuple(wshape_l))
    if not p.no_bias:
        assign(ins, 2, (p.num_filter,))
    dilated = [p.dilate[i] * (p.kernel[i] - 1) + 1 for i in range(n)]
    if d[1] != -1:
        check(d[1] % g == 0, "input num_filter must divide group size")
    check(p.num_filter % g == 0, "output num_filter must divide group size")
    check(size(p.kernel) > 0, f"incorrect kernel size: {p.kernel}")
    check(size(p.stride) > 0, f"incorrect stride size: {p.stride}")
    check(size(p.dilate) > 0, f"incorrect dilate size: {p.dilate}")
    out = [d[0], p.num_filter]
    for i in range(n):
        x = d[2 + i]
        out.append(cdiv(x + 2 * p.pad[i] - dilated[i], p.stride[i]) + 1 if x != -1 else -1)
    o = _to_nc(assign(outs, 0, _from_nc(tuple(out), p.layout)), p.layout)
    d[0] = o[0]
    for i in range(n):
        if o[2 + i] != -1 and p.stride[i] == 1:
            d[2 + i] = o[2 + i] + dilated[i] - 1 - 2 * p.pad[i]
    assign(ins, 0, _from_nc(tuple(d), p.layout))
    for i in range(n):
        if d[2 + i] != -1:
            check(dilated[i] <= d[2 + i] + 2 * p.pad[i], "kernel size exceed input")
    return True


def _deconv_pad(p: ConvParams, d: list[int]) -> tuple[list[int], list[int]]:
    """DeconvolutionParam::InferPad: `target_shape` overrides pad and adj."""
    n = len(p.kernel)
    if any(t != 0 for t in p.target_shape):
        pads, adjs = [0] * n, [0] * n
        for i in range(n):
            x = d[len(d) - n + i]
            if x != -1:
                total = p.stride[i] * (x - 1) + p.dilate[i] * (p.kernel[i] - 1) + 1
                check(total >= p.target_shape[i], "too big target shape")
                total -= p.target_shape[i]
                adjs[i] = total % 2
                pads[i] = (total + 1) // 2
        return pads, adjs
    return list(p.pad), list(p.adj)


@register("Deconvolution", parse=lambda a: _parse_conv(a, True), inputs=_conv_inputs)
def deconvolution(p: ConvParams, ins: Shapes, outs: Shapes) -> bool:
    _expected_inputs(p, ins)
    data = ins[0]
    if data is None:
        return False
    n = len(p.kernel)
    check(n <= 2, "If not using CUDNN or MKLDNN, only 1D or 2D Deconvolution is supported")
    check(len(data) == n + 2, f"Input data should be {n + 2}D")
    d = list(_to_nc(data, p.layout))
    g = p.num_group
    assign(ins, 1, _from_nc((d[1], cdiv(p.num_filter, g), *p.kernel), p.layout))
    if not p.no_bias:
        assign(ins, 2, (p.num_filter,))
    pads, adjs = _deconv_pad(p, d)
    check(
        d[1] % g == 0 if d[1] >= 0 else (-d[1]) % g == 0, "input num_filter must divide group size"
    )
    check(p.num_filter % g == 0, "output num_filter must divide group size")
    check(size(p.kernel) > 0, f"incorrect kernel size: {p.kernel}")
    check(size(p.stride) > 0, f"incorrect stride size: {p.stride}")
    check(size(p.dilate) > 0, f"incorrect dilate size: {p.dilate}")
    for i in range(n):
        check(p.stride[i] - 1 >= adjs[i], "adj must be smaller than stride")
    out = [d[0], p.num_filter]
    for i in range(n):
        x = d[2 + i]
        dilated = p.dilate[i] * (p.kernel[i] - 1) + 1
        out.append(p.stride[i] * (x - 1) + dilated - 2 * pads[i] + adjs[i] if x != -1 else -1)
    if len(p.target_shape) >= n:
        for i in range(n):
            if p.target_shape[i] > 0:
                check(p.target_shape[i] == out[2 + i], "target_shape was not reasonable")
    o = _to_nc(assign(outs, 0, _from_nc(tuple(out), p.layout)), p.layout)
    d[0] = o[0]
    assign(ins, 0, _from_nc(tuple(d), p.layout))
    return True


# -- Pooling (src/operator/nn/pooling.cc) ------------------------------------------------------


class PoolParams(NamedTuple):
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    pad: tuple[int, ...]
    pool_type: str
    convention: str
    global_pool: bool
    layout: str | None
    p_value: int | None


def _parse_pool(attrs: Mapping[str, str]) -> PoolParams:
    kernel = parse_tuple(attrs, "kernel") or ()
    stride = parse_tuple(attrs, "stride") or ()
    pad = parse_tuple(attrs, "pad") or ()
    global_pool = parse_bool(attrs, "global_pool")
    n = len(kernel)
    if n == 1 or n == 2:
        stride = stride or (1,) * n
        pad = pad or (0,) * n
    else:
        if not global_pool and n != 3:
            raise AttrError(f"{n}D pooling not supported")
        stride = stride or (1, 1, 1)
        pad = pad or (0, 0, 0)
    layout = parse_enum(attrs, "layout", LAYOUTS, None)
    if n and layout is None:
        layout = {1: "NCW", 2: "NCHW", 3: "NCDHW"}[n]
    return PoolParams(
        kernel,
        stride,
        pad,
        parse_enum(attrs, "pool_type", ("max", "avg", "sum", "lp"), "max"),
        parse_enum(attrs, "pooling_convention", ("full", "valid", "same"), "valid"),
        global_pool,
        layout,
        parse_optional_int(attrs, "p_value"),
    )


def _pool_out(p: PoolParams, x: int, i: int) -> int:
    padded = x + 2 * p.pad[i]
    check(
        p.kernel[i] <= padded, f"kernel size ({p.kernel[i]}) exceeds input ({x} padded to {padded})"
    )
    if p.convention == "valid":
        return 1 + cdiv(padded - p.kernel[i], p.stride[i])
    if p.convention == "full" or len(p.kernel) > 1:
        return 1 + math.ceil((padded - p.kernel[i]) / p.stride[i])
    return math.ceil(padded / p.stride[i])


@register("Pooling", parse=_parse_pool)
def pooling(p: PoolParams, ins: Shapes, outs: Shapes) -> bool:
    data = one_input(ins, "Input:[data]")
    if data is None:
        return False
    if p.pool_type == "lp":
        check(p.p_value is not None, "p_value must be set for lp pooling")
    if p.convention == "same":
        check(
            len(data) == 3,
            "Pooling: Input data should be 3D in (batch, channel, x). "
            "Currently 'same' supports Max Pooling 1-D",
        )
        # MXNet reads pad[0..2] whatever the kernel's rank: a shorter pad fails the index check.
        check(len(p.pad) >= 3, f"index = {len(p.pad)} must be in range [0, {len(p.pad)})")
        check(not any(p.pad[:3]), "Same pooling convention disables the use of pad parameter.")
    check(3 <= len(data) <= 5, "Pooling: Input data should be 3D, 4D or 5D")
    layout = p.layout or {3: "NCW", 4: "NCHW", 5: "NCDHW"}[len(data)]
    if p.global_pool:
        c = 1 if layout.startswith("NC") else len(data) - 1
        outs[0] = tuple(d if i in (0, c) else 1 for i, d in enumerate(data))
        return True
    n = len(p.kernel)
    if n == 0:
        return False
    check(len(data) == n + 2, f"Pooling: Input data should be {n + 2}D")
    check(len(layout) == n + 2, f"Need {n}D layout")
    d = _to_nc(data, layout)
    out = (d[0], d[1], *(_pool_out(p, d[2 + i], i) for i in range(n)))
    outs[0] = _from_nc(out, layout)
    return True


# -- FullyConnected (src/operator/nn/fully_connected.cc) ---------------------------------------


class FCParams(NamedTuple):
    num_hidden: int
    no_bias: bool
    flatten: bool


@register(
    "FullyConnected",
    parse=lambda a: FCParams(
        parse_int(a, "num_hidden"), parse_bool(a, "no_bias"), parse_bool(a, "flatten", True)
    ),
    inputs=lambda p: ("data", "weight") if p.no_bias else ("data", "weight", "bias"),
)
def fully_connected(p: FCParams, ins: Shapes, outs: Shapes) -> bool:
    check(len(ins) == (2 if p.no_bias else 3), "Input:[data, weight, bias]")
    data = ins[0]
    if data is None:
        return False
    oshape = outs[0]
    if p.flatten:
        rest = data[1:]
        check(all(x >= 0 for x in rest), "Shape dim size must be known")
        num_input = size(rest)
    else:
        num_input = data[-1]
    assign(ins, 1, (p.num_hidden, num_input))
    if not p.no_bias:
        try:
            assign(ins, 2, (p.num_hidden,))
        except ShapeError:
            try:
                assign(ins, 2, (p.num_hidden, 1))
            except ShapeError:
                raise ShapeError(f"Unexpected shape for bias {show(ins[2])}") from None
    if p.flatten:
        assign(outs, 0, (data[0], p.num_hidden))
    else:
        assign(outs, 0, (*data[:-1], p.num_hidden))
    if oshape is not None:
        assign(ins, 0, (oshape[0], *data[1:]))
    return True


# -- BatchNorm and the other normalisations ----------------------------------------------------


class NormParams(NamedTuple):
    axis: int
    eps: float


def _batch_norm_type(p: Any, ins: Dtypes, outs: Dtypes) -> None:
    """BatchNormType: float16 data keeps its parameters in float32."""
    dtype = ins[0]
    if dtype == UNKNOWN_DTYPE:
        if not outs or outs[0] == UNKNOWN_DTYPE:
            return
        dtype = ins[0] = outs[0]
    param = DTYPES["float32"] if dtype == DTYPES["float16"] else dtype
    outs[:] = [dtype] + [param] * (len(outs) - 1)
    for i in range(1, len(ins)):
        if ins[i] == UNKNOWN_DTYPE:
            ins[i] = param
        elif ins[i] != param:
            raise ShapeError(f"This layer requires uniform type. Expected {param} got {ins[i]}")


@register(
    "BatchNorm",
    parse=lambda a: NormParams(parse_int(a, "axis", 1), parse_float(a, "eps", 1e-3)),
    inputs=("data", "gamma", "beta"),
    aux=("moving_mean", "moving_var"),
    outputs=("output", "mean", "var"),
    visible=lambda p: 1,
    dtype=_batch_norm_type,
)
def batch_norm(p: NormParams, ins: Shapes, outs: Shapes) -> bool:
    check(len(ins) == 5, "Input:[data, gamma, beta, MovingMean, MovingVar]")
    data = ins[0]
    if data is None:
        return False
    axis = p.axis + len(data) if p.axis < 0 else p.axis
    check(0 <= axis < len(data), f"Channel axis out of range: {p.axis}")
    channels = (data[axis],)
    ins[1:5] = [channels] * 4
    outs[:] = [data, channels, channels]
    return True


@register(
    "InstanceNorm",
    parse=lambda a: NormParams(1, parse_float(a, "eps", 1e-3)),
    inputs=("data", "gamma", "beta"),
    outputs=("output", "mean", "var"),
    visible=lambda p: 1,
)
def instance_norm(p: NormParams, ins: Shapes, outs: Shapes) -> bool:
    check(len(ins) == 3, "Input:[data, gamma, beta]")
    data = ins[0]
    if data is None:
        return False
    ins[1] = (data[1],)
    ins[2] = (data[1],)
    outs[:] = [data, (data[0], data[1]), (data[0], data[1])]
    return True


@register(
    "LayerNorm",
    parse=lambda a: NormParams(parse_int(a, "axis", -1), parse_float(a, "eps", 1e-5)),
    inputs=("data", "gamma", "beta"),
    outputs=("output", "mean", "std"),
    visible=lambda p: 1,
)
def layer_norm(p: NormParams, ins: Shapes, outs: Shapes) -> bool:
    check(len(ins) == 3, "Input:[data, gamma, beta]")
    data = ins[0]
    if data is None:
        return False
    axis = p.axis + len(data) if p.axis < 0 else p.axis
    check(0 <= axis < len(data), "Channel axis out of range")
    channels = data[axis]
    if channels == -1:
        return False
    assign(ins, 1, (channels,))
    assign(ins, 2, (channels,))
    reduced = tuple(1 if i == axis else d for i, d in enumerate(data))
    outs[:] = [data, reduced, reduced]
    return True


class L2Params(NamedTuple):
    mode: str


@register(
    "L2Normalization",
    parse=lambda a: L2Params(parse_enum(a, "mode", ("channel", "instance", "spatial"), "instance")),
    outputs=("output", "norm"),
    visible=lambda p: 1,
)
def l2_normalization(p: L2Params, ins: Shapes, outs: Shapes) -> bool:
    data = one_input(ins, "L2Normalization layer only accepts data as input")
    if data is None:
        return False
    if p.mode == "instance":
        norm: tuple[int, ...] = (data[0],)
    elif p.mode == "channel":
        check(len(data) >= 3, "At lease 3 dimensions required in channel mode")
        norm = (data[0], *data[2:])
    else:
        check(len(data) >= 3, "At lease 3 dimensions required in spatial mode")
        norm = (data[0], data[1])
    outs[:] = [data, norm]
    return True


@register(
    "LRN",
    parse=lambda a: parse_int(a, "nsize"),
    outputs=("output", "tmp_norm"),
    visible=lambda p: 1,
)
def lrn(p: int, ins: Shapes, outs: Shapes) -> bool:
    data = one_input(ins, "Input:[data]")
    if data is None:
        return False
    outs[:] = [data, data]
    return True


# -- activations and losses --------------------------------------------------------------------


@register(
    "Activation",
    parse=lambda a: (
        parse_enum(a, "act_type", ("relu", "sigmoid", "softrelu", "softsign", "tanh"), None)
        or _required("act_type")
    ),
)
def activation(p: str, ins: Shapes, outs: Shapes) -> bool:
    check(len(ins) == 1, "Input:[data]")
    return elemwise_shape(ins, outs)


def _required(name: str) -> Any:
    raise AttrError(f"Required parameter {name} is not presented")


class LeakyParams(NamedTuple):
    act_type: str


@register(
    "LeakyReLU",
    parse=lambda a: LeakyParams(
        parse_enum(a, "act_type", ("elu", "gelu", "leaky", "prelu", "rrelu", "selu"), "leaky")
    ),
    inputs=lambda p: ("data", "gamma") if p.act_type == "prelu" else ("data",),
    outputs=lambda p: ("output", "mask") if p.act_type == "rrelu" else ("output",),
    visible=lambda p: 1,
)
def leaky_relu(p: LeakyParams, ins: Shapes, outs: Shapes) -> bool:
    check(len(ins) == (2 if p.act_type == "prelu" else 1), "Input:[data, gamma]")
    data = ins[0]
    if data is None:
        return False
    if p.act_type == "prelu":
        gamma = ins[1]
        if gamma is None:
            ins[1] = (data[1],)
        if data == gamma:
            assign(outs, 0, data)
    outs[:] = [data, data] if p.act_type == "rrelu" else [data]
    return True


class DropoutParams(NamedTuple):
    axes: tuple[int, ...]


@register(
    "Dropout",
    parse=lambda a: DropoutParams(parse_tuple(a, "axes") or ()),
    outputs=("output", "mask"),
    visible=lambda p: 1,
)
def dropout(p: DropoutParams, ins: Shapes, outs: Shapes) -> bool:
    data = one_input(ins, "Input:[data]")
    if data is None:
        return False
    mask = data
    if p.axes:
        mask = tuple(1 if i in p.axes else d for i, d in enumerate(data))
    outs[:] = [data, mask]
    return True


class SoftmaxOutputParams(NamedTuple):
    multi_output: bool


def _label_type(p: Any, ins: Dtypes, outs: Dtypes) -> None:
    """Loss layers: the label takes the data's dtype (legacy OperatorProperty::InferType)."""
    dtype = ins[0]
    if dtype == UNKNOWN_DTYPE:
        return
    for i in range(len(ins)):
        type_assign(ins, i, dtype)
    outs[:] = [dtype] * len(outs)


@register(
    "SoftmaxOutput",
    parse=lambda a: SoftmaxOutputParams(parse_bool(a, "multi_output")),
    inputs=("data", "label"),
    dtype=_label_type,
    aliases=("Softmax",),
)
def softmax_output(p: SoftmaxOutputParams, ins: Shapes, outs: Shapes) -> bool:
    check(len(ins) == 2, "Input:[data, label]")
    data = ins[0]
    if not known(data):
        return False
    assert data is not None
    if data != ins[1]:
        if p.multi_output:
            l1 = (data[0], size(data) // data[0] // data[1])
            l2 = (data[0], *data[2:])
            l3 = (data[0], 1, *data[2:])
            if ins[1] is None:
                ins[1] = l1
            elif ins[1] not in (l1, l2, l3):
                raise ShapeError(f"Expecting {show(l1)} or {show(l2)}. But got {show(ins[1])}")
        else:
            assign(ins, 1, data[:-1])
    outs[:] = [data]
    return True


@register(
    "SoftmaxActivation", parse=lambda a: parse_enum(a, "mode", ("channel", "instance"), "instance")
)
def softmax_activation(p: str, ins: Shapes, outs: Shapes) -> bool:
    check(len(ins) == 1, "Input:[data]")
    return elemwise_shape(ins, outs)


def _regression_shape(p: Any, ins: Shapes, outs: Shapes) -> bool:
    """RegressionOpShape: a (batch, 1) output takes a (batch,) label by default."""
    check(len(ins) == 2, "Input:[data, label]")
    data = ins[0]
    if not known(data):
        return False
    assert data is not None
    label = ins[1]
    if label is None:
        ins[1] = (data[0],) if len(data) == 2 and data[1] == 1 else data
    elif label[0] != data[0] or not known(label) or size(label) != size(data):
        raise ShapeError(
            f"Shape inconsistent, Provided = {show(label)}, inferred shape={show(data)}"
        )
    outs[:] = [data]
    return True


for _name in ("LinearRegressionOutput", "LogisticRegressionOutput", "MAERegressionOutput"):
    register(_name, inputs=("data", "label"), dtype=_label_type)(_regression_shape)


@register("SVMOutput", inputs=("data", "label"), dtype=_label_type)
def svm_output(p: Any, ins: Shapes, outs: Shapes) -> bool:
    check(len(ins) == 2, "Input:[data, label]")
    data = ins[0]
    if data is None:
        return False
    assign(ins, 1, data[:-1])  # the data without its last axis (a scalar for 1-D data)
    outs[:] = [data]
    return True


# -- CTCLoss: a port of CTCLossOpShape/CTCLossOpType and the registration in MXNet 1.9.1's
# src/operator/nn/ctc_loss-inl.h and ctc_loss.cc (github.com/apache/mxnet, tag 1.9.1, commit
# 3f8f3be998; Apache License 2.0, Copyright The Apache Software Foundation).


class CTCParams(NamedTuple):
    use_data_lengths: bool
    use_label_lengths: bool
    blank_label: str | None


def _parse_ctc(a: Mapping[str, str]) -> CTCParams:
    return CTCParams(
        parse_bool(a, "use_data_lengths"),
        parse_bool(a, "use_label_lengths"),
        parse_enum(a, "blank_label", ("first", "last"), "first"),
    )


def _ctc_inputs(p: CTCParams) -> tuple[str, ...]:
    """CTCLossOpListInputNames: the length inputs only when their flag is set."""
    return (
        ("data", "label")
        + (("data_lengths",) if p.use_data_lengths else ())
        + (("label_lengths",) if p.use_label_lengths else ())
    )


def _ctc_type(p: CTCParams, ins: Dtypes, outs: Dtypes) -> None:
    """Both outputs take the data's dtype, which must be known; the labels' is left alone."""
    check(len(ins) >= 2, "Check failed: in_attrs->size() >= 2U")
    check(ins[0] != UNKNOWN_DTYPE, "Input data must have specified type")
    type_assign(outs, 0, ins[0])
    type_assign(outs, 1, ins[0])


@register(
    "CTCLoss",
    parse=_parse_ctc,
    inputs=_ctc_inputs,
    # FListOutputNames is registered under a misspelt key ("FListOutputNAmes"), so MXNet
    # names the outputs by default; only the loss is visible, the gradient is hidden.
    outputs=("output0", "output1"),
    visible=lambda p: 1,
    dtype=_ctc_type,
    aliases=("ctc_loss", "_contrib_CTCLoss", "_contrib_ctc_loss"),
)
def ctc_loss(p: CTCParams, ins: Shapes, outs: Shapes) -> bool:
    """Nothing is inferred backward: data (sequence, batch, alphabet) and label (batch,
    max label length) must be known to their rank, or the CHECKs fail, as in MXNet."""
    check(len(ins) == len(_ctc_inputs(p)), f"Check failed: in_attrs->size() == {len(ins)}")
    data, label = ins[0], ins[1]
    if data is None or len(data) != 3:
        raise ShapeError("The number of dimensions of data array must be 3.")
    if label is None or len(label) != 2:
        raise ShapeError("The number of dimensions of labels array must be 2.")
    check(data[1] == label[0], "The batch size for the labels and data arrays must be the same.")
    if p.use_data_lengths:
        lengths = ins[2]
        if lengths is None or len(lengths) != 1:
            raise ShapeError("Data length array must be a vector.")
        check(
            lengths[0] == data[1],
            "The batch size for the data and data lengths must be the same.",
        )
    if p.use_label_lengths:
        lengths = ins[2 + p.use_data_lengths]
        if lengths is None or len(lengths) != 1:
            raise ShapeError("Label length array must be a vector.")
        check(
            lengths[0] == label[0],
            "The batch size for the labels and label lengths must be the same.",
        )
    check(
        data[0] >= label[1],
        "The max number of labels cannot exceed the maximum sequence length of the data.",
    )
    assign(outs, 0, (data[1],))
    assign(outs, 1, data)
    return True


# -- Embedding, RNN (src/operator/tensor/indexing_op.h, src/operator/rnn.cc) -------------------


class EmbeddingParams(NamedTuple):
    input_dim: int
    output_dim: int
    dtype: int


def _parse_dtype(attrs: Mapping[str, str], key: str = "dtype", default: str = "float32") -> int:
    name = parse_enum(attrs, key, tuple(DTYPES), default)
    return DTYPES[name]


def _embedding_type(p: EmbeddingParams, ins: Dtypes, outs: Dtypes) -> None:
    type_assign(ins, 1, p.dtype)
    type_assign(outs, 0, p.dtype)
    if ins[0] == UNKNOWN_DTYPE:
        ins[0] = p.dtype


@register(
    "Embedding",
    parse=lambda a: EmbeddingParams(
        parse_int(a, "input_dim"), parse_int(a, "output_dim"), _parse_dtype(a)
    ),
    inputs=("data", "weight"),
    dtype=_embedding_type,
)
def embedding(p: EmbeddingParams, ins: Shapes, outs: Shapes) -> bool:
    check(len(ins) == 2, "Input:[data, weight]")
    data = ins[0]
    if data is None:
        return False
    assign(ins, 1, (p.input_dim, p.output_dim))
    outs[:] = [(*data, p.output_dim)]
    return True


class RNNParams(NamedTuple):
    state_size: int
    num_layers: int
    bidirectional: bool
    mode: str
    state_outputs: bool
    projection_size: int | None
    use_sequence_length: bool


def _parse_rnn(a: Mapping[str, str]) -> RNNParams:
    return RNNParams(
        parse_int(a, "state_size"),
        parse_int(a, "num_layers"),
        parse_bool(a, "bidirectional"),
        parse_enum(a, "mode", ("gru", "lstm", "rnn_relu", "rnn_tanh"), None) or _required("mode"),
        parse_bool(a, "state_outputs"),
        parse_optional_int(a, "projection_size"),
        parse_bool(a, "use_sequence_length"),
    )


def _rnn_inputs(p: RNNParams) -> tuple[str, ...]:
    names = ("data", "parameters", "state") + (("state_cell",) if p.mode == "lstm" else ())
    return names + (("sequence_length",) if p.use_sequence_length else ())


def _rnn_outputs(p: RNNParams) -> tuple[str, ...]:
    if not p.state_outputs:
        return ("output",)
    return ("output", "state_output") + (("statecell_output",) if p.mode == "lstm" else ())


def rnn_param_size(p: RNNParams, input_size: int) -> int:
    """GetRnnParamSize: the length of the fused RNN's flat parameter vector."""
    directions = 2 if p.bidirectional else 1
    gates = {"rnn_relu": 1, "rnn_tanh": 1, "lstm": 4, "gru": 3}[p.mode]
    width = p.state_size * directions * gates
    if p.projection_size is not None:
        proj = p.projection_size
        first = (input_size + proj + 2) * width
        other = (proj * directions + proj + 2) * width
    else:
        first = (input_size + p.state_size + 2) * width
        other = (p.state_size * directions + p.state_size + 2) * width
    total = first + (p.num_layers - 1) * other
    if p.projection_size is not None:
        total += p.projection_size * p.state_size * p.num_layers * directions
    return total


@register("RNN", parse=_parse_rnn, inputs=_rnn_inputs, outputs=_rnn_outputs)
def rnn(p: RNNParams, ins: Shapes, outs: Shapes) -> bool:
    expected = _rnn_inputs(p)
    check(
        len(ins) == len(expected),
        f"Input shape mismatch. Expected {len(expected)} input parameters but got {len(ins)}.",
    )
    data = ins[0]
    if data is None:
        return False
    check(
        len(data) == 3,
        "Input data should be rank-3 tensor of dim [sequence length, batch size, input size]",
    )
    batch, input_size = data[1], data[2]
    directions = 2 if p.bidirectional else 1
    layers = directions * p.num_layers
    layer_size = p.projection_size if p.projection_size is not None else p.state_size
    assign(ins, 2, (layers, batch, layer_size))
    if p.mode == "lstm":
        assign(ins, 3, (layers, batch, p.state_size))
    assign(ins, 1, (rnn_param_size(p, input_size),))
    if p.use_sequence_length:
        assign(ins, 4 if p.mode == "lstm" else 3, (batch,))
    out = [(data[0], data[1], directions * layer_size)]
    if p.state_outputs:
        out.append((layers, batch, layer_size))
        if p.mode == "lstm":
            out.append((layers, batch, p.state_size))
    outs[:] = out
    return True


# -- UpSampling, Crop, Pad (upsampling.cc, crop-inl.h, pad-inl.h) -------------------------------


class UpParams(NamedTuple):
    scale: int
    sample_type: str
    num_args: int
    multi_input_mode: str


def _parse_upsampling(a: Mapping[str, str]) -> UpParams:
    return UpParams(
        parse_int(a, "scale"),
        parse_enum(a, "sample_type", ("bilinear", "nearest"), None) or _required("sample_type"),
        parse_int(a, "num_args"),
        parse_enum(a, "multi_input_mode", ("concat", "sum"), "concat"),
    )


def _upsampling_inputs(p: UpParams) -> tuple[str, ...]:
    if p.sample_type == "nearest":
        return tuple(f"arg{i}" for i in range(p.num_args))
    return ("data", "weight")


def _cmod(a: int, b: int) -> int:
    if b == 0:
        raise ShapeError("division by zero")
    return a - cdiv(a, b) * b


@register("UpSampling", parse=_parse_upsampling, inputs=_upsampling_inputs)
def upsampling(p: UpParams, ins: Shapes, outs: Shapes) -> bool:
    check(len(ins) >= 1, "UpSampling needs an input")
    data = ins[0]
    if p.sample_type == "nearest":
        check(len(ins) == p.num_args, "Input count must equal num_args")
        channels = 0
        for shape in ins:
            check(
                shape is not None and len(shape) == 4,
                "UpSamplingNearest: Input data should be 4D in (batch, channel, y, x)",
            )
            assert data is not None and shape is not None
            oh, ow = data[2] * p.scale, data[3] * p.scale
            check(
                _cmod(oh, shape[2]) == 0,
                "UpSamplingNearest: input height does not divide output height",
            )
            check(
                _cmod(ow, shape[3]) == 0,
                "UpSamplingNearest: input width does not divide output width",
            )
            if p.multi_input_mode == "sum":
                check(
                    channels in (0, shape[1]),
                    "Number of channels must be the same when multi_input_mode==sum",
                )
                channels = shape[1]
            else:
                channels += shape[1]
        assert data is not None
        outs[:] = [(data[0], channels, data[2] * p.scale, data[3] * p.scale)]
        return True
    check(len(ins) == 2, "Input:[data, weight]")
    check(
        data is not None and len(data) == 4,
        "UpSamplingBilinear: Input data should be 4D in (batch, channel, y, x)",
    )
    if not known(data):
        return False
    assert data is not None
    kernel = 2 * p.scale - p.scale % 2
    assign(ins, 1, (data[1], 1, kernel, kernel))
    outs[:] = [(data[0], data[1], data[2] * p.scale, data[3] * p.scale)]
    return True


class CropParams(NamedTuple):
    num_args: int
    h_w: tuple[int, ...]


@register(
    "Crop",
    parse=lambda a: CropParams(parse_int(a, "num_args"), parse_tuple(a, "h_w") or (0, 0)),
    inputs=lambda p: ("data", "crop_like") if p.num_args == 2 else ("data",),
)
def crop(p: CropParams, ins: Shapes, outs: Shapes) -> bool:
    check(len(ins) == p.num_args, "Crop: wrong number of inputs")
    data = ins[0]
    if data is None:
        return False
    check(len(data) == 4, "Input data should be 4D in batch-num_filter-y-x")
    if p.num_args == 1:
        check(p.h_w[0] >= 1, "the crop height(h_w[0]) should be larger than 1")
        check(
            p.h_w[0] <= data[2],
            "the crop height(h_w[0]) should be less than the input data's height",
        )
        check(p.h_w[1] >= 1, "the crop width(h_w[1]) should be larger than 1")
        check(
            p.h_w[1] <= data[3], "the crop width(h_w[1]) should be less than the input data's width"
        )
        hw = p.h_w
    elif p.num_args == 2:
        like = ins[1]
        if like is None:
            raise ShapeError("crop_like shape is unknown")
        hw = (like[2], like[3])
    else:
        return False
    outs[:] = [(data[0], data[1], hw[0], hw[1])]
    return True


class PadParams(NamedTuple):
    mode: str
    pad_width: tuple[int, ...]


@register(
    "Pad",
    parse=lambda a: PadParams(
        parse_enum(a, "mode", ("constant", "edge", "reflect"), "constant"),
        parse_tuple(a, "pad_width", None) or _required("pad_width"),
    ),
    aliases=("pad",),
)
def pad(p: PadParams, ins: Shapes, outs: Shapes) -> bool:
    data = one_input(ins, "Can only be one input to symbol.")
    if data is None:
        return False
    rank = len(data)
    check(rank in (4, 5), "Current implementation only supports 4-D or 5-D input.")
    w = p.pad_width
    check(
        len(w) >= 4 and not any(w[:4]),
        "Current implementation expects padding on the first two axes to be zero.",
    )
    check(2 * rank == len(w), "Input shape vs padding spec mismatch.")
    if p.mode == "reflect":
        check(
            not (w[4] >= data[2] or w[5] >= data[2] or w[6] >= data[3] or w[7] >= data[3]),
            "Current implementation of reflection padding only supports padding sizes smaller than the input size.",
        )
    outs[:] = [tuple(w[2 * i] + w[2 * i + 1] + d for i, d in enumerate(data))]
    return True


# -- SSD (src/operator/contrib/multibox_*.cc) --------------------------------------------------


class PriorParams(NamedTuple):
    sizes: tuple[float, ...]
    ratios: tuple[float, ...]


def _float_tuple(a: Mapping[str, str], key: str, default: tuple[float, ...]) -> tuple[float, ...]:
    from mar_lint.shapes.attrs import parse_tuple_text

    text = a.get(key)
    return default if text is None else parse_tuple_text(text, key, floats=True) or ()


@register(
    "_contrib_MultiBoxPrior",
    parse=lambda a: PriorParams(
        _float_tuple(a, "sizes", (1.0,)), _float_tuple(a, "ratios", (1.0,))
    ),
)
def multibox_prior(p: PriorParams, ins: Shapes, outs: Shapes) -> bool:
    data = one_input(ins, "Inputs: [data]")
    if data is None:
        return False
    check(len(data) == 4, "Input data should be 4D: batch-channel-y-x")
    anchors = data[2] * data[3] * (len(p.sizes) - 1 + len(p.ratios))
    outs[:] = [(1, anchors, 4)]
    return True


@register(
    "_contrib_MultiBoxTarget",
    parse=lambda a: None,
    inputs=("anchor", "label", "cls_pred"),
    outputs=("loc_target", "loc_mask", "cls_target"),
)
def multibox_target(p: Any, ins: Shapes, outs: Shapes) -> bool:
    check(len(ins) == 3, "Input: [anchor, label, clsPred]")
    anchor, label, cls = ins
    if anchor is None or label is None or cls is None:
        return False
    check(len(anchor) == 3, "Anchor should be batch shared N*4 tensor")
    check(anchor[0] == 1, "Anchor should be batch shared N*4 tensor")
    check(anchor[1] > 0, "Number boxes should > 0")
    check(anchor[2] == 4, "Box dimension should be 4: [xmin-ymin-xmax-ymax]")
    check(len(label) == 3, "Label should be [batch-num_labels-(>=5)] tensor")
    check(label[1] > 0, "Padded label should > 0")
    check(label[2] >= 5, "Label width must >=5")
    check(len(cls) == 3, "Class probability should be 3-D tensor")
    check(cls[2] == anchor[1], "Number of anchors mismatch")
    outs[:] = [(label[0], anchor[1] * 4), (label[0], anchor[1] * 4), (label[0], anchor[1])]
    return True


@register(
    "_contrib_MultiBoxDetection",
    parse=lambda a: None,
    inputs=("cls_prob", "loc_pred", "anchor"),
)
def multibox_detection(p: Any, ins: Shapes, outs: Shapes) -> bool:
    check(len(ins) == 3, "Inputs: [cls_prob, loc_pred, anchor]")
    cls, loc, anchor = ins
    if cls is None or loc is None or anchor is None:
        return False
    check(len(cls) == 3, "Provided: " + show(cls))
    check(len(loc) == 2, "Provided: " + show(loc))
    check(len(anchor) == 3, "Provided: " + show(anchor))
    num_anchors = cls[2]
    check(num_anchors * 4 == loc[1], "# anchors mismatch with # loc")
    check(anchor[1] == num_anchors, "# anchors mismatch with # loc")
    check(anchor[2] == 4, "anchor must be batch shared N*4 tensor")
    outs[:] = [(cls[0], num_anchors, 6)]
    return True
