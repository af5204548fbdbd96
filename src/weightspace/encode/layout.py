"""How the layers an encoder reads connect, and which of their axes may trade places, for chains and graphs alike.

A batch's layers are its weight tensors in graph order: convs, linears, a patch embedding (read as a linear over each
channel's pixels) and an attention node's q, k, v and o projections. Normalisation, positions and class tokens are
not read (as in the SNE paper). Each layer's output axis is ordered by one *factor* (a permutation that every tensor
on that axis shares) or is fixed; its input axis is a run of `Stretch`es, each a factor's units times `inner` columns
(a flatten spreads a channel over its positions; a concat lays branches side by side). A chain is the special case
of one factor per hidden layer.

For the graph metanetwork the layout also names *neuron sets*: the inputs (0), each layer's outputs, and each
residual sum's outputs. Every stretch says which neuron set its units are, and a sum joins its inputs unit by unit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from weightspace.nets import Conv2d, Flatten, Linear, unit_groups
from weightspace.nets.graph import Add, Attention, Concat, Embedding, GraphSpec, Patchify


@dataclass(frozen=True)
class Stretch:
    factor: str | None  # the permutation that orders these units (None: they stay where they are)
    units: int
    inner: int  # columns per unit
    neurons: int  # the neuron set these units belong to ...
    offset: int = 0  # ... starting at this unit of it


@dataclass(frozen=True)
class Factor:
    size: int
    labels: torch.Tensor | None = None  # units trade places only within a label (per-unit activations)
    heads: int = 1  # attention features: heads trade places, and features within a head
    head_of: str | None = None  # the factor whose head order this one shares (v follows q/k)


@dataclass(frozen=True)
class Layout:
    levels: tuple[int, ...]  # each layer's depth in the graph (a chain's layer index)
    rows: tuple[str | None, ...]  # the factor of each layer's output axis
    cols: tuple[tuple[Stretch, ...], ...]  # each layer's input axis
    factors: dict[str, Factor]
    makes: tuple[int, ...]  # the neuron set each layer computes
    neurons: tuple[tuple[int, int], ...]  # (units, level) of each neuron set
    sums: tuple[tuple[int, tuple[tuple[Stretch, ...], ...]], ...]  # (neuron set, each input's stretches)
    ordered: frozenset[int]  # neuron sets whose units keep their order: inputs, token vocabularies, outputs
    chain: bool = True


@dataclass(frozen=True)
class Read:
    """Where one layer's tensors live in a state dict; `as_linear`: a patch embedding [D, C, p, p] read as
    [D, C * p * p]; `transposed`: a token embedding [vocab, D] read as the linear map [D, vocab] from one-hot ids."""

    weight: str
    bias: str | None
    as_linear: bool = False
    transposed: bool = False


def chain_layout(shapes: list[tuple[int, ...]], spread: tuple[int, ...], labels: tuple) -> Layout:
    """A chain's layout from its layers' weight shapes ([out, in, ...]), spreads and per-unit labels."""
    n = len(shapes)
    factors = {str(i): Factor(shapes[i][0], labels[i]) for i in range(n - 1)}
    first = Stretch(None, shapes[0][1] // spread[0], spread[0], 0)
    cols = [(first,)] + [(Stretch(str(i - 1), shapes[i - 1][0], spread[i], i),) for i in range(1, n)]
    neurons = [(first.units, 0)] + [(s[0], i + 1) for i, s in enumerate(shapes)]
    return Layout(
        levels=tuple(range(n)),
        rows=tuple(str(i) if i < n - 1 else None for i in range(n)),
        cols=tuple(cols),
        factors=factors,
        makes=tuple(range(1, n + 1)),
        neurons=tuple(neurons),
        sums=(),
        ordered=frozenset({0, n}),
    )


def graph_layout(spec: GraphSpec) -> tuple[list[Read], Layout]:
    """The tensors an encoder reads from a network of `spec`, and how they connect."""
    _, groups, makes = unit_groups(spec)
    shapes = spec.shapes()

    def factor(group: int) -> str | None:
        root = groups.find(group)
        return None if root in groups.fixed else f"g{root}"

    reads: list[Read] = []
    levels, rows, cols, made = [], [], [], []
    neurons = [(groups.size[0], 0)]  # group 0: the inputs
    factors: dict[str, Factor] = {}
    sums, vocabularies = [], []
    at = {"input": [Stretch(None, neurons[0][0], 1, 0)]}  # node -> the stretches of its unit axis
    depth = {"input": 0}

    def layer(read: Read, inputs: list[Stretch], row: str | None, level: int, size: int) -> int:
        reads.append(read)
        levels.append(level)
        rows.append(row)
        cols.append(tuple(inputs))
        neurons.append((size, level + 1))
        made.append(len(neurons) - 1)
        return len(neurons) - 1

    for node in spec.nodes:
        op, name, ins = node.op, node.name, [at[i] for i in node.inputs]
        d = max(depth[i] for i in node.inputs)
        depth[name] = d
        if isinstance(op, Conv2d | Linear | Patchify):
            size, row = groups.size[makes[name]], factor(makes[name])
            bias = f"{name}.bias" if not isinstance(op, Conv2d | Linear) or op.bias else None
            inputs = ins[0]
            if isinstance(op, Patchify):  # each channel a block of p * p columns
                inputs = [Stretch(s.factor, s.units, s.inner * op.patch**2, s.neurons, s.offset) for s in inputs]
            out = layer(Read(f"{name}.weight", bias, isinstance(op, Patchify)), inputs, row, d, size)
            at[name] = [Stretch(row, size, 1, out)]
            depth[name] = d + 1
        elif isinstance(op, Embedding):
            row = factor(makes[name])
            neurons.append((op.vocab, d))  # the vocabulary: one input neuron per token id
            vocabularies.append(len(neurons) - 1)
            ids = [Stretch(None, op.vocab, 1, len(neurons) - 1)]
            out = layer(Read(f"{name}.weight", None, transposed=True), ids, row, d, op.dim)
            at[name] = [Stretch(row, op.dim, 1, out)]
            depth[name] = d + 1
        elif isinstance(op, Attention):
            dim = shapes[name][-1]
            qk, v = f"{name}/qk", f"{name}/v"
            factors[qk] = Factor(dim, heads=op.heads)
            factors[v] = Factor(dim, heads=op.heads, head_of=qk)
            for p, row in (("q", qk), ("k", qk), ("v", v)):
                made_v = layer(Read(f"{name}.{p}.weight", f"{name}.{p}.bias"), ins[0], row, d, dim)
            row = factor(makes[name])
            out = layer(Read(f"{name}.o.weight", f"{name}.o.bias"), [Stretch(v, dim, 1, made_v)], row, d + 1, dim)
            at[name] = [Stretch(row, dim, 1, out)]
            depth[name] = d + 2
        elif isinstance(op, Add):
            neurons.append((sum(s.units for s in ins[0]), d))
            total, offset, mine = len(neurons) - 1, 0, []
            for s in ins[0]:
                mine.append(Stretch(s.factor, s.units, s.inner, total, offset))
                offset += s.units
            joined = tuple(tuple(x) for x in ins if sum(s.units for s in x) == offset)
            sums.append((total, joined))
            at[name] = mine
        elif isinstance(op, Concat):
            at[name] = [s for x in ins for s in x]
        elif isinstance(op, Flatten):
            positions = math.prod(shapes[node.inputs[0]][1:])
            at[name] = [Stretch(s.factor, s.units, s.inner * positions, s.neurons, s.offset) for s in ins[0]]
        else:  # element-wise, normalisation, pooling, token ops: the units pass through
            at[name] = ins[0]
    used = {s.factor for c in cols for s in c} | set(rows)
    for f in sorted(used - {None} - set(factors), key=lambda f: int(f[1:])):
        factors[f] = Factor(groups.size[int(f[1:])])
    layout = Layout(
        levels=tuple(levels),
        rows=tuple(rows),
        cols=tuple(cols),
        factors=factors,
        makes=tuple(made),
        neurons=tuple(neurons),
        sums=tuple(sums),
        ordered=frozenset({0, *vocabularies, *(s.neurons for s in at[spec.nodes[-1].name])}),
        chain=False,
    )
    return reads, layout
