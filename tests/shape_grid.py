"""A seeded grid of one-operator graphs with random attributes and input shapes.

Each case is a graph JSON (MXNet 1.x layout) with one operator fed by variables, and the
shapes given for its data inputs; weights, biases and auxiliary states are left for shape
inference, as in a real model. The MXNet oracle test runs every case through MXNet and the
native engine; `record_shapes.py` keeps MXNet's answers for a sample so the everyday suite
replays them without MXNet.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Case:
    op: str
    symbol: str  # graph JSON text
    shapes: dict[str, list[int]]  # data inputs' shapes, by variable name
    dtypes: dict[str, str] | None = None  # data inputs' dtypes, when dtypes are compared too

    @property
    def key(self) -> str:
        return f"{self.op}:{self.symbol}:{json.dumps(self.shapes, sort_keys=True)}"


def graph(op: str, attrs: dict[str, Any], inputs: list[str], outputs: int = 1) -> str:
    nodes = [{"op": "null", "name": name, "inputs": []} for name in inputs]
    nodes.append(
        {
            "op": op,
            "name": "node",
            "attrs": {k: str(v) for k, v in attrs.items()},
            "inputs": [[i, 0, 0] for i in range(len(inputs))],
        }
    )
    head = len(inputs)
    return json.dumps(
        {
            "nodes": nodes,
            "arg_nodes": list(range(len(inputs))),
            "node_row_ptr": list(range(len(nodes) + 1)),
            "heads": [[head, i, 0] for i in range(outputs)],
            "attrs": {"mxnet_version": ["int", 10901]},
        }
    )


def tup(values: Any) -> str:
    values = list(values)
    return "(" + ", ".join(str(v) for v in values) + ("," if len(values) == 1 else "") + ")"


def dims(r: random.Random, ndim: int, low: int = 1, high: int = 8) -> list[int]:
    return [r.randint(low, high) for _ in range(ndim)]


Maker = Callable[[random.Random], Case]
MAKERS: dict[str, Maker] = {}


def maker(name: str) -> Callable[[Maker], Maker]:
    def wrap(function: Maker) -> Maker:
        MAKERS[name] = function
        return function

    return wrap


@maker("Convolution")
def _convolution(r: random.Random) -> Case:
    n = r.choice((1, 2, 2, 2, 3))
    group = r.choice((1, 1, 2))
    attrs: dict[str, Any] = {
        "kernel": tup(r.randint(1, 4) for _ in range(n)),
        "num_filter": r.randint(1, 4) * group,
    }
    if r.random() < 0.7:
        attrs["stride"] = tup(r.randint(1, 3) for _ in range(n))
    if r.random() < 0.7:
        attrs["pad"] = tup(r.randint(0, 2) for _ in range(n))
    if r.random() < 0.4:
        attrs["dilate"] = tup(r.randint(1, 2) for _ in range(n))
    if group > 1:
        attrs["num_group"] = group
    no_bias = r.random() < 0.4
    if no_bias:
        attrs["no_bias"] = r.choice(("True", "1"))
    inputs = ["data", "weight"] + ([] if no_bias else ["bias"])
    channels = group * r.randint(1, 3) + (1 if r.random() < 0.1 else 0)
    shape = [r.randint(1, 3), channels, *dims(r, n, 1, 12)]
    return Case("Convolution", graph("Convolution", attrs, inputs), {"data": shape})


@maker("Deconvolution")
def _deconvolution(r: random.Random) -> Case:
    n = r.choice((1, 2, 2))
    group = r.choice((1, 1, 2))
    stride = [r.randint(1, 3) for _ in range(n)]
    attrs: dict[str, Any] = {
        "kernel": tup(r.randint(1, 4) for _ in range(n)),
        "num_filter": r.randint(1, 4) * group,
        "stride": tup(stride),
    }
    if r.random() < 0.6:
        attrs["pad"] = tup(r.randint(0, 2) for _ in range(n))
    if r.random() < 0.4:
        attrs["adj"] = tup(r.randint(0, s) for s in stride)
    if r.random() < 0.3:
        attrs["target_shape"] = tup(r.randint(2, 20) for _ in range(n))
    if r.random() < 0.3:
        attrs["dilate"] = tup(r.randint(1, 2) for _ in range(n))
    if group > 1:
        attrs["num_group"] = group
    no_bias = r.random() < 0.5
    attrs["no_bias"] = str(no_bias)
    inputs = ["data", "weight"] + ([] if no_bias else ["bias"])
    shape = [r.randint(1, 3), group * r.randint(1, 3), *dims(r, n, 1, 8)]
    return Case("Deconvolution", graph("Deconvolution", attrs, inputs), {"data": shape})


@maker("Pooling")
def _pooling(r: random.Random) -> Case:
    n = r.choice((1, 2, 2, 3))
    attrs: dict[str, Any] = {"pool_type": r.choice(("max", "avg", "sum"))}
    if r.random() < 0.2:
        attrs["global_pool"] = "True"
    if r.random() < 0.95:
        attrs["kernel"] = tup(r.randint(1, 4) for _ in range(n))
    if r.random() < 0.6:
        attrs["stride"] = tup(r.randint(1, 3) for _ in range(n))
    if r.random() < 0.5:
        attrs["pad"] = tup(r.randint(0, 1) for _ in range(n))
    attrs["pooling_convention"] = r.choice(("valid", "full", "same", "valid"))
    shape = [r.randint(1, 2), r.randint(1, 4), *dims(r, n, 1, 10)]
    return Case("Pooling", graph("Pooling", attrs, ["data"]), {"data": shape})


@maker("FullyConnected")
def _fully_connected(r: random.Random) -> Case:
    attrs: dict[str, Any] = {"num_hidden": r.randint(1, 10)}
    if r.random() < 0.5:
        attrs["flatten"] = r.choice(("True", "False"))
    no_bias = r.random() < 0.3
    if no_bias:
        attrs["no_bias"] = "True"
    inputs = ["data", "weight"] + ([] if no_bias else ["bias"])
    shape = dims(r, r.randint(1, 4), 1, 6)
    return Case("FullyConnected", graph("FullyConnected", attrs, inputs), {"data": shape})


@maker("BatchNorm")
def _batch_norm(r: random.Random) -> Case:
    ndim = r.randint(1, 4)
    attrs: dict[str, Any] = {}
    if r.random() < 0.5:
        attrs["axis"] = r.randint(-ndim - 1, ndim)
    inputs = ["data", "gamma", "beta", "moving_mean", "moving_var"]
    return Case("BatchNorm", graph("BatchNorm", attrs, inputs), {"data": dims(r, ndim)})


@maker("LeakyReLU")
def _leaky_relu(r: random.Random) -> Case:
    act = r.choice(("leaky", "prelu", "elu", "rrelu", "selu", "gelu"))
    inputs = ["data", "gamma"] if act == "prelu" else ["data"]
    return Case(
        "LeakyReLU",
        graph("LeakyReLU", {"act_type": act}, inputs),
        {"data": dims(r, r.randint(2, 4))},
    )


@maker("Activation")
def _activation(r: random.Random) -> Case:
    act = r.choice(("relu", "sigmoid", "tanh", "softrelu", "softsign"))
    return Case(
        "Activation", graph("Activation", {"act_type": act}, ["data"]), {"data": dims(r, 3)}
    )


@maker("Dropout")
def _dropout(r: random.Random) -> Case:
    ndim = r.randint(1, 4)
    attrs: dict[str, Any] = {"p": 0.5}
    if r.random() < 0.4:
        attrs["axes"] = tup(sorted(r.sample(range(ndim), r.randint(1, ndim))))
    return Case("Dropout", graph("Dropout", attrs, ["data"]), {"data": dims(r, ndim)})


def _reshape_spec(r: random.Random, shape: list[int]) -> list[int]:
    spec: list[int] = []
    i = 0
    used_minus_one = False
    while i < len(shape):
        choice = r.random()
        if choice < 0.3:
            spec.append(0)
            i += 1
        elif choice < 0.4 and not used_minus_one:
            spec.append(-1)
            used_minus_one = True
            i += 1
        elif choice < 0.5 and i + 1 < len(shape):
            spec.append(-3)
            i += 2
        elif choice < 0.6:
            spec.append(-2)
            i = len(shape)
        elif choice < 0.7 and shape[i] % 2 == 0:
            spec.extend((-4, 2, -1) if r.random() < 0.5 else (-4, -1, shape[i] // 2))
            i += 1
        else:
            spec.append(shape[i])
            i += 1
    if r.random() < 0.15:
        spec.append(1)
    return spec


@maker("Reshape")
def _reshape(r: random.Random) -> Case:
    shape = dims(r, r.randint(1, 4), 1, 6)
    attrs: dict[str, Any] = {"shape": tup(_reshape_spec(r, shape))}
    if r.random() < 0.3:
        attrs["reverse"] = "True"
    return Case("Reshape", graph("Reshape", attrs, ["data"]), {"data": shape})


@maker("Flatten")
def _flatten(r: random.Random) -> Case:
    return Case("Flatten", graph("Flatten", {}, ["data"]), {"data": dims(r, r.randint(1, 4))})


@maker("Concat")
def _concat(r: random.Random) -> Case:
    n = r.randint(2, 3)
    ndim = r.randint(1, 4)
    dim = r.randint(-ndim, ndim - 1)
    base = dims(r, ndim)
    shapes = {}
    for i in range(n):
        shape = list(base)
        shape[dim] = r.randint(1, 5)
        if r.random() < 0.1:
            shape[r.randrange(ndim)] += 1
        shapes[f"arg{i}"] = shape
    if r.random() < 0.2:
        shapes.pop(f"arg{n - 1}")
    attrs = {"num_args": n, "dim": dim}
    return Case("Concat", graph("Concat", attrs, [f"arg{i}" for i in range(n)]), shapes)


@maker("SliceChannel")
def _slice_channel(r: random.Random) -> Case:
    ndim = r.randint(1, 4)
    shape = dims(r, ndim)
    axis = r.randint(-ndim, ndim - 1)
    outputs = r.choice([d for d in (1, 2, 3, shape[axis]) if d >= 1])
    attrs: dict[str, Any] = {"num_outputs": outputs, "axis": axis}
    if r.random() < 0.4:
        attrs["squeeze_axis"] = "True"
    return Case("SliceChannel", graph("SliceChannel", attrs, ["data"], outputs), {"data": shape})


@maker("Crop")
def _crop(r: random.Random) -> Case:
    shape = [1, 2, r.randint(2, 10), r.randint(2, 10)]
    if r.random() < 0.5:
        attrs = {"num_args": 1, "h_w": tup((r.randint(1, 11), r.randint(1, 11)))}
        return Case("Crop", graph("Crop", attrs, ["data"]), {"data": shape})
    like = [1, 3, r.randint(1, 10), r.randint(1, 10)]
    return Case(
        "Crop", graph("Crop", {"num_args": 2}, ["data", "like"]), {"data": shape, "like": like}
    )


@maker("UpSampling")
def _upsampling(r: random.Random) -> Case:
    scale = r.randint(1, 3)
    shape = [1, r.randint(1, 4), r.randint(1, 6), r.randint(1, 6)]
    if r.random() < 0.5:
        attrs = {"scale": scale, "sample_type": "bilinear", "num_filter": shape[1]}
        return Case("UpSampling", graph("UpSampling", attrs, ["data", "weight"]), {"data": shape})
    n = r.randint(1, 2)
    attrs2: dict[str, Any] = {"scale": scale, "sample_type": "nearest", "num_args": n}
    if n > 1 and r.random() < 0.5:
        attrs2["multi_input_mode"] = "sum"
    shapes = {"arg0": shape}
    if n > 1:
        shapes["arg1"] = [
            1,
            r.randint(1, 4),
            shape[2] * r.choice((1, scale)),
            shape[3] * r.choice((1, scale)),
        ]
    names = [f"arg{i}" for i in range(n)]
    return Case("UpSampling", graph("UpSampling", attrs2, names), shapes)


@maker("Pad")
def _pad(r: random.Random) -> Case:
    ndim = r.choice((4, 4, 5, 3))
    width = [0, 0, 0, 0] + [r.randint(0, 3) for _ in range(2 * ndim - 4)]
    if r.random() < 0.1:
        width[1] = 1
    attrs = {"mode": r.choice(("constant", "edge", "reflect")), "pad_width": tup(width)}
    return Case("Pad", graph("Pad", attrs, ["data"]), {"data": dims(r, ndim, 1, 6)})


@maker("tile")
def _tile(r: random.Random) -> Case:
    attrs = {"reps": tup(r.randint(1, 3) for _ in range(r.randint(1, 4)))}
    return Case("tile", graph("tile", attrs, ["data"]), {"data": dims(r, r.randint(1, 3))})


BROADCAST_OPS = (
    "broadcast_add",
    "broadcast_mul",
    "broadcast_div",
    "broadcast_sub",
    "broadcast_maximum",
)


@maker("broadcast")
def _broadcast(r: random.Random, ops: tuple[str, ...] = BROADCAST_OPS) -> Case:
    op = r.choice(ops)
    lhs = dims(r, r.randint(1, 4), 1, 4)
    rhs = [
        d if r.random() < 0.5 else r.choice((1, d, d + 1))
        for d in lhs[r.randint(0, len(lhs) - 1) :]
    ]
    return Case(op, graph(op, {}, ["lhs", "rhs"]), {"lhs": lhs, "rhs": rhs})


@maker("elemwise")
def _elemwise(r: random.Random) -> Case:
    op = r.choice(("elemwise_add", "elemwise_mul", "_mul", "_plus", "_minus", "_div"))
    lhs = dims(r, 3, 1, 4)
    shapes = {"lhs": lhs}
    if r.random() < 0.5:
        shapes["rhs"] = lhs if r.random() < 0.8 else dims(r, 3, 1, 4)
    return Case(op, graph(op, {}, ["lhs", "rhs"]), shapes)


REDUCE_OPS = ("sum", "mean", "max", "min", "prod", "sum_axis")


@maker("reduce")
def _reduce(r: random.Random, ops: tuple[str, ...] = REDUCE_OPS) -> Case:
    op = r.choice(ops)
    ndim = r.randint(1, 4)
    attrs: dict[str, Any] = {}
    if r.random() < 0.8:
        axes = sorted(r.sample(range(-ndim, ndim), r.randint(1, ndim)))
        attrs["axis"] = tup(axes) if len(axes) > 1 or r.random() < 0.5 else axes[0]
    if r.random() < 0.4:
        attrs["keepdims"] = "True"
    if r.random() < 0.3:
        attrs["exclude"] = "True"
    return Case(op, graph(op, attrs, ["data"]), {"data": dims(r, ndim)})


@maker("transpose")
def _transpose(r: random.Random) -> Case:
    ndim = r.randint(1, 4)
    attrs = {}
    if r.random() < 0.7:
        axes = list(range(ndim))
        r.shuffle(axes)
        attrs["axes"] = tup(axes)
    return Case("transpose", graph("transpose", attrs, ["data"]), {"data": dims(r, ndim)})


@maker("expand_dims")
def _expand_dims(r: random.Random) -> Case:
    ndim = r.randint(1, 4)
    attrs = {"axis": r.randint(-ndim - 2, ndim + 1)}
    return Case("expand_dims", graph("expand_dims", attrs, ["data"]), {"data": dims(r, ndim)})


@maker("squeeze")
def _squeeze(r: random.Random) -> Case:
    ndim = r.randint(1, 4)
    shape = [r.choice((1, 1, 2, 3)) for _ in range(ndim)]
    attrs = {}
    if r.random() < 0.5:
        attrs["axis"] = tup(sorted(r.sample(range(ndim), r.randint(1, ndim))))
    return Case("squeeze", graph("squeeze", attrs, ["data"]), {"data": shape})


def _bound(r: random.Random) -> str:
    return "None" if r.random() < 0.2 else str(r.randint(-6, 6))


@maker("slice")
def _slice(r: random.Random) -> Case:
    ndim = r.randint(1, 3)
    count = r.randint(1, ndim)
    attrs = {
        "begin": "(" + ", ".join(_bound(r) for _ in range(count)) + ")",
        "end": "(" + ", ".join(_bound(r) for _ in range(count)) + ")",
    }
    if r.random() < 0.4:
        attrs["step"] = (
            "(" + ", ".join(r.choice(("1", "2", "-1", "None")) for _ in range(count)) + ")"
        )
    return Case("slice", graph("slice", attrs, ["data"]), {"data": dims(r, ndim, 1, 6)})


@maker("slice_axis")
def _slice_axis(r: random.Random) -> Case:
    ndim = r.randint(1, 3)
    attrs = {"axis": r.randint(-ndim, ndim - 1), "begin": r.randint(-4, 4), "end": _bound(r)}
    return Case("slice_axis", graph("slice_axis", attrs, ["data"]), {"data": dims(r, ndim, 1, 6)})


@maker("SwapAxis")
def _swap_axis(r: random.Random) -> Case:
    ndim = r.randint(1, 4)
    attrs = {"dim1": r.randint(0, ndim - 1), "dim2": r.randint(0, ndim - 1)}
    return Case("SwapAxis", graph("SwapAxis", attrs, ["data"]), {"data": dims(r, ndim)})


@maker("Embedding")
def _embedding(r: random.Random) -> Case:
    attrs = {"input_dim": r.randint(1, 50), "output_dim": r.randint(1, 16)}
    return Case(
        "Embedding",
        graph("Embedding", attrs, ["data", "weight"]),
        {"data": dims(r, r.randint(1, 3))},
    )


@maker("RNN")
def _rnn(r: random.Random) -> Case:
    mode = r.choice(("lstm", "gru", "rnn_tanh", "rnn_relu"))
    attrs: dict[str, Any] = {
        "mode": mode,
        "state_size": r.randint(1, 8),
        "num_layers": r.randint(1, 3),
    }
    if r.random() < 0.5:
        attrs["bidirectional"] = "True"
    outputs = 1
    if r.random() < 0.5:
        attrs["state_outputs"] = "True"
        outputs = 3 if mode == "lstm" else 2
    if mode == "lstm" and r.random() < 0.3:
        attrs["projection_size"] = r.randint(1, 4)
    inputs = ["data", "parameters", "state"] + (["state_cell"] if mode == "lstm" else [])
    shape = [r.randint(1, 5), r.randint(1, 3), r.randint(1, 6)]
    return Case("RNN", graph("RNN", attrs, inputs, outputs), {"data": shape})


@maker("softmax")
def _softmax(r: random.Random) -> Case:
    op = r.choice(("softmax", "log_softmax", "SoftmaxActivation"))
    ndim = r.randint(2, 4)
    attrs = {"axis": r.randint(-ndim, ndim - 1)} if op != "SoftmaxActivation" else {}
    return Case(op, graph(op, attrs, ["data"]), {"data": dims(r, ndim)})


@maker("SoftmaxOutput")
def _softmax_output(r: random.Random) -> Case:
    ndim = r.randint(2, 4)
    attrs = {}
    if r.random() < 0.4:
        attrs["multi_output"] = "True"
    shapes = {"data": dims(r, ndim)}
    if r.random() < 0.3:
        shapes["label"] = dims(r, r.randint(1, 3))
    return Case("SoftmaxOutput", graph("SoftmaxOutput", attrs, ["data", "label"]), shapes)


@maker("misc")
def _misc(r: random.Random) -> Case:
    op = r.choice(
        (
            "Cast",
            "clip",
            "sqrt",
            "sigmoid",
            "_copy",
            "_minus_scalar",
            "_mul_scalar",
            "L2Normalization",
            "LRN",
            "InstanceNorm",
            "BlockGrad",
        )
    )
    attrs: dict[str, Any] = {
        "Cast": {"dtype": "float16"},
        "clip": {"a_min": 0, "a_max": 6},
        "_minus_scalar": {"scalar": 1.5},
        "_mul_scalar": {"scalar": 2},
        "L2Normalization": {"mode": r.choice(("instance", "channel", "spatial"))},
        "LRN": {"nsize": 3},
    }.get(op, {})
    inputs = ["data", "gamma", "beta"] if op == "InstanceNorm" else ["data"]
    return Case(op, graph(op, attrs, inputs), {"data": dims(r, r.randint(2, 4))})


@maker("add_n")
def _add_n(r: random.Random) -> Case:
    n = r.randint(1, 3)
    shape = dims(r, 3, 1, 4)
    shapes = {f"arg{i}": shape for i in range(n) if r.random() < 0.7}
    return Case("add_n", graph("add_n", {"num_args": n}, [f"arg{i}" for i in range(n)]), shapes)


@maker("_zeros")
def _zeros(r: random.Random) -> Case:
    op = r.choice(("_zeros", "_ones"))
    attrs = {"shape": tup(dims(r, r.randint(1, 3)))}
    return Case(op, graph(op, attrs, []), {})


@maker("MultiBoxPrior")
def _multibox_prior(r: random.Random) -> Case:
    attrs = {
        "sizes": tup([round(r.uniform(0.1, 0.9), 2) for _ in range(r.randint(1, 3))]),
        "ratios": tup([r.choice((1, 2, 0.5)) for _ in range(r.randint(1, 3))]),
    }
    return Case(
        "_contrib_MultiBoxPrior",
        graph("_contrib_MultiBoxPrior", attrs, ["data"]),
        {"data": [1, 2, r.randint(1, 6), r.randint(1, 6)]},
    )


FLOATS = ("float16", "float32", "float64")


@maker("Embedding-dtype")
def _embedding_dtype(r: random.Random) -> Case:
    attrs = {"input_dim": 10, "output_dim": 4, "dtype": r.choice(FLOATS)}
    return Case(
        "Embedding",
        graph("Embedding", attrs, ["data", "weight"]),
        {"data": dims(r, 2)},
        {"data": r.choice(("float32", "int32", "float16"))},
    )


@maker("Cast-dtype")
def _cast_dtype(r: random.Random) -> Case:
    attrs = {"dtype": r.choice(FLOATS + ("int32", "uint8", "int64"))}
    return Case(
        "Cast", graph("Cast", attrs, ["data"]), {"data": dims(r, 2)}, {"data": r.choice(FLOATS)}
    )


@maker("layers-dtype")
def _layers_dtype(r: random.Random) -> Case:
    """Weights take the data's dtype, BatchNorm's parameters float32 under float16 data."""
    case = r.choice((_convolution, _fully_connected, _batch_norm, _deconvolution, _rnn))(r)
    return Case(case.op, case.symbol, case.shapes, {"data": r.choice(FLOATS)})


@maker("argmax")
def _argmax(r: random.Random) -> Case:
    op = r.choice(("argmax", "argmin"))
    ndim = r.randint(1, 4)
    attrs: dict[str, Any] = {}
    if r.random() < 0.8:
        attrs["axis"] = r.randint(-ndim, ndim - 1)
    if r.random() < 0.4:
        attrs["keepdims"] = "True"
    return Case(op, graph(op, attrs, ["data"]), {"data": dims(r, ndim)})


@maker("dot")
def _dot(r: random.Random) -> Case:
    op = r.choice(("dot", "batch_dot"))
    attrs = {"transpose_a": r.choice(("True", "False")), "transpose_b": r.choice(("True", "False"))}
    m, k, n = dims(r, 3, 1, 5)
    batch = [r.randint(1, 3)] if op == "batch_dot" else []
    lhs = batch + ([k, m] if attrs["transpose_a"] == "True" else [m, k])
    rhs = batch + ([n, k] if attrs["transpose_b"] == "True" else [k, n])
    if r.random() < 0.2:
        rhs[-1] += 1
    return Case(op, graph(op, attrs, ["lhs", "rhs"]), {"lhs": lhs, "rhs": rhs})


@maker("stack")
def _stack(r: random.Random) -> Case:
    n = r.randint(1, 3)
    ndim = r.randint(1, 3)
    shape = dims(r, ndim)
    attrs = {"num_args": n, "axis": r.randint(-ndim - 1, ndim)}
    shapes = {f"arg{i}": shape for i in range(n) if i == 0 or r.random() < 0.7}
    return Case("stack", graph("stack", attrs, [f"arg{i}" for i in range(n)]), shapes)


@maker("repeat")
def _repeat(r: random.Random) -> Case:
    ndim = r.randint(1, 3)
    attrs: dict[str, Any] = {"repeats": r.randint(1, 3)}
    if r.random() < 0.7:
        attrs["axis"] = r.randint(-ndim, ndim - 1)
    return Case("repeat", graph("repeat", attrs, ["data"]), {"data": dims(r, ndim)})


@maker("where")
def _where(r: random.Random) -> Case:
    shape = dims(r, r.randint(1, 3))
    cond = shape if r.random() < 0.6 else [shape[0]]
    return Case(
        "where",
        graph("where", {}, ["condition", "x", "y"]),
        {"condition": cond, "x": shape, "y": shape},
    )


@maker("LayerNorm")
def _layer_norm(r: random.Random) -> Case:
    ndim = r.randint(1, 4)
    attrs = {"axis": r.randint(-ndim, ndim - 1)}
    return Case(
        "LayerNorm", graph("LayerNorm", attrs, ["data", "gamma", "beta"]), {"data": dims(r, ndim)}
    )


@maker("losses")
def _losses(r: random.Random) -> Case:
    op = r.choice(
        ("LinearRegressionOutput", "LogisticRegressionOutput", "MAERegressionOutput", "SVMOutput")
    )
    shape = dims(r, r.randint(1, 3))
    shapes = {"data": shape}
    if r.random() < 0.4:
        shapes["label"] = r.choice((shape, shape[:1], dims(r, 2)))
    return Case(op, graph(op, {}, ["data", "label"]), shapes)


@maker("MultiBoxTarget")
def _multibox_target(r: random.Random) -> Case:
    anchors = r.randint(1, 8)
    classes = r.randint(2, 4)
    shapes = {
        "anchor": [1, anchors, 4],
        "label": [r.randint(1, 2), r.randint(1, 3), r.choice((5, 6))],
        "cls_pred": [1, classes, anchors if r.random() < 0.9 else anchors + 1],
    }
    op = "_contrib_MultiBoxTarget"
    return Case(op, graph(op, {}, ["anchor", "label", "cls_pred"], 3), shapes)


@maker("MultiBoxDetection")
def _multibox_detection(r: random.Random) -> Case:
    anchors = r.randint(1, 8)
    batch = r.randint(1, 2)
    shapes = {
        "cls_prob": [batch, r.randint(2, 4), anchors],
        "loc_pred": [batch, anchors * 4 if r.random() < 0.9 else anchors * 4 + 4],
        "anchor": [1, anchors, 4],
    }
    op = "_contrib_MultiBoxDetection"
    return Case(op, graph(op, {}, ["cls_prob", "loc_pred", "anchor"]), shapes)


# -- the operators the engine models that the makers above leave out ---------------------------

UNARY_OPS = tuple(
    "relu tanh exp log rsqrt square abs sign negative reciprocal floor ceil round rint fix trunc "
    "sin cos tan arcsin arccos arctan sinh cosh arcsinh arccosh arctanh erf erfinv log1p expm1 "
    "log2 log10 softsign cbrt rcbrt gamma gammaln degrees radians logical_not zeros_like "
    "ones_like make_loss MakeLoss hard_sigmoid _contrib_div_sqrt_dim identity stop_gradient".split()
)


def _dtypes_sometimes(r: random.Random, names: list[str]) -> dict[str, str] | None:
    """Every other case also compares dtypes, the inputs' drawn from the float types."""
    if r.random() < 0.5:
        return None
    dtype = r.choice(FLOATS)
    return {name: dtype for name in names}


@maker("unary")
def _unary(r: random.Random) -> Case:
    op = r.choice(UNARY_OPS)
    attrs: dict[str, Any] = {}
    if op == "hard_sigmoid" and r.random() < 0.7:
        attrs = {"alpha": round(r.uniform(0.1, 0.5), 2), "beta": round(r.uniform(0, 1), 2)}
    shapes = {"data": dims(r, r.randint(1, 4))} if r.random() < 0.9 else {}
    return Case(op, graph(op, attrs, ["data"]), shapes, _dtypes_sometimes(r, ["data"]))


SCALAR_NAMES = (
    "plus minus rminus mul div rdiv power rpower maximum minimum mod rmod hypot equal not_equal "
    "greater greater_equal lesser lesser_equal logical_and logical_or logical_xor"
).split()
OLD_SCALAR_OPS = ("_PlusScalar", "_RDivScalar", "_MaximumScalar", "_LesserEqualScalar")


@maker("scalar")
def _scalar(r: random.Random) -> Case:
    op = r.choice([f"_{name}_scalar" for name in SCALAR_NAMES] + list(OLD_SCALAR_OPS))
    attrs: dict[str, Any] = {"scalar": r.choice((0.5, 1, 2, -3))}
    if r.random() < 0.3:
        attrs["is_int"] = r.choice(("True", "False"))
    shapes = {"data": dims(r, r.randint(1, 4))}
    return Case(op, graph(op, attrs, ["data"]), shapes, _dtypes_sometimes(r, ["data"]))


BINARY_OPS = (
    "_maximum _minimum _power _hypot _mod _equal _not_equal _greater _greater_equal _lesser "
    "_lesser_equal _logical_and _logical_or _logical_xor _grad_add elemwise_sub elemwise_div "
    "_Maximum _Greater_Equal _Logical_Xor"
).split()


@maker("binary")
def _binary(r: random.Random) -> Case:
    op = r.choice(BINARY_OPS)
    lhs = dims(r, r.randint(1, 3), 1, 4)
    shapes = {"lhs": lhs} if r.random() < 0.8 else {}
    if r.random() < 0.6:
        shapes["rhs"] = lhs if r.random() < 0.8 else dims(r, len(lhs), 1, 4)
    return Case(op, graph(op, {}, ["lhs", "rhs"]), shapes, _dtypes_sometimes(r, list(shapes)))


MORE_BROADCAST_OPS = tuple(
    f"broadcast_{name}"
    for name in (
        "mod power minimum hypot equal not_equal greater greater_equal lesser lesser_equal "
        "logical_and logical_or logical_xor plus minus"
    ).split()
)


@maker("broadcast-more")
def _broadcast_more(r: random.Random) -> Case:
    return _broadcast(r, MORE_BROADCAST_OPS)


@maker("nan-reduce")
def _nan_reduce(r: random.Random) -> Case:
    return _reduce(r, ("nansum", "nanprod", "max_axis", "min_axis"))


@maker("_full")
def _full(r: random.Random) -> Case:
    attrs: dict[str, Any] = {"shape": tup(dims(r, r.randint(1, 3), 0, 5)), "value": 1.5}
    if r.random() < 0.5:
        attrs["dtype"] = r.choice(FLOATS + ("int32", "uint8"))
    return Case("_full", graph("_full", attrs, []), {}, {} if r.random() < 0.5 else None)


@maker("CTCLoss")
def _ctc_loss(r: random.Random) -> Case:
    op = r.choice(("CTCLoss", "ctc_loss", "_contrib_CTCLoss", "_contrib_ctc_loss"))
    attrs: dict[str, Any] = {}
    inputs = ["data", "label"]
    for name in ("data_lengths", "label_lengths"):
        if r.random() < 0.4:
            attrs[f"use_{name}"] = "True"
            inputs.append(name)
    if r.random() < 0.4:
        attrs["blank_label"] = r.choice(("first", "last"))
    seq, batch, alphabet = r.randint(1, 8), r.randint(1, 3), r.randint(2, 6)
    shapes = {
        "data": [seq, batch, alphabet] if r.random() < 0.9 else dims(r, 2),
        "label": [batch if r.random() < 0.9 else batch + 1, r.randint(1, 6)],
        "data_lengths": [batch if r.random() < 0.9 else batch + 1],
        "label_lengths": [batch],
    }
    for name in list(shapes):
        if name not in inputs or r.random() < 0.1:
            del shapes[name]
    # A known label dtype alone is a type error: MXNet needs the data's.
    dtypes = _dtypes_sometimes(r, [r.choice(("data", "data", "label"))])
    return Case(op, graph(op, attrs, inputs), shapes, dtypes)


def cases(seed: int = 20261130, per_maker: int = 60) -> Iterator[Case]:
    """`per_maker` cases for every maker, reproducibly."""
    for name in sorted(MAKERS):
        r = random.Random(f"{seed}:{name}")
        for _ in range(per_maker):
            yield MAKERS[name](r)
