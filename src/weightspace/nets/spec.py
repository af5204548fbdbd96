"""ArchSpec: a declarative, JSON-serialisable description of a feed-forward network.

A spec is an input shape (without the batch dimension) and an ordered list of layers. Parameter names follow
the `nn.Sequential` that `build` makes from it ("0.weight", "3.bias", ...), so a spec alone fixes the PyTorch
layout of every tensor a network of that architecture has.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from weightspace.errors import SpecError
from weightspace.limits import MAX_LAYERS, MAX_PARAMS, MAX_UNITS, MAX_VALUES

ActivationName = Literal["relu", "leaky_relu", "tanh", "sigmoid", "gelu", "sin", "identity"]
ACTIVATIONS: tuple[str, ...] = ActivationName.__args__
Shape = tuple[int, ...]
# every size a spec declares is bounded (limits.py), so a spec is refused when parsed, never when allocated
Size = Annotated[int, Field(ge=1, le=MAX_UNITS)]


class _Layer(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Linear(_Layer):
    """A dense layer: `out_features` outputs, with a bias unless `bias=False`."""

    kind: Literal["linear"] = "linear"
    out_features: Size
    bias: bool = True


class Conv2d(_Layer):
    """A 2-D convolution: `out_channels` kernels of `kernel_size`, with stride and padding (`"same"` too)."""

    kind: Literal["conv2d"] = "conv2d"
    out_channels: Size
    kernel_size: Size
    stride: Size = 1
    padding: Annotated[int, Field(ge=0, le=MAX_UNITS)] | Literal["same"] = 0
    bias: bool = True


class Pool2d(_Layer):
    """Average or max pooling over `kernel_size` windows."""

    kind: Literal["pool2d"] = "pool2d"
    op: Literal["avg", "max"] = "avg"
    kernel_size: Size = 2
    stride: Size | None = None  # None: same as kernel_size, as in PyTorch and Keras


class GlobalPool(_Layer):
    """Pool each channel over all positions: [C, H, W] -> [C]."""

    kind: Literal["global_pool"] = "global_pool"
    op: Literal["avg", "max"] = "avg"


class Flatten(_Layer):
    """Channels x positions to one vector, in PyTorch order."""

    kind: Literal["flatten"] = "flatten"


class BatchNorm(_Layer):
    """BatchNorm1d on [C] inputs, BatchNorm2d on [C, H, W] inputs; the feature count comes from the input."""

    kind: Literal["batchnorm"] = "batchnorm"
    eps: float = 1e-5
    momentum: float = 0.1


class Activation(_Layer):
    """An element-wise activation; `fn` may be a list with one activation per unit (channel) of its input."""

    kind: Literal["activation"] = "activation"
    fn: ActivationName | list[ActivationName]
    negative_slope: float = 0.01  # for leaky_relu


class Dropout(_Layer):
    """Dropout with probability `p` (identity at evaluation)."""

    kind: Literal["dropout"] = "dropout"
    p: float = Field(ge=0.0, lt=1.0)


Layer = Annotated[
    Linear | Conv2d | Pool2d | GlobalPool | Flatten | BatchNorm | Activation | Dropout,
    Field(discriminator="kind"),
]
PARAMETRIC = (Linear, Conv2d)


def _out_shape(layer: _Layer, shape: Shape, index: int) -> Shape:
    """Shape after `layer` for an input of `shape`; raises SpecError naming the layer when they do not fit."""

    def fail(msg: str) -> SpecError:
        return SpecError(f"layer {index} ({layer.kind}) cannot take input of shape {shape}: {msg}")

    if isinstance(layer, Linear):
        if len(shape) != 1:
            raise fail("linear layers need a flat [features] input; add a flatten or global_pool layer first")
        return (layer.out_features,)
    if isinstance(layer, Conv2d):
        if len(shape) != 3:
            raise fail("conv2d needs a [channels, height, width] input")
        _, h, w = shape
        if layer.padding == "same":
            if layer.stride != 1:
                raise fail("padding 'same' needs stride 1")
            return (layer.out_channels, h, w)
        k, s, p = layer.kernel_size, layer.stride, layer.padding
        oh, ow = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
        if oh < 1 or ow < 1:
            raise fail(f"a {k}x{k} kernel does not fit")
        return (layer.out_channels, oh, ow)
    if isinstance(layer, Pool2d):
        if len(shape) != 3:
            raise fail("pool2d needs a [channels, height, width] input")
        c, h, w = shape
        k, s = layer.kernel_size, layer.stride or layer.kernel_size
        oh, ow = (h - k) // s + 1, (w - k) // s + 1
        if oh < 1 or ow < 1:
            raise fail(f"a {k}x{k} window does not fit")
        return (c, oh, ow)
    if isinstance(layer, GlobalPool):
        if len(shape) != 3:
            raise fail("global_pool needs a [channels, height, width] input")
        return (shape[0],)
    if isinstance(layer, Flatten):
        return (math.prod(shape),)
    if isinstance(layer, BatchNorm):
        if len(shape) not in (1, 3):
            raise fail("batchnorm needs a [features] or [channels, height, width] input")
        return shape
    if isinstance(layer, Activation):
        if isinstance(layer.fn, list) and len(layer.fn) != shape[0]:
            raise fail(f"{len(layer.fn)} per-unit activations given for {shape[0]} units")
        return shape
    return shape  # dropout


class ArchSpec(BaseModel):
    """A network architecture: input shape (no batch dimension) and an ordered list of layers."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input_shape: tuple[Size, ...] = Field(max_length=8)
    layers: list[Layer] = Field(max_length=MAX_LAYERS)
    name: str = Field("", max_length=200)

    @model_validator(mode="after")
    def _check(self) -> ArchSpec:
        if not self.layers:
            raise SpecError("an ArchSpec needs at least one layer")
        for i, shape in enumerate(self.shapes()):
            if math.prod(shape) > MAX_VALUES:
                where = f"the output of layer {i - 1}" if i else "the input"
                raise SpecError(f"{where} has {math.prod(shape):,} values per example; the most is {MAX_VALUES:,}")
        if (n := self.num_params()) > MAX_PARAMS:
            raise SpecError(f"the spec has {n:,} parameters; the most a network may have is {MAX_PARAMS:,}")
        return self

    # -- shapes -------------------------------------------------------------------------------------------------
    def shapes(self) -> list[Shape]:
        """Shape of the input followed by the shape after every layer."""
        shapes = [tuple(self.input_shape)]
        for i, layer in enumerate(self.layers):
            shapes.append(_out_shape(layer, shapes[-1], i))
        return shapes

    @property
    def output_shape(self) -> Shape:
        return self.shapes()[-1]

    def activation_values(self) -> int:
        """Values one example holds from the input to the output (the memory a forward pass keeps)."""
        return sum(math.prod(s) for s in self.shapes())

    def parametric_layers(self) -> list[int]:
        """Indices of the linear and conv layers, input to output."""
        return [i for i, layer in enumerate(self.layers) if isinstance(layer, PARAMETRIC)]

    def state_shapes(self, buffers: bool = True) -> dict[str, Shape]:
        """Name -> shape of every tensor of a network of this spec, in state_dict order.

        With `buffers`, batchnorm running statistics are included (they are part of the function in eval mode).
        """
        out: dict[str, Shape] = {}
        shapes = self.shapes()
        for i, layer in enumerate(self.layers):
            in_shape = shapes[i]
            if isinstance(layer, Linear):
                out[f"{i}.weight"] = (layer.out_features, in_shape[0])
                if layer.bias:
                    out[f"{i}.bias"] = (layer.out_features,)
            elif isinstance(layer, Conv2d):
                k = layer.kernel_size
                out[f"{i}.weight"] = (layer.out_channels, in_shape[0], k, k)
                if layer.bias:
                    out[f"{i}.bias"] = (layer.out_channels,)
            elif isinstance(layer, BatchNorm):
                c = (in_shape[0],)
                out[f"{i}.weight"], out[f"{i}.bias"] = c, c
                if buffers:
                    out[f"{i}.running_mean"], out[f"{i}.running_var"] = c, c
        return out

    def num_params(self) -> int:
        """Number of learnable parameters (batchnorm running statistics not counted)."""
        return sum(math.prod(s) for s in self.state_shapes(buffers=False).values())

    # -- serialisation ------------------------------------------------------------------------------------------
    def to_json(self, indent: int | None = None) -> str:
        return self.model_dump_json(indent=indent)

    @classmethod
    def from_json(cls, text: str) -> ArchSpec:
        return cls.model_validate_json(text)

    def describe(self) -> list[tuple[int, str, Shape, int]]:
        """One row per layer: index, a short description, output shape, parameter count."""
        counts: dict[int, int] = {}
        for name, shape in self.state_shapes(buffers=False).items():
            idx = int(name.split(".")[0])
            counts[idx] = counts.get(idx, 0) + math.prod(shape)
        rows = []
        for i, (layer, shape) in enumerate(zip(self.layers, self.shapes()[1:])):
            fields = layer.model_dump(exclude={"kind"}, exclude_defaults=True)
            if isinstance(layer, Activation) and isinstance(layer.fn, list):
                fields["fn"] = f"per-unit[{len(layer.fn)}]"
            desc = layer.kind + "(" + ", ".join(f"{k}={v}" for k, v in fields.items()) + ")"
            rows.append((i, desc, shape, counts.get(i, 0)))
        return rows
