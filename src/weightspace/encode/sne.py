"""SNE (Andreis et al. 2024): a set-based encoder of any architecture's weights, with no weight tying.

chunk -> layer -> network, each stage a set function (Set Transformer blocks):
  chunks:  lift elements to `width`; set-to-set; + type and level encodings; set-to-set; set-to-vector
  layers:  a layer's chunk vectors -> set-to-set; + level encoding; set-to-vector (weights and biases apart,
           then merged into one vector per layer)
  network: layer vectors + level encoding -> set-to-set; set-to-vector -> z
The type/level encodings are sinusoids, defined for any layer count, so unseen architectures encode too; a layer's
level is its depth in the graph (a chain's index; branches of one block share a level).
Weights are read in units of the training zoo's RMS weight (`weight_scale`): trained weights are ~0.05, and
at that size the lift's bias, not the weights, decided the chunk features.
Pad-chunking breaks the hidden-unit symmetry (a chunk holds parts of units); the paper's logit-invariance loss
only shrinks the resulting output gap. `canonical=True` sorts every network's hidden units into one order first,
which makes SNE exactly invariant (this library's option, not the paper's).
"""

from __future__ import annotations

import torch
from torch import nn

from weightspace.encode.chunks import chunk_batch
from weightspace.encode.sets import PMA, SetToSet, sinusoid
from weightspace.encode.weights import WeightBatch


class SNE(nn.Module):
    """The set-based neural network encoder (Andreis et al. 2024): chunks -> layers -> network, with set attention."""

    def __init__(
        self,
        dim: int = 32,
        width: int = 32,
        heads: int = 4,
        depth: int = 2,
        chunk_size: int = 16,
        kernel_max: int = 5,
        positional: bool = True,
        weight_scale: float = 1.0,
        canonical: bool = False,
    ):
        super().__init__()
        self.dim, self.width, self.chunk_size, self.kernel_max = dim, width, chunk_size, kernel_max
        self.positional, self.weight_scale, self.canonical = positional, weight_scale, canonical
        self.lift = nn.Linear(kernel_max**2, width)
        self.chunk_phi1 = SetToSet(width, heads, depth)
        self.chunk_phi2 = SetToSet(width, heads, depth)
        self.chunk_pool = PMA(width, heads)
        self.layer_phi = SetToSet(width, heads, depth)
        self.layer_pool = PMA(width, heads)
        self.merge = nn.Linear(2 * width, width)
        self.net_phi = SetToSet(width, heads, depth)
        self.net_pool = PMA(width, heads)
        self.out = nn.Linear(width, dim)

    def encode_position(self, positions: torch.Tensor) -> torch.Tensor | float:
        return sinusoid(positions, self.width) if self.positional else 0.0

    def encode_chunk_position(self, kind: torch.Tensor, level: torch.Tensor) -> torch.Tensor:
        """[n, width]: type and level in separate halves (a sum of sinusoids of the two would collide)."""
        half = self.width // 2
        return torch.cat([sinusoid(kind, half), sinusoid(level, self.width - half)], -1)

    def _chunks(self, values: torch.Tensor, mask: torch.Tensor, position: torch.Tensor | None) -> torch.Tensor:
        """[chunks, width]: each chunk's elements lifted, set-to-set, + type and level, set-to-set, pooled."""
        x = self.chunk_phi1(self.lift(values / self.weight_scale), mask)
        if position is not None:
            x = x + position
        return self.chunk_pool(self.chunk_phi2(x, mask), mask)

    def forward(self, batch: WeightBatch) -> torch.Tensor:
        if self.canonical:
            batch = batch.canonical()
        c = chunk_batch(batch, self.chunk_size, self.kernel_max)
        b, n, size, e = c.values.shape
        values, mask = c.values.reshape(b * n, size, e), c.mask.reshape(b * n, size)
        position = self.encode_chunk_position(c.kind, c.level).repeat(b, 1)[:, None] if self.positional else None
        # chunks are encoded apart, so a large network (millions of chunks) goes through in slices: each slice's
        # attention holds about 2^26 scores per head whatever the network's size
        step = max(1, (1 << 26) // (size * size))
        x = torch.cat([self._chunks(values[i : i + step], mask[i : i + step],
                                    None if position is None else position[i : i + step])
                       for i in range(0, b * n, step)]).reshape(b, n, self.width)  # fmt: skip

        # one vector per (layer, weights|biases); biases missing from a layer leave zeros
        layers = x.new_zeros(b, batch.num_layers, 2, self.width)
        levels = torch.tensor(batch.layout.levels, device=x.device)
        for start, stop, layer, is_bias in c.groups:
            s = self.layer_phi(x[:, start:stop])
            s = s + self.encode_position(levels[layer])
            layers[:, layer, int(is_bias)] = self.layer_pool(s)
        layers = self.merge(layers.flatten(2))

        layers = layers + self.encode_position(levels)
        return self.out(self.net_pool(self.net_phi(layers)))
