"""Pad-chunking: a layer's weights as a set of fixed-size chunks, each a set of elements, with padding masks.

An element is one incoming connection of one unit: a scalar for a linear layer, a whole k x k kernel for a conv
(centred in a kernel_max x kernel_max square, so a linear weight is a 1 x 1 kernel). Chunks are neuron-aligned:
a unit with fan-in above the chunk size c is split into ceil(fan_in / c) chunks of its own; units with a smaller
fan-in share a chunk, c // fan_in of them whole. Biases are chunked the same way as units of fan-in 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from weightspace.encode.weights import EncodeError, WeightBatch

LINEAR, CONV, BIAS = 0, 1, 2  # chunk types


@dataclass(frozen=True)
class Chunks:
    """values [B, N, c, e], mask [B, N, c]; per chunk: its layer's level (depth) and its type; `groups` slices N
    by set."""

    values: torch.Tensor
    mask: torch.Tensor
    level: torch.Tensor
    kind: torch.Tensor
    groups: tuple[tuple[int, int, int, bool], ...]  # (start, stop, layer, is_bias)


def elements(w: torch.Tensor, kernel_max: int) -> torch.Tensor:
    """[B, out, in, e]: a linear [B, out, in] or conv [B, out, in, k, k] weight as kernel_max**2-vectors."""
    if w.dim() == 3:
        w = w[..., None, None]
    k = w.shape[-1]
    if w.shape[-2] != k or k > kernel_max or (kernel_max - k) % 2:
        raise EncodeError(
            f"a {tuple(w.shape[-2:])} kernel does not fit this encoder's kernel_max={kernel_max}; "
            "train an encoder with a kernel_max at least as large (and of the same parity)"
        )
    pad = (kernel_max - k) // 2
    return F.pad(w, (pad, pad, pad, pad)).flatten(-2)


def chunk(elems: torch.Tensor, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """[B, out, fan_in, e] -> values [B, n, size, e] and mask [B, n, size], chunks aligned to units."""
    b, out, fan_in, e = elems.shape
    mask = torch.ones(b, out, fan_in, dtype=torch.bool, device=elems.device)
    if fan_in >= size:
        pieces = -(-fan_in // size)
        extra = pieces * size - fan_in
        values = F.pad(elems, (0, 0, 0, extra)).reshape(b, out * pieces, size, e)
        return values, F.pad(mask, (0, extra)).reshape(b, out * pieces, size)
    per = size // fan_in  # whole units per chunk
    groups = -(-out // per)
    extra_units = groups * per - out
    values = F.pad(elems, (0, 0, 0, 0, 0, extra_units)).reshape(b, groups, per * fan_in, e)
    mask = F.pad(mask, (0, 0, 0, extra_units)).reshape(b, groups, per * fan_in)
    tail = size - per * fan_in
    return F.pad(values, (0, 0, 0, tail)), F.pad(mask, (0, tail))


def chunk_batch(batch: WeightBatch, size: int, kernel_max: int) -> Chunks:
    """Every layer's weight chunks, then its bias chunks, concatenated along the chunk axis."""
    values, masks, levels, kinds, groups = [], [], [], [], []
    start = 0
    for layer, (w, bias, level) in enumerate(zip(batch.weights, batch.biases, batch.layout.levels)):
        parts = [(elements(w, kernel_max), CONV if w.dim() == 5 else LINEAR, False)]
        if bias is not None:
            parts.append((elements(bias[..., None], kernel_max), BIAS, True))
        for elems, kind, is_bias in parts:
            v, m = chunk(elems, size)
            n = v.shape[1]
            values.append(v)
            masks.append(m)
            levels.append(torch.full((n,), level))
            kinds.append(torch.full((n,), kind))
            groups.append((start, start + n, layer, is_bias))
            start += n
    device = batch.weights[0].device
    return Chunks(
        torch.cat(values, 1),
        torch.cat(masks, 1),
        torch.cat(levels).to(device),
        torch.cat(kinds).to(device),
        tuple(groups),
    )
