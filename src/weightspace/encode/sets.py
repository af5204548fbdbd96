"""Set Transformer blocks (Lee et al. 2019) with padding masks, and sinusoidal encodings of integers.

Sets arrive as [n_sets, set_size, width] with a boolean `mask` [n_sets, set_size] (True = a real element).
"""

from __future__ import annotations

import math

import torch
from torch import nn


class MAB(nn.Module):
    """Multihead attention block: H = LN(X + MultiHead(X, Y, Y)); out = LN(H + rFF(H))."""

    def __init__(self, width: int, heads: int):
        super().__init__()
        self.attn = nn.MultiheadAttention(width, heads, batch_first=True)
        self.ff = nn.Sequential(nn.Linear(width, width), nn.ReLU(), nn.Linear(width, width))
        self.ln1, self.ln2 = nn.LayerNorm(width), nn.LayerNorm(width)

    def forward(self, x: torch.Tensor, y: torch.Tensor, y_mask: torch.Tensor | None = None) -> torch.Tensor:
        pad = None if y_mask is None else ~y_mask
        h = self.ln1(x + self.attn(x, y, y, key_padding_mask=pad, need_weights=False)[0])
        return self.ln2(h + self.ff(h))


class SAB(nn.Module):
    """Set-to-set: self-attention among the set's elements."""

    def __init__(self, width: int, heads: int):
        super().__init__()
        self.mab = MAB(width, heads)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        return self.mab(x, x, mask)


class SetToSet(nn.Module):
    """A stack of SABs."""

    def __init__(self, width: int, heads: int, depth: int):
        super().__init__()
        self.blocks = nn.ModuleList(SAB(width, heads) for _ in range(depth))

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        for block in self.blocks:
            x = block(x, mask)
        return x


class PMA(nn.Module):
    """Set-to-vector: one learned seed attends over rFF(X) (pooling by multihead attention, PMA_1).

    The seed starts at zero, so pooling starts as the masked mean of the values: a random seed is a constant
    that the residual adds to every pooled vector, and it drowned the differences between networks (measured:
    their spread at the encoder's output fell 5x).
    """

    def __init__(self, width: int, heads: int):
        super().__init__()
        self.seed = nn.Parameter(torch.zeros(1, 1, width))
        self.ff = nn.Sequential(nn.Linear(width, width), nn.ReLU())
        self.mab = MAB(width, heads)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        return self.mab(self.seed.expand(x.shape[0], 1, -1), self.ff(x), mask)[:, 0]


def sinusoid(positions: torch.Tensor, width: int) -> torch.Tensor:
    """[..., width] sinusoidal encodings of integer positions (Vaswani et al.), defined for any position."""
    freqs = torch.exp(torch.arange(0, width, 2, device=positions.device) * (-math.log(10_000.0) / width))
    angles = positions.float()[..., None] * freqs
    out = torch.zeros(*positions.shape, width, device=positions.device)
    out[..., 0::2] = torch.sin(angles)
    out[..., 1::2] = torch.cos(angles[..., : width // 2])
    return out
