"""Hypothesis strategies for random architectures, shared by the property tests."""

from __future__ import annotations

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
