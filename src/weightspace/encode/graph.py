"""A graph metanetwork: the network read as a graph of neurons with its weights on the edges (the neural-graph
family of Kofinas et al. 2024 and Lim et al. 2024), message passing in plain torch on dense per-layer tensors.

Nodes are the input features, every unit (or conv channel) a layer computes, and every unit of a residual sum; a
node's feature is its bias. An edge joins each unit a layer reads to each unit it computes; its feature is the
weight, a conv kernel's k*k values, or the columns a flatten gives one channel (zero-padded to kernel_max**2; longer
ones are averaged down to it). A residual sum's node reads each of its inputs' matching units through an edge of
weight 1 (the identity it is, as in Kofinas et al. 2024); a concatenation needs no nodes of its own, the layer after
it reads its branches' units side by side. The neuron sets and their edges come from the batch's `Layout`, so
chains, residual networks, Inception blocks and transformers read alike (attention's q, k, v and o as four layers).

Each round updates every edge from its two end nodes, then every node from the mean of its incoming edges and the
mean over its consumers of their outgoing edges' means. The readout is the mean of all node and edge states. Input
and output nodes carry their position; hidden nodes only their depth, so permuting hidden units permutes nodes and
edges alike and leaves the embedding unchanged (to float round-off).

Weights are read scale-free: each layer's weights (and biases) are divided by their RMS in that network, and the
log RMS is a feature of its own, so a SIREN's first layer (w0 = 30 folded in) and a CNN's last read alike.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from weightspace.encode.layout import Layout
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


def _gather(nodes: list[torch.Tensor], stretches) -> torch.Tensor:
    """[B, units, d]: the nodes a run of stretches names, side by side."""
    return torch.cat([nodes[s.neurons][:, s.offset : s.offset + s.units] for s in stretches], 1)


class EdgeRound(nn.Module):
    """One round: edges from their end nodes, then nodes from their incoming and outgoing edges."""

    def __init__(self, width: int):
        super().__init__()
        self.edge_self, self.edge_src, self.edge_dst = (nn.Linear(width, width) for _ in range(3))
        self.edge_out = nn.Linear(width, width)
        self.node = mlp([3 * width, width, width])
        self.edge_norm, self.node_norm = nn.LayerNorm(width), nn.LayerNorm(width)

    def _edge(self, e: torch.Tensor, src: torch.Tensor, dst: torch.Tensor) -> torch.Tensor:
        return self.edge_norm(e + self.edge_out(F.silu(self.edge_self(e) + self.edge_src(src) + self.edge_dst(dst))))

    def forward(self, layout: Layout, nodes: list[torch.Tensor], edges: list[torch.Tensor], sums: list[torch.Tensor]):
        # edges[l]: [B, out, in, d] from the stretches layer l reads to the neuron set it makes;
        # sums[k]: [B, units, d] the identity edges of one input of one residual sum, unit by unit
        new_edges = [
            self._edge(e, _gather(nodes, cols)[:, None], nodes[made][:, :, None])
            for e, cols, made in zip(edges, layout.cols, layout.makes)
        ]
        inputs = [(total, x) for total, joined in layout.sums for x in joined]
        new_sums = [self._edge(e, _gather(nodes, x), nodes[total]) for e, (total, x) in zip(sums, inputs)]
        incoming = [torch.zeros_like(n) for n in nodes]
        for e, made in zip(new_edges, layout.makes):
            incoming[made] = e.mean(2)
        for total, _ in layout.sums:
            mine = [e for e, (t, _) in zip(new_sums, inputs) if t == total]
            if mine:
                incoming[total] = torch.stack(mine).mean(0)
        outgoing = [torch.zeros_like(n) for n in nodes]
        readers = [torch.zeros(n.shape[1], 1, device=n.device) for n in nodes]
        read = [(e.mean(1), cols) for e, cols in zip(new_edges, layout.cols)]
        read += [(e, x) for e, (_, x) in zip(new_sums, inputs)]
        for value, stretches in read:  # each source unit: the mean over its readers of their edges' means
            at = 0
            for s in stretches:
                rest = nodes[s.neurons].shape[1] - s.offset - s.units
                outgoing[s.neurons] = outgoing[s.neurons] + F.pad(value[:, at : at + s.units], (0, 0, s.offset, rest))
                readers[s.neurons][s.offset : s.offset + s.units] += 1
                at += s.units
        outgoing = [o / r.clamp(min=1) for o, r in zip(outgoing, readers)]
        new_nodes = [
            self.node_norm(n + self.node(torch.cat([n, i, o], -1))) for n, i, o in zip(nodes, incoming, outgoing)
        ]
        return new_nodes, new_edges, new_sums


class GraphEncoder(nn.Module):
    """WeightBatch -> [B, dim], for any architecture the data model builds (chains and graphs)."""

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
        room = self.kernel_max**2
        if batch.is_conv(layer):
            return F.pad(w.flatten(3), (0, room - w.shape[-1] ** 2))
        parts, at = [], 0
        for s in batch.layout.cols[layer]:  # each unit read: its `inner` columns
            values = w[:, :, at : at + s.units * s.inner].reshape(b, out, s.units, s.inner)
            if s.inner > room:  # a wide flatten: its columns averaged down to `room` (order kept)
                values = F.adaptive_avg_pool1d(values.reshape(-1, 1, s.inner), room).reshape(b, out, s.units, room)
            parts.append(F.pad(values, (0, room - values.shape[-1])))
            at += s.units * s.inner
        return torch.cat(parts, 2)

    def forward(self, batch: WeightBatch) -> torch.Tensor:
        layout, dev, n = batch.layout, batch.weights[0].device, len(batch)
        edges = []
        for layer, level in enumerate(layout.levels):
            values, log_rms = _scaled(self.edge_values(batch, layer))
            edges.append(self._edge_features(values, log_rms, level))
        sums = []
        for total, joined in layout.sums:
            units, level = layout.neurons[total]
            one = F.pad(torch.ones(n, units, 1, device=dev), (0, self.kernel_max**2 - 1))  # weight 1, RMS 1
            sums += [self._edge_features(one, torch.zeros(n, device=dev), level) for _ in joined]
        biases = {made: b for made, b in zip(layout.makes, batch.biases)}
        nodes = []
        for k, (size, level) in enumerate(layout.neurons):
            bias = biases.get(k)
            if bias is None:
                value = batch.weights[0].new_zeros(n, size, 2)
            else:
                scaled, log_rms = _scaled(bias)
                value = torch.stack([scaled, log_rms[:, None].expand_as(scaled)], -1)
            layer_pos = positional(torch.full((size,), level, device=dev))
            ordered = k in layout.ordered  # inputs and outputs keep their order; hidden units may not
            unit_pos = positional(torch.arange(size, device=dev)) if ordered else torch.zeros_like(layer_pos)
            pos = torch.cat([layer_pos, unit_pos], 1).expand(n, -1, -1)
            nodes.append(self.node_in(torch.cat([value, pos], -1)))
        for round_ in self.rounds:
            nodes, edges, sums = round_(layout, nodes, edges, sums)
        node_mean = torch.cat(nodes, 1).mean(1)
        edge_mean = torch.stack([e.mean((1, 2)) for e in edges] + [e.mean(1) for e in sums], 0).mean(0)
        return self.readout(torch.cat([node_mean, edge_mean], 1))

    def _edge_features(self, values: torch.Tensor, log_rms: torch.Tensor, level: int) -> torch.Tensor:
        """values [B, ..., room] (any number of middle axes) -> [B, ..., width]."""
        middle = values.shape[1:-1]
        extra = log_rms.view(-1, *[1] * (len(middle) + 1)).expand(*values.shape[:-1], 1)
        where = positional(torch.tensor([level], device=values.device))
        where = where.view(1, *[1] * len(middle), -1).expand(*values.shape[:-1], -1)
        return self.edge_in(torch.cat([values, extra, where], -1))
