"""Net2WiderNet on a graph: widen one group of units (every tensor that shares it, across residual sums and
concatenations), computing the same function.

New unit j of the group copies old unit g(j) in every node that makes the group; every node that reads the group
takes its columns from the copies divided by the number of copies of their unit (across a flatten, each channel's
block of positions); batchnorm moves with its units. A group that reaches the output, or passes through a
layernorm, attention or token op (where replicated units would change the function or the head layout), is
refused in one line.
"""

from __future__ import annotations

import torch

from weightspace.errors import SpecError
from weightspace.nets import BatchNorm, Conv2d, GraphSpec, Linear, Node, unit_groups

UNWIDENABLE = ("layernorm", "normalize", "attention", "patchify", "embedding", "class_token", "positions", "token_mean")


def _columns(segments, groups, root: int, mapping: torch.Tensor, copies: torch.Tensor):
    """(source index, divisor) for every position of a widened axis made of `segments`."""
    index, scale, offset = [], [], 0
    for g, units, inner in segments:
        if groups.find(g) == root:
            src = mapping
            div = copies[mapping]
        else:
            src, div = torch.arange(units), torch.ones(units)
        index.append(((src[:, None] * inner + torch.arange(inner)) + offset).reshape(-1))
        scale.append(div[:, None].expand(-1, inner).reshape(-1))
        offset += units * inner
    return torch.cat(index), torch.cat(scale)


def _readers(spec: GraphSpec, axes, groups, root: int) -> set[str]:
    """The nodes whose input axis holds units of group `root`."""
    return {n.name for n in spec.nodes if any(groups.find(s[0]) == root for s in axes[n.inputs[0]])}


def _refusal(spec: GraphSpec, node: str, parts) -> str | None:
    """Why the group that `node` makes cannot be widened, or None."""
    axes, groups, makes = parts
    if node not in makes:
        return f"node {node!r} makes no units to widen; name a conv or linear node"
    root = groups.find(makes[node])
    if root in groups.fixed:
        return f"node {node!r}'s units reach the output or a per-unit activation; they cannot be widened"
    members = _readers(spec, axes, groups, root)
    blocked = [n.name for n in spec.nodes if n.name in members and n.op.kind in UNWIDENABLE]
    if blocked:
        return f"node {node!r}'s units pass through {blocked[0]!r} ({UNWIDENABLE}), which Net2Net cannot widen"
    return None


def widenable(spec: GraphSpec) -> dict[str, int]:
    """The first node that makes each group Net2WiderNet can grow -> the group's units."""
    parts = unit_groups(spec)
    _, groups, makes = parts
    out, seen = {}, set()
    for n in spec.nodes:
        if n.name in makes and groups.find(makes[n.name]) not in seen and _refusal(spec, n.name, parts) is None:
            seen.add(groups.find(makes[n.name]))
            out[n.name] = groups.size[groups.find(makes[n.name])]
    return out


def wider_graph(
    spec: GraphSpec, params: dict[str, torch.Tensor], node: str, width: int, seed: int = 0, noise: float = 0.0
) -> tuple[GraphSpec, dict[str, torch.Tensor]]:
    """`spec` and `params` with the group of units that node `node` makes grown to `width` units. `noise` > 0 adds
    Gaussian noise of `noise` x each reader's weight std to the divided columns of replicated units."""
    parts = unit_groups(spec)
    if (why := _refusal(spec, node, parts)) is not None:
        raise SpecError(why)
    axes, groups, makes = parts
    root = groups.find(makes[node])
    members = _readers(spec, axes, groups, root)
    old = groups.size[root]
    if width <= old:
        raise SpecError(f"node {node!r}'s group has {old} units; the new width must be larger, not {width}")
    g = torch.Generator().manual_seed(seed)
    mapping = torch.cat([torch.arange(old), torch.randint(0, old, (width - old,), generator=g)])
    copies = torch.bincount(mapping, minlength=old).float()
    out, nodes = dict(params), []
    for n in spec.nodes:
        op, name = n.op, n.name
        if isinstance(op, Conv2d | Linear):
            w = out[f"{name}.weight"]
            if n.name in members:  # reads the group: columns from the copies, divided
                index, scale = _columns(axes[n.inputs[0]], groups, root, mapping, copies)
                view = (1, -1, *([1] * (w.dim() - 2)))
                divided = w[:, index] / scale.view(view)
                if noise > 0:
                    shared = (scale > 1).view(view).to(w.dtype)
                    divided = divided + noise * w.std() * torch.randn(divided.shape, generator=g) * shared
                w = divided
            if name in makes and groups.find(makes[name]) == root:  # makes the group: rows copied
                w = w[mapping]
                if f"{name}.bias" in out:
                    out[f"{name}.bias"] = out[f"{name}.bias"][mapping]
                field = "out_features" if isinstance(op, Linear) else "out_channels"
                op = op.model_copy(update={field: width})
            out[f"{name}.weight"] = w
        elif isinstance(op, BatchNorm) and name in members:
            index, _ = _columns(axes[n.inputs[0]], groups, root, mapping, copies)
            for t in ("weight", "bias", "running_mean", "running_var"):
                out[f"{name}.{t}"] = out[f"{name}.{t}"][index]
        nodes.append(Node(name=name, op=op, inputs=n.inputs))
    return GraphSpec(input_shape=spec.input_shape, nodes=nodes, name=spec.name), out
