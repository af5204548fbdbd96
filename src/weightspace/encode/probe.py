"""The probing encoder: learned inputs passed through every network, its outputs read by a set network.

Probing methods (ProbeGen, Kahana et al. ICLR 2025; ProbeX, Horwitz et al. CVPR 2025) read a network by what it
computes, not by its weights, so they read any architecture the data model builds, and a network's hidden units
can trade places without changing a single output: the encoder is invariant to those permutations by construction.
Each network runs through `torch.func.functional_call` on its own weights (`WeightBatch.source`), all networks of a
batch in one `vmap`.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.func import functional_call, vmap

from weightspace.encode.graph import mlp
from weightspace.encode.weights import EncodeError, WeightBatch
from weightspace.nets.graph import Embedding, GraphSpec, Spec, build

TOKEN_SEED = 0  # token-id probes are drawn once per vocabulary with this seed (ids cannot be learned by gradient)


def reads_tokens(spec: Spec) -> Embedding | None:
    """The embedding a network of `spec` reads its token-id inputs with, if it reads tokens."""
    if isinstance(spec, GraphSpec):
        for node in spec.nodes:
            if isinstance(node.op, Embedding) and "input" in node.inputs:
                return node.op
    return None


class ProbeEncoder(nn.Module):
    """WeightBatch -> [B, dim]: `probes` learned inputs through each network; each probe's output vector, with a
    learned embedding of which probe it is, through phi; the mean over probes through rho.

    `generator="deep-linear"` makes the probes as ProbeGen does: a shared latent code per probe through a stack of
    linear layers without activations (a low-rank, shared structure that regularises the probes)."""

    invariant = True  # a network's outputs do not change when its hidden units are permuted

    def __init__(
        self,
        input_shape: tuple[int, ...],
        outputs: int,
        dim: int = 32,
        width: int = 64,
        probes: int = 32,
        generator: str = "none",
        latent: int = 32,
    ):
        super().__init__()
        self.input_shape, self.outputs, self.count = tuple(input_shape), outputs, probes
        size = math.prod(self.input_shape)
        if generator == "deep-linear":
            self.latent = nn.Parameter(torch.randn(probes, latent))
            self.make = nn.Sequential(nn.Linear(latent, width), nn.Linear(width, width), nn.Linear(width, size))
        elif generator == "none":
            self.inputs = nn.Parameter(torch.randn(probes, *self.input_shape))
        else:
            raise EncodeError(f"probe generator {generator!r} unknown; choose none or deep-linear")
        self.generator = generator
        self.which = nn.Parameter(0.1 * torch.randn(probes, width))  # which probe an output answers
        self.phi = mlp([outputs + width, width, width])
        self.rho = mlp([width, width, dim])
        self._modules_of: dict[str, nn.Module] = {}  # built networks, one per spec (not parameters of the encoder)

    def probes(self, spec: Spec, device: torch.device) -> torch.Tensor:
        """[probes, *input] the inputs every network of `spec` sees."""
        emb = reads_tokens(spec)
        if emb is not None:
            g = torch.Generator().manual_seed(TOKEN_SEED)
            return torch.randint(emb.vocab, (self.count, *spec.input_shape), generator=g).to(device)
        if tuple(spec.input_shape) != self.input_shape:
            raise EncodeError(
                f"this probing encoder was built for inputs {self.input_shape}; these networks read "
                f"{tuple(spec.input_shape)}"
            )
        if self.generator == "deep-linear":
            return self.make(self.latent).view(self.count, *self.input_shape)
        return self.inputs

    def _module(self, spec: Spec, device: torch.device) -> nn.Module:
        key = f"{spec.model_dump_json()}@{device}"
        if key not in self._modules_of:
            self._modules_of[key] = build(spec).to(device).eval()  # eval: batchnorm reads its running statistics
        return self._modules_of[key]

    def run(self, batch: WeightBatch) -> torch.Tensor:
        """[B, probes, outputs] every network's outputs on the probes."""
        if batch.source is None:
            raise EncodeError("the probing encoder runs the networks: give it a batch made by WeightBatch.of")
        spec, params = batch.source.spec, batch.source.params
        device = batch.weights[0].device
        module, x = self._module(spec, device), self.probes(spec, device)
        params = {k: (v.float() if v.is_floating_point() else v).to(device) for k, v in params.items()}
        out = vmap(lambda p: functional_call(module, p, (x,)), randomness="same")(params)
        out = out.reshape(len(batch), self.count, -1)
        if out.shape[-1] != self.outputs:
            raise EncodeError(f"this probing encoder reads {self.outputs} outputs; these networks give {out.shape[-1]}")
        return out

    def forward(self, batch: WeightBatch) -> torch.Tensor:
        out = self.run(batch)
        which = self.which.expand(len(batch), -1, -1)
        return self.rho(self.phi(torch.cat([out, which], -1)).mean(1))
