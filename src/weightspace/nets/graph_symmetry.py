"""The hidden-unit permutations of a graph: which axes must move together, found from the graph itself.

Every conv or linear node starts a group of units. Element-wise nodes (activations, normalisation, pooling,
dropout) carry their input's units; an add joins its inputs' groups into one (a residual stream shares a single
permutation); a concat lays its inputs' groups side by side; a flatten turns each channel into a block of
positions. Groups that reach the output, or meet a per-unit activation, stay fixed. Permuting a group moves the
rows of the nodes that make it and the columns of the nodes that read it (normalisation moves with its axis), and
leaves the network's function unchanged.

On tokens [T, D] the units are the D features: patchify starts a group like a conv, the class token and the
positions move with the stream they join, and attention has symmetries of its own (`attention_permutation`): its
heads trade places, and within a head the q/k features move together and so do the v features with o's inputs.
"""

from __future__ import annotations

import math

import torch

from weightspace.nets.graph import (
    Add,
    Attention,
    ClassToken,
    Concat,
    Embedding,
    GraphSpec,
    LayerNorm,
    Patchify,
    Positions,
)
from weightspace.nets.spec import Activation, BatchNorm, Conv2d, Flatten, Linear

Segment = tuple[int, int, int]  # (group, units, positions per unit): one stretch of an axis


class _Groups:
    def __init__(self):
        self.parent: list[int] = []
        self.size: list[int] = []
        self.fixed: set[int] = set()

    def new(self, units: int) -> int:
        self.parent.append(len(self.parent))
        self.size.append(units)
        return len(self.parent) - 1

    def find(self, g: int) -> int:
        while self.parent[g] != g:
            self.parent[g] = self.parent[self.parent[g]]
            g = self.parent[g]
        return g

    def join(self, a: int, b: int) -> None:
        a, b = self.find(a), self.find(b)
        if a != b:
            self.parent[b] = a
            if b in self.fixed:
                self.fixed.add(a)


def units(shape) -> int:
    """The size of a tensor's unit axis: features of tokens [T, D], else channels or features (the first axis)."""
    return shape[-1] if len(shape) == 2 else shape[0]


def unit_groups(spec: GraphSpec) -> tuple[dict[str, list[Segment]], _Groups, dict[str, int]]:
    """(node -> the segments of its unit axis, the groups, node -> the group it makes) of `spec`."""
    groups = _Groups()
    shapes = spec.shapes()
    first = shapes["input"]
    inp = groups.new(units(first))
    groups.fixed.add(inp)
    axes: dict[str, list[Segment]] = {"input": [(inp, units(first), 1)]}
    makes: dict[str, int] = {}
    for node in spec.nodes:
        op, ins = node.op, [axes[i] for i in node.inputs]
        if isinstance(op, Conv2d | Linear | Patchify | Attention | Embedding):
            makes[node.name] = groups.new(units(shapes[node.name]))
            axes[node.name] = [(makes[node.name], units(shapes[node.name]), 1)]
        elif isinstance(op, Add):
            if all([(s[1], s[2]) for s in x] == [(s[1], s[2]) for s in ins[0]] for x in ins):
                for x in ins[1:]:
                    for a, b in zip(ins[0], x):
                        groups.join(a[0], b[0])
            else:  # inputs cut into stretches differently: keep every group involved where it is
                groups.fixed.update(s[0] for x in ins for s in x)
            axes[node.name] = ins[0]
        elif isinstance(op, Concat):
            axes[node.name] = [s for x in ins for s in x]
        elif isinstance(op, Flatten):
            positions = math.prod(shapes[node.inputs[0]][1:])
            axes[node.name] = [(g, n, inner * positions) for g, n, inner in ins[0]]
        elif isinstance(op, Activation) and isinstance(op.fn, list):
            groups.fixed.update(s[0] for s in ins[0])
            axes[node.name] = ins[0]
        else:  # element-wise, normalisation, pooling, dropout, identity, token ops: the units pass through
            axes[node.name] = ins[0]
    groups.fixed.update(s[0] for s in axes[spec.nodes[-1].name])
    groups.fixed = {groups.find(g) for g in groups.fixed}
    return axes, groups, makes


def attention_permutation(dim: int, heads: int, g: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
    """(new order of the q/k features, of the v features) of one attention node: heads trade places, and within
    each head its q/k features are shuffled together and its v features (o's inputs) apart from them."""
    head = dim // heads
    order = torch.randperm(heads, generator=g)
    qk = torch.cat([int(h) * head + torch.randperm(head, generator=g) for h in order])
    v = torch.cat([int(h) * head + torch.randperm(head, generator=g) for h in order])
    return qk, v


def random_graph_permutation(spec: GraphSpec, g: torch.Generator | None = None) -> dict:
    """A random permutation of every free group (group root -> new order of its units) and of every attention
    node's heads (node name -> (q/k order, v order))."""
    _, groups, _ = unit_groups(spec)
    roots = sorted({groups.find(i) for i in range(len(groups.parent))} - groups.fixed)
    perms: dict = {r: torch.randperm(groups.size[r], generator=g) for r in roots}
    shapes = spec.shapes()
    for node in spec.nodes:
        if isinstance(node.op, Attention):
            perms[node.name] = attention_permutation(shapes[node.name][-1], node.op.heads, g)
    return perms


def _index(segments: list[Segment], groups: _Groups, perms: dict[int, torch.Tensor]) -> torch.Tensor:
    """The permuted order of a whole axis made of `segments`."""
    parts, offset = [], 0
    for g, units, inner in segments:
        order = perms.get(groups.find(g), torch.arange(units))
        block = (order[:, None] * inner + torch.arange(inner)).reshape(-1)
        parts.append(block + offset)
        offset += units * inner
    return torch.cat(parts)


def permute_graph(spec: GraphSpec, params: dict[str, torch.Tensor], perms: dict[int, torch.Tensor]):
    """`params` (named as `spec.state_shapes()`) with every group's units moved by `perms`: the same function."""
    axes, groups, makes = unit_groups(spec)
    out = dict(params)
    for node in spec.nodes:
        op, name = node.op, node.name
        if isinstance(op, Attention):
            cols = _index(axes[node.inputs[0]], groups, perms)
            qk, v = perms.get(name, (slice(None), slice(None)))
            rows = perms.get(groups.find(makes[name]), slice(None))
            for p, order in (("q", qk), ("k", qk), ("v", v)):
                out[f"{name}.{p}.weight"] = out[f"{name}.{p}.weight"][order][:, cols]
                out[f"{name}.{p}.bias"] = out[f"{name}.{p}.bias"][order]
            out[f"{name}.o.weight"] = out[f"{name}.o.weight"][rows][:, v]
            out[f"{name}.o.bias"] = out[f"{name}.o.bias"][rows]
        elif isinstance(op, Embedding):  # a table [vocab, dim]: its units are the columns
            rows = perms.get(groups.find(makes[name]))
            if rows is not None:
                out[f"{name}.weight"] = out[f"{name}.weight"][:, rows]
        elif isinstance(op, ClassToken):
            out[f"{name}.token"] = out[f"{name}.token"][_index(axes[node.inputs[0]], groups, perms)]
        elif isinstance(op, Positions):
            out[f"{name}.embedding"] = out[f"{name}.embedding"][:, _index(axes[node.inputs[0]], groups, perms)]
        elif isinstance(op, Conv2d | Linear | Patchify):
            rows = perms.get(groups.find(makes[name]))
            cols = _index(axes[node.inputs[0]], groups, perms)
            w = out[f"{name}.weight"][:, cols]
            if rows is not None:
                w = w[rows]
                if f"{name}.bias" in out:
                    out[f"{name}.bias"] = out[f"{name}.bias"][rows]
            out[f"{name}.weight"] = w
        elif isinstance(op, BatchNorm | LayerNorm):
            idx = _index(axes[node.inputs[0]], groups, perms)
            for t in ("weight", "bias", "running_mean", "running_var"):
                if f"{name}.{t}" in out:
                    out[f"{name}.{t}"] = out[f"{name}.{t}"][idx]
    return out


def match_graph_units(spec: GraphSpec, params: dict[str, torch.Tensor], reference: dict[str, torch.Tensor]) -> dict:
    """The permutation of every free group that lines `params` up with `reference` (weight matching): group by
    group from the input, units pair by the summed products of the incoming weights and biases of every node that
    makes the group (its inputs already matched), by the Hungarian algorithm. Attention heads keep their order.
    `permute_graph(spec, params, match_graph_units(spec, params, reference))` is the aligned network."""
    from scipy.optimize import linear_sum_assignment

    axes, groups, makes = unit_groups(spec)
    perms: dict = {}
    for node in spec.nodes:
        if node.name not in makes:
            continue
        root = groups.find(makes[node.name])
        if root in groups.fixed or root in perms:
            continue
        current = permute_graph(spec, params, perms)
        producers = [n for n in spec.nodes if n.name in makes and groups.find(makes[n.name]) == root]
        settled = groups.fixed | set(perms)  # a producer whose inputs are not matched yet would only add noise
        ready = [n for n in producers if all(groups.find(s[0]) in settled for s in axes[n.inputs[0]])]
        score = 0
        producers = ready or producers
        for n in producers:
            if isinstance(n.op, Embedding):
                mine, theirs = current[f"{n.name}.weight"].T, reference[f"{n.name}.weight"].T
                bias = None
            elif isinstance(n.op, Attention):
                mine, theirs = current[f"{n.name}.o.weight"], reference[f"{n.name}.o.weight"]
                bias = (current[f"{n.name}.o.bias"], reference[f"{n.name}.o.bias"])
            else:
                mine, theirs = current[f"{n.name}.weight"].flatten(1), reference[f"{n.name}.weight"].flatten(1)
                bias = (current[f"{n.name}.bias"], reference[f"{n.name}.bias"]) if f"{n.name}.bias" in current else None
            score = score + theirs @ mine.T
            if bias is not None:
                score = score + torch.outer(bias[1], bias[0])
        rows, cols = linear_sum_assignment(score.double().numpy(), maximize=True)
        perms[root] = torch.as_tensor(cols[rows.argsort()])
    return perms
