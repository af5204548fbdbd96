"""Set Transformer blocks (Lee et al. 2019) with padding masks, and sinusoidal encodings of integers.

Sets arrive as [n_sets, set_size, width] with a boolean `mask` [n_sets, set_size] (True = a real element).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class MAB(nn.Module):
    """Multihead attention block: H = LN(X + MultiHead(X, Y, Y)); out = LN(H + rFF(H)).

    The attention uses nn.MultiheadAttention's parameters (so saved encoders load as before) but not its forward:
    that slices q, k and v out of one packed projection, and the backward of each slice zero-fills and copies the
    whole packed tensor, which cost a third of SNE's training step on LeNet-5 zoos.
    """

    def __init__(self, width: int, heads: int):
        super().__init__()
        self.attn = nn.MultiheadAttention(width, heads, batch_first=True)
        self.ff = nn.Sequential(nn.Linear(width, width), nn.ReLU(), nn.Linear(width, width))
        self.ln1, self.ln2 = nn.LayerNorm(width), nn.LayerNorm(width)

    def forward(self, x: torch.Tensor, y: torch.Tensor, y_mask: torch.Tensor | None = None) -> torch.Tensor:
        a, width = self.attn, x.shape[-1]
        w_q, w_kv = a.in_proj_weight.split([width, 2 * width])
        b_q, b_kv = a.in_proj_bias.split([width, 2 * width])
        k, v = F.linear(y, w_kv, b_kv).chunk(2, -1)

        def heads(t: torch.Tensor) -> torch.Tensor:  # [n, set, width] -> [n, heads, set, width / heads]
            return t.unflatten(-1, (a.num_heads, -1)).transpose(1, 2)

        mask = None if y_mask is None else y_mask[:, None, None, :]
        o = F.scaled_dot_product_attention(heads(F.linear(x, w_q, b_q)), heads(k), heads(v), attn_mask=mask)
        h = self.ln1(x + a.out_proj(o.transpose(1, 2).flatten(2)))
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
