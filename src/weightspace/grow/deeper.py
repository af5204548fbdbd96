"""Net2DeeperNet: a new identity-initialised layer, computing the same function where the activation allows."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import torch
from torch import nn

from weightspace.errors import SpecError
from weightspace.grow.graph_deeper import deeper_graph
from weightspace.grow.interface import Model, as_net, like, output_gap, probe_inputs
from weightspace.nets import PARAMETRIC, Activation, BatchNorm, Conv2d, GraphSpec, Linear, Net

# phi(phi(x)) == phi(x) for these, so phi(I phi(x)) == phi(x): an identity layer changes nothing.
IDEMPOTENT = {"relu", "identity"}


def deeper(
    model: Model,
    after: int | str,
    kernel_size: int = 3,
    approximate: bool = False,
    data: torch.Tensor | None = None,
    input_shape: Sequence[int] | None = None,
) -> Model:
    """Insert a linear (or conv, `kernel_size`, same padding) layer initialised to the identity after layer `after`.

    The new layer goes after `after`'s batchnorm and activation and repeats them: [new layer, batchnorm?,
    activation]. Its batchnorm is set to undo the normalisation (exactly in eval mode; with `data`, inputs of the
    whole network, its running statistics are the data's, so training-mode batches start near identity too).
    tanh, sigmoid, GELU, sin and leaky ReLU are not idempotent, so the result is not the same function: that is
    refused unless `approximate=True`, which warns with the measured relative output change and records it in the
    Net's meta as `deeper_output_gap`. Returns a new model of the kind given; the input is not changed.

    On a graph, `after` names any node, and a zero-initialised residual branch (conv or linear, ReLU, conv or
    linear) is added to its output: the same function whatever the activations (`graph_deeper.py`).
    """
    net = as_net(model, input_shape)
    if isinstance(net.spec, GraphSpec):
        if not isinstance(after, str):
            raise SpecError(f"on a graph, name the node to deepen after (e.g. {net.spec.nodes[0].name!r})")
        spec, params = deeper_graph(net.spec, net.params, after, kernel_size)
        return like(model, Net(spec, params, dict(net.meta)))
    spec, shapes = net.spec, net.spec.shapes()
    if not 0 <= after < len(spec.layers) or not isinstance(spec.layers[after], PARAMETRIC):
        raise SpecError(f"deeper(after={after}): layer {after} must be a linear or conv layer")
    end = after + 1  # the block that follows `after` and is repeated: its batchnorm and activations
    while end < len(spec.layers) and isinstance(spec.layers[end], (BatchNorm, Activation)):
        end += 1
    block = spec.layers[after + 1 : end]
    fns = {
        fn for lay in block if isinstance(lay, Activation) for fn in (lay.fn if isinstance(lay.fn, list) else [lay.fn])
    }
    inexact = sorted(fns - IDEMPOTENT)
    if inexact and not approximate:
        raise SpecError(
            f"an identity layer after layer {after} does not preserve the function: {', '.join(inexact)} is not "
            "idempotent (phi(phi(x)) != phi(x)); pass approximate=True (CLI: --approximate) to insert it anyway"
        )
    width = shapes[after + 1][0]
    if isinstance(spec.layers[after], Conv2d):
        if kernel_size % 2 == 0:
            raise SpecError(f"kernel_size must be odd so the identity kernel has a centre, got {kernel_size}")
        new = Conv2d(out_channels=width, kernel_size=kernel_size, padding="same")
        weight = torch.zeros(width, width, kernel_size, kernel_size)
        weight[torch.arange(width), torch.arange(width), kernel_size // 2, kernel_size // 2] = 1.0
    else:
        new = Linear(out_features=width)
        weight = torch.eye(width)
    inserted = [new, *block]

    # Layer indices from `end` on move by len(inserted); parameters are renamed to match.
    shift = len(inserted)
    params = {}
    for name, value in net.params.items():
        index, rest = name.split(".", 1)
        params[f"{int(index) + shift if int(index) >= end else index}.{rest}"] = value
    params[f"{end}.weight"], params[f"{end}.bias"] = weight, torch.zeros(width)
    for offset, lay in enumerate(block, start=1):
        if isinstance(lay, BatchNorm):
            i = end + offset
            mean, var = _statistics(net, end, data) if data is not None else (torch.zeros(width), torch.ones(width))
            params[f"{i}.running_mean"], params[f"{i}.running_var"] = mean, var
            params[f"{i}.weight"], params[f"{i}.bias"] = (var + lay.eps).sqrt(), mean.clone()
    layers = [*spec.layers[:end], *inserted, *spec.layers[end:]]
    grown = Net(spec.model_copy(update={"layers": layers}), params, dict(net.meta))
    if inexact:
        gap = output_gap(net, grown, probe_inputs(spec) if data is None else data)
        grown.meta["deeper_output_gap"] = gap
        message = f"deeper(after={after}) with {', '.join(inexact)}: relative output change {gap:.3g}"
        warnings.warn(message, stacklevel=2)
    return like(model, grown)


def _as_list(fn: str | list[str]) -> list[str]:
    return fn if isinstance(fn, list) else [fn]


@torch.no_grad()
def _statistics(net: Net, upto: int, data: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-unit mean and variance of the activations entering layer `upto` over `data`, as training sees them
    (batchnorm layers on the way normalise with the batch's statistics)."""
    module = net.as_module()[:upto]
    for layer in module:
        if isinstance(layer, nn.modules.batchnorm._BatchNorm):
            layer.train()
    h = module(data)
    dims = [0] + list(range(2, h.dim()))
    return h.mean(dims), h.var(dims, unbiased=False)
