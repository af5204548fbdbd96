"""Ha et al.'s static hypernetwork for CNNs: layer embeddings z_j and one shared two-layer linear generator.

For a kernel block of N_out x N_in x f x f:  a_i = W_i z + B_i  (one d-vector per input channel i),
K_i = W_out a_i + B_out  (the N_out x f x f slice for input channel i). A layer whose kernel is m x n blocks gets m*n
embeddings; the generator is shared by every block of every layer (relaxed weight sharing).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from weightspace.hyper.api import HyperError, module_layout
from weightspace.nets import Activation as Act
from weightspace.nets import ArchSpec, Conv2d, Flatten, Layout, Linear, Pool2d
from weightspace.nets.graph import Spec
from weightspace.seeding import seeded


class KernelHyper(nn.Module):
    """Generates the conv kernels named in `slots` from per-block embeddings; returns {name: kernel}."""

    def __init__(self, slots: Layout, z_dim: int = 4, d: int | None = None, block: tuple[int, int] | None = None):
        super().__init__()
        d = d or z_dim  # the paper sets d = N_z
        shapes = slots.shapes
        if any(len(s) != 4 or s[2] != s[3] for s in shapes):
            raise HyperError(f"KernelHyper writes square conv kernels [out, in, f, f]; got shapes {list(shapes)}")
        f = shapes[0][2]
        if any(s[2] != f for s in shapes):
            raise HyperError("every generated kernel must have the same f x f size (one generator per size)")
        bo, bi = block or (min(s[0] for s in shapes), min(s[1] for s in shapes))
        bad = [n for n, s in zip(slots.names, shapes) if s[0] % bo or s[1] % bi]
        if bad:
            raise HyperError(f"kernels {bad} are not whole multiples of the {bo} x {bi} block")
        self.slots, self.block, self.f = slots, (bo, bi), f
        self.grid = [(s[0] // bo, s[1] // bi) for s in shapes]
        self.z = nn.Parameter(torch.randn(sum(m * n for m, n in self.grid), z_dim))
        self.w_in = nn.Parameter(torch.randn(bi, d, z_dim) / math.sqrt(z_dim))
        self.b_in = nn.Parameter(torch.zeros(bi, d))
        # K's variance ~ 1 / fan_in of a block, like a default-initialised conv
        self.w_out = nn.Parameter(torch.randn(bo * f * f, d) / math.sqrt(d * bi * f * f))
        self.b_out = nn.Parameter(torch.zeros(bo * f * f))

    def blocks(self) -> torch.Tensor:
        """[n_blocks, bo, bi, f, f]: every embedding through the shared generator."""
        bo, bi = self.block
        a = torch.einsum("idz,kz->kid", self.w_in, self.z) + self.b_in  # [k, bi, d]
        k = a @ self.w_out.T + self.b_out  # [k, bi, bo*f*f]
        return k.reshape(-1, bi, bo, self.f, self.f).transpose(1, 2)

    def forward(self) -> dict[str, torch.Tensor]:
        blocks, out, start = self.blocks(), {}, 0
        for name, (m, n) in zip(self.slots.names, self.grid):
            g = blocks[start : start + m * n].reshape(m, n, *blocks.shape[1:])  # [m, n, bo, bi, f, f]
            out[name] = g.permute(0, 2, 1, 3, 4, 5).reshape(m * g.shape[2], n * g.shape[3], self.f, self.f)
            start += m * n
        return out


def ha_mnist_cnn(input_shape: tuple[int, int, int] = (1, 28, 28), classes: int = 10) -> ArchSpec:
    """The paper's MNIST network: conv 7x7x16, pool, conv 7x7 16->16, pool, dense -> classes (21,210 parameters)."""
    layers = [
        Conv2d(out_channels=16, kernel_size=7, padding="same"),
        Act(fn="relu"),
        Pool2d(op="max"),
        Conv2d(out_channels=16, kernel_size=7, padding="same"),
        Act(fn="relu"),
        Pool2d(op="max"),
        Flatten(),
        Linear(out_features=classes),
    ]
    return ArchSpec(name="ha-mnist-cnn", input_shape=input_shape, layers=layers)


def static_model(
    spec: Spec, generated: list[str], z_dim: int = 4, seed: int = 0, block: tuple[int, int] | None = None
) -> nn.Module:
    """`spec` (a chain or a graph) built as usual, with the conv kernels named in `generated` written by a
    KernelHyper (one embedding per `block` slice; default: the smallest kernel's size)."""
    from weightspace.hyper.api import HyperModel
    from weightspace.nets.graph import build

    with seeded(seed):  # the caller's random state is left alone
        target = build(spec)
        if not generated:
            return target
        slots = module_layout(target, generated)
        return HyperModel(target, slots, KernelHyper(slots, z_dim, block=block))
