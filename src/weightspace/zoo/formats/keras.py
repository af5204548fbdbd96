"""Keras weight layouts -> PyTorch layouts, for the parametric layers of an ArchSpec, in order.

Keras stores conv kernels as (kh, kw, in, out) and dense kernels as (in, out), and flattens feature maps in
(H, W, C) order where PyTorch uses (C, H, W): the first dense layer after a flatten has its rows reordered.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from weightspace.errors import SpecError
from weightspace.nets import PARAMETRIC, ArchSpec, Conv2d, Flatten


def _flattened_map(spec: ArchSpec, i: int) -> tuple[int, int, int] | None:
    """(C, H, W) of the feature map flattened right before dense layer i, if one is."""
    shapes = spec.shapes()
    for j in range(i - 1, -1, -1):
        if isinstance(spec.layers[j], PARAMETRIC):
            return None
        if isinstance(spec.layers[j], Flatten) and len(shapes[j]) == 3:
            return shapes[j]
    return None


def keras_to_torch(spec: ArchSpec, layers: Sequence[tuple[np.ndarray, np.ndarray | None]]) -> dict[str, torch.Tensor]:
    """(kernel, bias) per parametric layer, in Keras layout -> the spec's PyTorch state dict."""
    params_at = spec.parametric_layers()
    if len(layers) != len(params_at):
        raise SpecError(f"{len(layers)} weighted Keras layers given; the spec has {len(params_at)}")
    out: dict[str, torch.Tensor] = {}
    for i, (kernel, bias) in zip(params_at, layers):
        k = torch.as_tensor(np.asarray(kernel, dtype=np.float32))
        if isinstance(spec.layers[i], Conv2d):
            k = k.permute(3, 2, 0, 1)
        else:
            if chw := _flattened_map(spec, i):
                c, h, w = chw
                k = k.reshape(h, w, c, -1).permute(2, 0, 1, 3).reshape(c * h * w, -1)
            k = k.T
        out[f"{i}.weight"] = k.contiguous()
        if bias is not None:
            out[f"{i}.bias"] = torch.as_tensor(np.asarray(bias, dtype=np.float32))
    return out


def torch_to_keras(spec: ArchSpec, params: dict[str, torch.Tensor]) -> list[tuple[np.ndarray, np.ndarray | None]]:
    """The inverse of `keras_to_torch` (used to export, and to test the import)."""
    layers = []
    for i in spec.parametric_layers():
        k = params[f"{i}.weight"]
        if isinstance(spec.layers[i], Conv2d):
            k = k.permute(2, 3, 1, 0)
        else:
            k = k.T
            if chw := _flattened_map(spec, i):
                c, h, w = chw
                k = k.reshape(c, h, w, -1).permute(1, 2, 0, 3).reshape(c * h * w, -1)
        bias = params.get(f"{i}.bias")
        layers.append((k.contiguous().numpy(), None if bias is None else bias.numpy()))
    return layers
