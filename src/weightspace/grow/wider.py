"""Net2WiderNet: more units in a hidden linear or conv layer, computing the same function."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from weightspace.errors import SpecError
from weightspace.grow.graph_wider import widenable, wider_graph
from weightspace.grow.interface import Model, as_net, like, next_parametric
from weightspace.nets import Activation, BatchNorm, Conv2d, Flatten, GraphSpec, Net


def wider(
    model: Model,
    layer: int | str,
    new_width: int,
    noise: float = 0.0,
    seed: int = 0,
    input_shape: Sequence[int] | None = None,
) -> Model:
    """Widen layer `layer` (a hidden linear or conv layer) to `new_width` units or channels.

    Each new unit j copies the incoming weights and bias of a randomly chosen old unit g(j); the next layer's
    weights from every copy of a unit are divided by that unit's number of copies, so the output is unchanged.
    Batchnorm statistics and affine parameters, and per-unit activations, are replicated with their unit; across a
    flatten each channel's block of positions is divided. `noise` > 0 adds Gaussian noise of `noise` x the weights'
    std to the divided outgoing weights of replicated units, breaking their symmetry (the function then changes by
    about that much). Returns a new model of the kind given (Net or module); the input is not changed.

    On a graph, `layer` names a conv or linear node, and its whole group of units grows: every node that makes it
    (across residual sums) and every node that reads it (across concatenations and flattens).
    """
    net = as_net(model, input_shape)
    if isinstance(net.spec, GraphSpec):
        if not isinstance(layer, str):
            raise SpecError(f"on a graph, name the node to widen (e.g. {net.spec.nodes[0].name!r}), not {layer!r}")
        spec, params = wider_graph(net.spec, net.params, layer, new_width, seed, noise)
        return like(model, Net(spec, params, dict(net.meta)))
    spec, shapes = net.spec, net.spec.shapes()
    nxt = next_parametric(spec, layer)
    old = shapes[layer + 1][0]
    if new_width <= old:
        raise SpecError(f"layer {layer} has {old} units; new_width must be larger, got {new_width}")
    g = torch.Generator().manual_seed(seed)
    mapping = torch.cat([torch.arange(old), torch.randint(0, old, (new_width - old,), generator=g)])
    copies = torch.bincount(mapping, minlength=old).float()

    params = dict(net.params)
    layers = list(spec.layers)
    key = "out_channels" if isinstance(layers[layer], Conv2d) else "out_features"
    layers[layer] = layers[layer].model_copy(update={key: new_width})
    for name in ("weight", "bias"):
        if f"{layer}.{name}" in params:
            params[f"{layer}.{name}"] = params[f"{layer}.{name}"][mapping]

    columns, divide = mapping, copies[mapping]  # the next layer's input columns, and what divides each
    for i in range(layer + 1, nxt):
        between = layers[i]
        if isinstance(between, BatchNorm):
            for name in ("weight", "bias", "running_mean", "running_var"):
                params[f"{i}.{name}"] = params[f"{i}.{name}"][mapping]
        elif isinstance(between, Activation) and isinstance(between.fn, list):
            layers[i] = between.model_copy(update={"fn": [between.fn[j] for j in mapping.tolist()]})
        elif isinstance(between, Flatten) and len(shapes[i]) == 3:
            hw = shapes[i][1] * shapes[i][2]  # channel c owns flat positions c*hw .. c*hw + hw - 1
            columns = (mapping[:, None] * hw + torch.arange(hw)).reshape(-1)
            divide = divide.repeat_interleave(hw)

    w = params[f"{nxt}.weight"]
    shape = (1, -1) + (1,) * (w.dim() - 2)
    outgoing = w[:, columns] / divide.view(shape)
    if noise > 0:
        replicated = (divide > 1).view(shape).to(outgoing.dtype)
        outgoing = outgoing + noise * w.std() * torch.randn(outgoing.shape, generator=g) * replicated
    params[f"{nxt}.weight"] = outgoing
    grown = Net(spec.model_copy(update={"layers": layers}), params, dict(net.meta))
    return like(model, grown)


def widen_all(model: Model, factor: float, noise: float = 0.0, seed: int = 0, input_shape=None) -> Model:
    """Every hidden linear/conv layer `factor` times as wide (rounded), one Net2WiderNet step per layer (on a
    graph: every group of units that can grow)."""
    net = as_net(model, input_shape)
    if isinstance(net.spec, GraphSpec):
        return like(model, _widen_graph(net, factor, noise, seed))
    hidden = net.spec.parametric_layers()[:-1]
    for k, i in enumerate(hidden):
        width = net.spec.shapes()[i + 1][0]
        net = wider(net, i, max(width + 1, round(width * factor)), noise=noise, seed=seed + k)
    return like(model, net)


def _widen_graph(net: Net, factor: float, noise: float, seed: int) -> Net:
    """Each widenable group of a graph `factor` times as wide, named by the first node that makes it."""
    for k, (node, size) in enumerate(widenable(net.spec).items()):  # growing one group leaves the others' sizes
        net = wider(net, node, max(size + 1, round(size * factor)), noise=noise, seed=seed + k)
    return net
