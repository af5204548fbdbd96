"""A graph metanetwork: the network read as a graph of neurons with its weights on the edges (the neural-graph
family of Kofinas et al. 2024 and Lim et al. 2024), message passing in plain torch on dense per-layer tensors.

Nodes are the input features, every hidden unit (or conv channel) and the outputs; a node's feature is its bias. An
edge joins each unit to each unit of the next layer; its feature is the weight, a conv kernel's k*k values, or the
`spread` columns a flatten gives one channel (zero-padded to kernel_max**2; longer ones are averaged down to it).
Each round updates every edge from its two end nodes, then every node from the mean of its incoming and of its
outgoing edges. The readout is the mean of all node and edge states. Input and output nodes carry their position;
hidden nodes only their layer, so permuting a hidden layer's units permutes nodes and edges alike and leaves the
embedding unchanged (to float round-off).

Weights are read scale-free: each layer's weights (and biases) are divided by their RMS in that network, and the
log RMS is a feature of its own, so a SIREN's first layer (w0 = 30 folded in) and a CNN's last read alike.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from weightspace.encode.weights import WeightBatch

POSITIONS = 16  # sinusoidal features of a node's position (input/output index, layer depth)


def positional(index: torch.Tensor, size: int = POSITIONS) -> torch.Tensor:
    """[n] integers -> [n, size] sines and cosines at geometric frequencies."""
    freqs = torch.exp(-math.log(1000.0) * torch.arange(size // 2, device=index.device) / (size // 2))
    angle = index.float()[:, None] * freqs
    return torch.cat([angle.sin(), angle.cos()], 1)


def mlp(sizes: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a, b in zip(sizes, sizes[1:]):
        layers += [nn.Linear(a, b), nn.SiLU()]
    return nn.Sequential(*layers[:-1])


def _scaled(x: torch.Tensor) -> torch.Tensor:
    """x / its RMS per network (all dims but the first), and the log RMS [B]."""
    rms = x.flatten(1).pow(2).mean(1).add(1e-12).sqrt()
    return x / rms.view(-1, *[1] * (x.dim() - 1)), rms.log()


class EdgeRound(nn.Module):
    """One round: edges from their end nodes, then nodes from their incoming and outgoing edges."""

    def __init__(self, width: int):
        super().__init__()
        self.edge_self, self.edge_src, self.edge_dst = (nn.Linear(width, width) for _ in range(3))
        self.edge_out = nn.Linear(width, width)
        self.node = mlp([3 * width, width, width])
        self.edge_norm, self.node_norm = nn.LayerNorm(width), nn.LayerNorm(width)

    def forward(self, nodes: list[torch.Tensor], edges: list[torch.Tensor]):
        # edges[i]: [B, out, in, d] between nodes[i] ([B, in, d]) and nodes[i + 1] ([B, out, d])
        new_edges = []
        for i, e in enumerate(edges):
            src, dst = self.edge_src(nodes[i])[:, None], self.edge_dst(nodes[i + 1])[:, :, None]
            new_edges.append(self.edge_norm(e + self.edge_out(F.silu(self.edge_self(e) + src + dst))))
        zeros = [torch.zeros_like(n) for n in nodes]
        incoming, outgoing = list(zeros), list(zeros)
        for i, e in enumerate(new_edges):
            incoming[i + 1] = e.mean(2)
            outgoing[i] = e.mean(1)
        new_nodes = [
            self.node_norm(n + self.node(torch.cat([n, i, o], -1))) for n, i, o in zip(nodes, incoming, outgoing)
        ]
        return new_nodes, new_edges


class GraphEncoder(nn.Module):
    """WeightBatch -> [B, dim], for any architecture of linear and conv layers (the flatten included)."""

    def __init__(self, dim: int = 32, width: int = 32, rounds: int = 2, kernel_max: int = 5):
        super().__init__()
        self.dim, self.kernel_max = dim, kernel_max
        self.edge_in = nn.Linear(kernel_max**2 + 1 + POSITIONS, width)
        self.node_in = nn.Linear(2 + 2 * POSITIONS, width)
        self.rounds = nn.ModuleList(EdgeRound(width) for _ in range(rounds))
        self.readout = mlp([2 * width, width, dim])

    def edge_values(self, batch: WeightBatch, layer: int) -> torch.Tensor:
        """[B, out, in_units, kernel_max**2] the values on each edge of `layer`, zero-padded."""
        w = batch.weights[layer]
        b, out = w.shape[:2]
        if batch.is_conv(layer):
            values = w.flatten(3)
        else:
            spread = batch.spread[layer]
            values = w.reshape(b, out, w.shape[2] // spread, spread)
        room = self.kernel_max**2
        if values.shape[-1] > room:  # a wide flatten: its columns averaged down to `room` (order kept)
            values = F.adaptive_avg_pool1d(values.reshape(-1, 1, values.shape[-1]), room).reshape(b, out, -1, room)
        return F.pad(values, (0, room - values.shape[-1]))

    def forward(self, batch: WeightBatch) -> torch.Tensor:
        depth = batch.num_layers
        dev = batch.weights[0].device
        first = batch.weights[0]
        n_in = first.shape[2] // batch.spread[0] if not batch.is_conv(0) else first.shape[2]
        sizes = [n_in] + [w.shape[1] for w in batch.weights]
        edges = []
        for layer in range(depth):
            values, log_rms = _scaled(self.edge_values(batch, layer))
            extra = [log_rms.view(-1, 1, 1, 1).expand(*values.shape[:3], 1)]
            where = positional(torch.tensor([layer], device=dev)).view(1, 1, 1, -1).expand(*values.shape[:3], -1)
            edges.append(self.edge_in(torch.cat([values, *extra, where], -1)))
        nodes = []
        for layer, size in enumerate(sizes):  # layer 0: the inputs; layer l: the units layer l - 1 computes
            bias = batch.biases[layer - 1] if layer else None
            if bias is None:
                value = first.new_zeros(len(batch), size, 2)
            else:
                scaled, log_rms = _scaled(bias)
                value = torch.stack([scaled, log_rms[:, None].expand_as(scaled)], -1)
            layer_pos = positional(torch.full((size,), layer, device=dev))
            ordered = layer in (0, depth)  # inputs and outputs keep their order; hidden units may trade places
            unit_pos = positional(torch.arange(size, device=dev)) if ordered else torch.zeros_like(layer_pos)
            pos = torch.cat([layer_pos, unit_pos], 1).expand(len(batch), -1, -1)
            nodes.append(self.node_in(torch.cat([value, pos], -1)))
        for round_ in self.rounds:
            nodes, edges = round_(nodes, edges)
        node_mean = torch.cat([n for n in nodes], 1).mean(1)
        edge_mean = torch.stack([e.mean((1, 2)) for e in edges], 0).mean(0)
        return self.readout(torch.cat([node_mean, edge_mean], 1))
