"""The batched engine on a graph: M networks of one GraphSpec trained together.

The graph's module runs once under `torch.func.vmap` over `functional_call`, so every node is one kernel over all M
networks (a conv becomes a batched conv, a linear a batched matmul, attention a batched SDPA). Batchnorm works as in
a single network: in training mode each network normalises with its own batch and updates its own running
statistics, which are stacked like the weights. It plugs into `fit_stacked` through the same interface as the
chain engine's StackedModel.
"""

from __future__ import annotations

import torch
from torch.func import functional_call, vmap

from weightspace.nets.graph import GraphSpec, build_graph
from weightspace.train.batched import StackedModel, on_cuda
from weightspace.train.loop import logits_node


class GraphStackedModel(StackedModel):
    """forward(params [M, ...], x) -> logits [M, b, out] for M networks of one graph."""

    def __init__(self, spec: GraphSpec, device: str = "cpu", compile: bool | None = None):
        self.spec = spec
        self.module = build_graph(spec).to(device)
        self.module.output = logits_node(spec) or self.module.output
        self.unfold_convs, self.channels_last = False, not on_cuda(device)
        self.kernels, self.reads_index = "grouped", False
        compile = on_cuda(device) if compile is None else compile
        self._forward = torch.compile(self._stacked_forward, dynamic=False) if compile else self._stacked_forward

    def _one(self, params: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        return functional_call(self.module, params, (x,))

    def _stacked_forward(self, params: dict[str, torch.Tensor], x: torch.Tensor, groups: int = 0) -> torch.Tensor:
        m = next(iter(params.values())).shape[0]
        if groups > 1:  # K order groups: each network's batch is its group's (vmap maps one per network)
            x, groups = x.repeat_interleave(m // len(x), 0), 0
        shared = groups == 1
        if m == 1:  # one network (the CPU's default group): no vmap to pay for
            x = x if shared else x[0]
            if x.dim() == 4 and self.channels_last:  # oneDNN's fast convs on a CPU, as the chain engine's
                x = x.contiguous(memory_format=torch.channels_last)
            return self._one({k: v[0] for k, v in params.items()}, x).unsqueeze(0)
        return vmap(self._one, in_dims=(0, None if shared else 0), randomness="different")(params, x)
