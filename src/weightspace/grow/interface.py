"""What wider and deeper share: taking a Net or a module, and giving back the same kind."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from weightspace.errors import SpecError
from weightspace.nets import PARAMETRIC, ArchSpec, Net

Model = Net | nn.Module


def as_net(model: Model, input_shape: Sequence[int] | None) -> Net:
    if isinstance(model, Net):
        return model
    if isinstance(model, nn.Module):
        if input_shape is None:
            raise SpecError("growing a module needs input_shape=(C, H, W) or (features,)")
        return Net.from_module(None, model, input_shape)
    raise SpecError(f"expected a weightspace Net or an nn.Module, got {type(model).__name__}")


def like(original: Model, grown: Net) -> Model:
    """`grown` in the form the caller gave: a Net, or a module (built from the grown spec: an nn.Sequential for a
    chain) in the original's train/eval mode."""
    if isinstance(original, Net):
        return grown
    module = grown.as_module()
    return module.train(original.training)


def next_parametric(spec: ArchSpec, layer: int) -> int:
    """The index of the linear/conv layer that reads `layer`'s output; a clear error if there is none."""
    if not 0 <= layer < len(spec.layers) or not isinstance(spec.layers[layer], PARAMETRIC):
        kinds = ", ".join(f"{i}: {lay.kind}" for i, lay in enumerate(spec.layers))
        raise SpecError(f"layer {layer} is not a linear or conv layer; the layers are {kinds}")
    following = [i for i in spec.parametric_layers() if i > layer]
    if not following:
        raise SpecError(f"layer {layer} is the output layer; only hidden layers can be widened")
    return following[0]


@torch.no_grad()
def output_gap(a: Net, b: Net, inputs: torch.Tensor) -> float:
    """Largest |a(x) - b(x)| relative to max |a(x)| over `inputs`: 0 when the two compute the same function."""
    ya, yb = a(inputs), b(inputs)
    return ((ya - yb).abs().max() / ya.abs().max().clamp_min(1e-12)).item()


def probe_inputs(spec: ArchSpec, n: int = 64, seed: int = 0) -> torch.Tensor:
    """`n` seeded uniform inputs of the spec's input shape, to measure how far a grown network's outputs moved."""
    return torch.rand(n, *spec.input_shape, generator=torch.Generator().manual_seed(seed))
