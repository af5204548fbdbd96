"""Put a hypernetwork on any module: some of its parameters are generated, the rest stay its own.

    target = MyNet()                                   # any nn.Module, nothing to subclass
    slots = module_layout(target, ["conv2.weight"])         # which parameters the hypernetwork writes
    hyper = ChunkedHyper(slots.size, chunk=1024)      # or KernelHyper, or your own module returning a vector
    model = HyperModel(target, slots, hyper)
    model(x)                                           # target's forward with generated conv2.weight

The generated tensors reach the target through `torch.func.functional_call`, so gradients flow to the hypernetwork
and the target's code is untouched. The target's own copies of the generated parameters are removed (they would be
dead weights in the optimizer and the parameter count).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn
from torch.func import functional_call

from weightspace.errors import WeightspaceError
from weightspace.nets import Layout


class HyperError(WeightspaceError):
    """A hypernetwork does not fit its target."""


def module_layout(module: nn.Module, names: Sequence[str]) -> Layout:
    """The layout (name, shape, place in one flat vector) of the named parameters of `module` a hypernetwork
    writes, in the given order."""
    params = dict(module.named_parameters())
    unknown = [n for n in names if n not in params]
    if unknown or not names:
        raise HyperError(
            f"the target has no parameters {unknown or '(none named)'}; its parameters are: {', '.join(params)}"
        )
    return Layout.of_shapes({n: tuple(params[n].shape) for n in names})


def release(module: nn.Module, names: Sequence[str]) -> None:
    """Remove parameters from `module`, leaving same-shaped zero buffers (not saved) for functional_call to fill."""
    for name in names:
        owner_name, _, leaf = name.rpartition(".")
        owner = module.get_submodule(owner_name) if owner_name else module
        shape = owner._parameters[leaf].shape
        del owner._parameters[leaf]
        owner.register_buffer(leaf, torch.zeros(shape), persistent=False)


class HyperModel(nn.Module):
    """`target` whose `slots` come from `hyper(*condition)`; the target's other parameters train as usual.

    `hyper` is any module whose output is either a flat [numel] vector or a {name: tensor} dict. With a condition,
    `hyper` may return a batch [B, numel] of parameter sets; use `forward_each` to run input b with set b.
    """

    def __init__(self, target: nn.Module, slots: Layout, hyper: nn.Module):
        super().__init__()
        release(target, slots.names)
        self.target, self.slots, self.hyper = target, slots, hyper

    def generate(self, *condition: torch.Tensor) -> dict[str, torch.Tensor]:
        out = self.hyper(*condition)
        return out if isinstance(out, dict) else self.slots.split(out)

    def forward(self, x: torch.Tensor, *condition: torch.Tensor) -> torch.Tensor:
        """The target on x with one generated parameter set (a condition batch of one)."""
        params = self.generate(*condition)
        name, shape = self.slots.names[0], self.slots.shapes[0]
        if params[name].dim() > len(shape):
            if params[name].shape[0] != 1:
                raise HyperError("the condition gave several parameter sets; run them with forward_each")
            params = {k: v[0] for k, v in params.items()}
        return functional_call(self.target, params, (x,), strict=False)

    def forward_each(self, x: torch.Tensor, *condition: torch.Tensor) -> torch.Tensor:
        """x [B, n, ...] with parameter set b for x[b] -> [B, n, ...outputs] (vmapped over the sets)."""
        params = self.generate(*condition)

        def one(p, xb):
            return functional_call(self.target, p, (xb,), strict=False)

        return torch.func.vmap(one)(params, x)


class ChunkedHyper(nn.Module):
    """A generic hypernetwork for targets of any size: one small MLP writes the output `chunk` numbers at a time.

    Chunk k is MLP([condition, e_k]) with a learned chunk embedding e_k, so the generator's size does not grow with
    the target's (Ha et al.'s weight sharing across blocks, applied to a flat vector). Without a condition it
    generates one parameter set; with a condition [B, cond_dim] it generates B sets.
    """

    def __init__(self, numel: int, chunk: int = 1024, chunk_dim: int = 8, cond_dim: int = 0, hidden: int = 64):
        super().__init__()
        self.numel, self.chunk, self.cond_dim = numel, chunk, cond_dim
        self.chunks = nn.Parameter(torch.randn(math.ceil(numel / chunk), chunk_dim))
        self.mlp = nn.Sequential(nn.Linear(chunk_dim + cond_dim, hidden), nn.ReLU(), nn.Linear(hidden, chunk))
        with torch.no_grad():  # start near a small, fan-in-scaled init rather than a large random output
            self.mlp[-1].weight.mul_(0.1)
            self.mlp[-1].bias.zero_()

    def forward(self, condition: torch.Tensor | None = None) -> torch.Tensor:
        n = self.chunks.shape[0]
        if condition is None:
            if self.cond_dim:
                raise HyperError(f"this hypernetwork needs a condition of {self.cond_dim} numbers")
            return self.mlp(self.chunks).reshape(-1)[: self.numel]
        if condition.dim() != 2 or condition.shape[1] != self.cond_dim:
            raise HyperError(f"condition must be [batch, {self.cond_dim}], got {list(condition.shape)}")
        b = condition.shape[0]
        inputs = torch.cat([self.chunks.expand(b, n, -1), condition[:, None].expand(b, n, -1)], -1)
        return self.mlp(inputs).reshape(b, -1)[:, : self.numel]
