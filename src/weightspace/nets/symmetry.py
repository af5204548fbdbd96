"""The neuron-permutation symmetry of an architecture, a chain's here and a graph's in graph_symmetry.py.

In a chain, permuting the output units (or channels) of a hidden linear/conv layer, together with everything that
acts per unit after it (batchnorm, per-unit activations, the matching input columns of the next linear/conv layer,
and the channel blocks of a flatten in between), leaves the network's function unchanged. A permutation is a mapping
`{layer index: index tensor}`; new unit j is old unit perm[j]. A graph's permutation maps each free group of
units to its new order and each attention node to its heads' (see graph_symmetry.py); the four functions below take
either kind of spec.
"""

from __future__ import annotations

import torch

from weightspace.errors import SpecError
from weightspace.nets.graph import GraphSpec, Spec, chain_only
from weightspace.nets.graph_symmetry import match_graph_units, permute_graph, random_graph_permutation
from weightspace.nets.net import Net
from weightspace.nets.spec import PARAMETRIC, Activation, ArchSpec, BatchNorm, Flatten

Permutation = dict  # chain: layer index -> order; graph: group -> order, attention node -> (q/k, v) orders


def hidden_layers(spec: ArchSpec) -> dict[int, list[tuple]]:
    """Layer index -> one label per output unit, for every permutable (hidden) linear/conv layer.

    Units may only trade places with units of the same label: the label is the tuple of per-unit activations
    that act on the unit before the next linear/conv layer (empty when every unit is treated alike). A graph's
    units are grouped by `graph_symmetry.unit_groups` instead.
    """
    spec = chain_only(spec, "hidden_layers")
    params = spec.parametric_layers()
    out = {}
    for i, nxt in zip(params, params[1:]):
        width = spec.shapes()[i + 1][0]
        labels: list[tuple] = [() for _ in range(width)]
        for layer in spec.layers[i + 1 : nxt]:
            if isinstance(layer, Activation) and isinstance(layer.fn, list):
                labels = [lab + (fn,) for lab, fn in zip(labels, layer.fn)]
        out[i] = labels
    return out


ODD = ("sin", "tanh")  # f(-z) = -f(z): a hidden unit may flip the sign of everything it reads and writes


def sign_symmetric(spec: Spec) -> bool:
    """Whether every hidden unit's activation is odd with nothing else before the next layer, so flipping a unit's
    incoming weights and bias and its outgoing weights leaves the function unchanged (sine networks, tanh MLPs).
    A graph is not read for signs: False."""
    if isinstance(spec, GraphSpec):
        return False
    params = spec.parametric_layers()
    for i, nxt in zip(params, params[1:]):
        between = spec.layers[i + 1 : nxt]
        if not all(isinstance(x, Flatten) or (isinstance(x, Activation) and x.fn in ODD) for x in between):
            return False
        if not any(isinstance(x, Activation) for x in between):
            return False
    return True


def random_permutation(spec: Spec, generator: torch.Generator | None = None) -> Permutation:
    """A uniformly random element of the architecture's permutation group."""
    if isinstance(spec, GraphSpec):
        return random_graph_permutation(spec, generator)
    perm = {}
    for i, labels in hidden_layers(spec).items():
        p = torch.arange(len(labels))
        for label in sorted(set(labels)):
            slots = torch.tensor([j for j, lab in enumerate(labels) if lab == label])
            p[slots] = slots[torch.randperm(len(slots), generator=generator)]
        perm[i] = p
    return perm


def permute(net: Net, perm: Permutation) -> Net:
    """The same function with hidden units reordered by `perm` (a new Net; the input is not changed)."""
    if isinstance(net.spec, GraphSpec):
        return net.replace(params=permute_graph(net.spec, net.params, perm))
    spec, params = net.spec, dict(net.params)
    shapes = spec.shapes()
    allowed = hidden_layers(spec)
    current: torch.Tensor | None = None  # permutation of the feature axis flowing into layer i
    for i, layer in enumerate(spec.layers):
        if isinstance(layer, PARAMETRIC):
            w = f"{i}.weight"
            if current is not None:
                params[w] = params[w][:, current]
            current = None
            if i in perm:
                if i not in allowed:
                    raise ValueError(f"layer {i} is not a hidden linear/conv layer; its units cannot be permuted")
                p = perm[i]
                params[w] = params[w][p]
                if f"{i}.bias" in params:
                    params[f"{i}.bias"] = params[f"{i}.bias"][p]
                current = p
        elif current is not None and isinstance(layer, BatchNorm):
            for name in ("weight", "bias", "running_mean", "running_var"):
                params[f"{i}.{name}"] = params[f"{i}.{name}"][current]
        elif current is not None and isinstance(layer, Flatten) and len(shapes[i]) == 3:
            hw = shapes[i][1] * shapes[i][2]  # channel c owns flat positions c*hw .. c*hw + hw - 1
            current = (current[:, None] * hw + torch.arange(hw)).reshape(-1)
    return net.replace(params=params)


def match_units(net: Net, reference: Net) -> Permutation:
    """The permutation that makes `net`'s hidden units line up with `reference`'s (weight matching).

    Layer by layer from the input, each hidden layer's units are paired with the reference's by maximising the
    summed products of their incoming weights and biases (Hungarian algorithm), once the layers below are matched;
    units pair only with units of the same activation label. `permute(net, match_units(net, reference))` is the
    aligned network.
    """
    from scipy.optimize import linear_sum_assignment

    if net.spec.state_shapes() != reference.spec.state_shapes():
        raise SpecError("weight matching needs two networks of the same architecture")
    if isinstance(net.spec, GraphSpec):
        return match_graph_units(net.spec, net.params, reference.params)
    perm: Permutation = {}
    current = net
    for i, labels in hidden_layers(net.spec).items():
        mine, theirs = current.params, reference.params
        score = theirs[f"{i}.weight"].flatten(1) @ mine[f"{i}.weight"].flatten(1).T  # [reference unit, unit]
        if f"{i}.bias" in mine:
            score = score + torch.outer(theirs[f"{i}.bias"], mine[f"{i}.bias"])
        same = torch.tensor([[a == b for b in labels] for a in labels])
        score = torch.where(same, score, score.min() - 1 - score.abs().max() * len(labels))
        _, cols = linear_sum_assignment(score.double().numpy(), maximize=True)
        perm[i] = torch.as_tensor(cols, dtype=torch.long)
        current = permute(current, {i: perm[i]})
    return perm


def align(net: Net, reference: Net) -> Net:
    """`net` with its hidden units reordered to match `reference` (the same function)."""
    return permute(net, match_units(net, reference))
