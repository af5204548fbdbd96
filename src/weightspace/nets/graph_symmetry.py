"""The hidden-unit permutations of a graph: which axes must move together, found from the graph itself.

Every conv or linear node starts a group of units. Element-wise nodes (activations, normalisation, pooling,
dropout) carry their input's units; an add joins its inputs' groups into one (a residual stream shares a single
permutation); a concat lays its inputs' groups side by side; a flatten turns each channel into a block of
positions. Groups that reach the output, or meet a per-unit activation, stay fixed. Permuting a group moves the
rows of the nodes that make it and the columns of the nodes that read it (normalisation moves with its axis), and
leaves the network's function unchanged.

Token graphs (attention, patchify) are not covered yet: their groups are left fixed.
"""

from __future__ import annotations

import torch

from weightspace.nets.graph import Add, Concat, GraphSpec, LayerNorm
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


def unit_groups(spec: GraphSpec) -> tuple[dict[str, list[Segment]], _Groups, dict[str, int]]:
    """(node -> the segments of its unit axis, the groups, node -> the group it makes) of `spec`."""
    groups = _Groups()
    shapes = spec.shapes()
    first = shapes["input"]
    inp = groups.new(first[0])
    groups.fixed.add(inp)
    axes: dict[str, list[Segment]] = {"input": [(inp, first[0], 1)]}
    makes: dict[str, int] = {}
    for node in spec.nodes:
        op, ins = node.op, [axes[i] for i in node.inputs]
        if isinstance(op, Conv2d | Linear):
            makes[node.name] = groups.new(shapes[node.name][0])
            axes[node.name] = [(makes[node.name], shapes[node.name][0], 1)]
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
            c, *rest = shapes[node.inputs[0]]
            positions = 1
            for d in rest:
                positions *= d
            axes[node.name] = [(g, n, inner * positions) for g, n, inner in ins[0]]
        elif isinstance(op, Activation) and isinstance(op.fn, list):
            groups.fixed.update(s[0] for s in ins[0])
            axes[node.name] = ins[0]
        elif len(shapes[node.name]) == 2 or len(shapes[node.inputs[0]]) == 2 or op.kind in (
            "attention", "patchify", "class_token", "positions", "token_mean"
        ):  # fmt: skip
            groups.fixed.update(s[0] for x in ins for s in x)
            axes[node.name] = [(groups.new(shapes[node.name][-1]), shapes[node.name][-1], 1)]
            groups.fixed.add(axes[node.name][0][0])
        else:  # element-wise, normalisation, pooling, dropout, identity: the units pass through
            axes[node.name] = ins[0]
    groups.fixed.update(s[0] for s in axes[spec.nodes[-1].name])
    groups.fixed = {groups.find(g) for g in groups.fixed}
    return axes, groups, makes


def random_graph_permutation(spec: GraphSpec, seed: int) -> dict[int, torch.Tensor]:
    """A random permutation of every free group: group root -> new order of its units."""
    _, groups, _ = unit_groups(spec)
    g = torch.Generator().manual_seed(seed)
    roots = sorted({groups.find(i) for i in range(len(groups.parent))} - groups.fixed)
    return {r: torch.randperm(groups.size[r], generator=g) for r in roots}


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
        if isinstance(op, Conv2d | Linear):
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
