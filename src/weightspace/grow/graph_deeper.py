"""Net2DeeperNet on a graph: a zero-initialised residual branch inserted after any node, so the function is
unchanged and the new layers start learning from there.

After node X (output [C, H, W], [F] or tokens [T, D]) come X_deep_a (a conv of `kernel_size` with same padding,
or a linear layer: randomly initialised), X_deep_act (ReLU), X_deep_b (the same kind, all zeros) and
X_deep_sum = X + X_deep_b; every node that read X reads X_deep_sum. Zero output weights make the branch add
exactly nothing, whatever the activation, so no idempotence is needed (unlike inserting a plain layer).
"""

from __future__ import annotations

import torch

from weightspace.errors import SpecError
from weightspace.nets import Activation, Conv2d, GraphSpec, Linear, Node, build_graph
from weightspace.nets.graph import Add


def deeper_graph(
    spec: GraphSpec, params: dict[str, torch.Tensor], after: str, kernel_size: int = 3, seed: int = 0
) -> tuple[GraphSpec, dict[str, torch.Tensor]]:
    """`spec` and `params` with a zero-initialised residual branch after node `after`."""
    shapes = spec.shapes()
    if after not in shapes or after == "input":
        raise SpecError(f"no node {after!r} to deepen after; name one of the graph's nodes")
    if kernel_size % 2 == 0:
        raise SpecError(f"kernel_size must be odd (same padding on both sides), not {kernel_size}")
    shape = shapes[after]
    units = shape[-1] if len(shape) == 2 else shape[0]
    if len(shape) == 3:
        make = lambda: Conv2d(out_channels=units, kernel_size=kernel_size, padding=kernel_size // 2)  # noqa: E731
    else:
        make = lambda: Linear(out_features=units)  # noqa: E731
    a, act, b, total = (f"{after}_deep_{s}" for s in ("a", "act", "b", "sum"))
    if any(n in shapes for n in (a, act, b, total)):
        raise SpecError(f"node {after!r} already has a branch of that name; deepen after {total!r} instead")
    new = [Node(name=a, op=make(), inputs=[after]), Node(name=act, op=Activation(fn="relu"), inputs=[a]),
           Node(name=b, op=make(), inputs=[act]), Node(name=total, op=Add(), inputs=[after, b])]  # fmt: skip
    nodes = []
    for n in spec.nodes:
        nodes.append(n if n.name == after else n.model_copy(update={"inputs": [total if i == after else i
                                                                               for i in n.inputs]}))  # fmt: skip
        if n.name == after:
            nodes += new
    grown = GraphSpec(input_shape=spec.input_shape, nodes=nodes, name=spec.name)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        fresh = build_graph(grown).state_dict()
    out = dict(params)
    for key, value in fresh.items():
        if key.startswith((f"{a}.", f"{b}.")):
            out[key] = value if key.startswith(f"{a}.") else torch.zeros_like(value)
    return grown, out
