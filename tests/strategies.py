"""Hypothesis strategies for random architectures, shared by the property tests."""

from __future__ import annotations

import math
import zlib

import torch
from hypothesis import assume
from hypothesis import strategies as st

from weightspace.errors import SpecError
from weightspace.nets import (
    ACTIVATIONS,
    Activation,
    ArchSpec,
    BatchNorm,
    Conv2d,
    Dropout,
    Flatten,
    GlobalPool,
    GraphSpec,
    Linear,
    Net,
    Pool2d,
)

# sin and gelu are fine too, but keep outputs in a range where float32 round-off stays far below 1e-5
SMOOTH = [a for a in ACTIVATIONS if a != "identity"]


@st.composite
def activations(draw, width: int):
    if draw(st.booleans()):
        return Activation(fn=draw(st.lists(st.sampled_from(SMOOTH[:4]), min_size=width, max_size=width)))
    return Activation(fn=draw(st.sampled_from(SMOOTH)))


@st.composite
def hidden_linear(draw):
    width = draw(st.integers(1, 6))
    layers = [Linear(out_features=width, bias=draw(st.booleans()))]
    if draw(st.booleans()):
        layers.append(BatchNorm())
    layers.append(draw(activations(width)))
    if draw(st.booleans()):
        layers.append(Dropout(p=0.3))
    return layers


@st.composite
def mlp_specs(draw):
    layers = [layer for block in draw(st.lists(hidden_linear(), min_size=1, max_size=3)) for layer in block]
    layers.append(Linear(out_features=draw(st.integers(1, 3))))
    return ArchSpec(input_shape=(draw(st.integers(1, 5)),), layers=layers)


@st.composite
def cnn_specs(draw):
    size = draw(st.integers(6, 10))
    layers = []
    for _ in range(draw(st.integers(1, 2))):
        channels = draw(st.integers(1, 5))
        stride = draw(st.sampled_from([1, 1, 2]))
        padding = draw(st.sampled_from(["same", 0, 1])) if stride == 1 else draw(st.sampled_from([0, 1]))
        layers.append(
            Conv2d(
                out_channels=channels,
                kernel_size=draw(st.sampled_from([1, 3])),
                stride=stride,
                padding=padding,
                bias=draw(st.booleans()),
            )
        )
        if draw(st.booleans()):
            layers.append(BatchNorm())
        layers.append(draw(activations(channels)))
        if draw(st.booleans()):
            layers.append(Pool2d(op=draw(st.sampled_from(["avg", "max"])), kernel_size=2))
    layers.append(draw(st.sampled_from([Flatten(), GlobalPool(op="avg"), GlobalPool(op="max")])))
    for block in draw(st.lists(hidden_linear(), max_size=2)):
        layers += block
    layers.append(Linear(out_features=draw(st.integers(1, 3))))
    try:
        return ArchSpec(input_shape=(draw(st.integers(1, 3)), size, size), layers=layers)
    except (SpecError, ValueError):
        assume(False)


specs = st.one_of(mlp_specs(), cnn_specs())


def random_net(spec: ArchSpec, seed: int) -> Net:
    """Default-initialised weights with non-trivial biases and batchnorm statistics."""
    net = Net.init(spec, seed)
    g = torch.Generator().manual_seed(seed)
    params = {}
    for name, t in net.params.items():
        if name.endswith("running_var"):
            params[name] = torch.rand(t.shape, generator=g) + 0.5
        elif name.endswith(("bias", "running_mean")) or (name.endswith("weight") and t.dim() == 1):
            params[name] = torch.randn(t.shape, generator=g) * 0.5 + (1.0 if t.dim() == 1 and "weight" in name else 0)
        else:
            params[name] = t
    return net.replace(params=params)


@st.composite
def random_graphs(draw) -> GraphSpec:
    """Random DAGs over feature vectors: linear layers, activations, layernorm, and adds and concats of earlier
    nodes (adds only between nodes of one width)."""
    width = draw(st.integers(2, 6))
    nodes, shapes = [], {"input": width}
    for i in range(draw(st.integers(1, 10))):
        names = list(shapes)
        kind = draw(st.sampled_from(["linear", "activation", "layernorm", "add", "concat"]))
        x = draw(st.sampled_from(names))
        if kind == "linear":
            op, inputs, out = {"kind": "linear", "out_features": draw(st.integers(1, 6))}, [x], None
        elif kind == "activation":
            op, inputs, out = {"kind": "activation", "fn": draw(st.sampled_from(["relu", "tanh", "sin"]))}, [x], None
        elif kind == "layernorm":
            op, inputs, out = {"kind": "layernorm"}, [x], shapes[x]
        elif kind == "add":
            same = [n for n in names if shapes[n] == shapes[x]]
            op, inputs, out = {"kind": "add"}, [x, draw(st.sampled_from(same))], shapes[x]
        else:
            y = draw(st.sampled_from(names))
            op, inputs, out = {"kind": "concat"}, [x, y], shapes[x] + shapes[y]
        nodes.append({"name": f"n{i}", "op": op, "inputs": inputs})
        shapes[f"n{i}"] = out or (op.get("out_features") or shapes[x])
    nodes.append({"name": "head", "op": {"kind": "linear", "out_features": 2}, "inputs": [f"n{len(nodes) - 1}"]})
    return GraphSpec.model_validate({"input_shape": [width], "nodes": nodes})


def random_graph_net(spec: GraphSpec, seed: int = 0) -> Net:
    """A Net of `spec` with every tensor drawn at random (running variances positive)."""
    g = torch.Generator().manual_seed(seed)
    params = {k: torch.randn(s, generator=g) * 0.3 for k, s in spec.state_shapes().items()}
    return Net(spec, {k: v.abs() + 0.5 if k.endswith("running_var") else v for k, v in params.items()})


def text_transformer(vocab: int = 50, tokens: int = 6, dim: int = 8, heads: int = 2) -> GraphSpec:
    """A one-block transformer over token ids: embedding, positions, attention and an MLP added back, mean-pooled."""
    nodes = [
        ("emb", {"kind": "embedding", "vocab": vocab, "dim": dim}, ["input"]),
        ("pos", {"kind": "positions"}, ["emb"]),
        ("norm1", {"kind": "layernorm"}, ["pos"]),
        ("attn", {"kind": "attention", "heads": heads}, ["norm1"]),
        ("sum1", {"kind": "add"}, ["pos", "attn"]),
        ("fc1", {"kind": "linear", "out_features": 2 * dim}, ["sum1"]),
        ("act", {"kind": "activation", "fn": "gelu"}, ["fc1"]),
        ("fc2", {"kind": "linear", "out_features": dim}, ["act"]),
        ("sum2", {"kind": "add"}, ["sum1", "fc2"]),
        ("pool", {"kind": "token_mean"}, ["sum2"]),
        ("head", {"kind": "linear", "out_features": 3}, ["pool"]),
    ]
    return GraphSpec.model_validate({"input_shape": [tokens], "name": "text-transformer",
                                     "nodes": [{"name": n, "op": op, "inputs": i} for n, op, i in nodes]})  # fmt: skip


def named_weights(shapes: dict[str, list[int]]) -> dict[str, torch.Tensor]:
    """Weights for a state dict's names, each a pure function of its name (so a fixture can record a foreign
    model's outputs on them and a test rebuild them): He-scaled weights, gains near 1, positive running variances."""
    out = {}
    for name, shape in shapes.items():
        g = torch.Generator().manual_seed(zlib.crc32(name.encode()))
        if name.endswith("num_batches_tracked"):
            out[name] = torch.tensor(0)
        elif name.endswith("running_var"):
            out[name] = torch.rand(shape, generator=g) + 0.5
        elif name.endswith("running_mean") or name.endswith("bias"):
            out[name] = 0.1 * torch.randn(shape, generator=g)
        elif len(shape) == 1:  # a norm's gain
            out[name] = 1 + 0.1 * torch.randn(shape, generator=g)
        else:
            fan_in = math.prod(shape[1:])
            out[name] = torch.randn(shape, generator=g) * (2 / fan_in) ** 0.5
    return out
