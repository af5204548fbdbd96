"""Weight initialisation schemes, each reproducible from a seed."""

from __future__ import annotations

import torch
from torch import nn

from weightspace.errors import SpecError
from weightspace.nets.graph import Attention, Patchify, Spec
from weightspace.nets.net import Net
from weightspace.nets.spec import PARAMETRIC, ArchSpec

# "torch" is PyTorch's default; the others are Keras' names, with zero biases as Keras sets them.
INIT_SCHEMES = ("torch", "glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "orthogonal", "truncated_normal")


def _fill(weight: torch.Tensor, scheme: str, g: torch.Generator) -> None:
    if scheme == "glorot_uniform":
        nn.init.xavier_uniform_(weight, generator=g)
    elif scheme == "glorot_normal":
        nn.init.xavier_normal_(weight, generator=g)
    elif scheme == "he_uniform":
        nn.init.kaiming_uniform_(weight, nonlinearity="relu", generator=g)
    elif scheme == "he_normal":
        nn.init.kaiming_normal_(weight, nonlinearity="relu", generator=g)
    elif scheme == "orthogonal":
        nn.init.orthogonal_(weight, generator=g)
    elif scheme == "truncated_normal":
        nn.init.trunc_normal_(weight, std=0.05, a=-0.1, b=0.1, generator=g)


def projections(spec: Spec) -> list[str]:
    """The name prefix of every weight matrix or kernel of `spec` ("3" of "3.weight"; "b0_attn.q" of attention's)."""
    if isinstance(spec, ArchSpec):
        return [str(i) for i in spec.parametric_layers()]
    out = []
    for node in spec.nodes:
        if isinstance(node.op, PARAMETRIC + (Patchify,)):
            out.append(node.name)
        elif isinstance(node.op, Attention):
            out += [f"{node.name}.{p}" for p in "qkvo"]
    return out


def init_net(spec: Spec, seed: int, scheme: str = "torch", **meta) -> Net:
    """A network initialised with `scheme`; the same (spec, seed, scheme) always gives the same weights (other
    tensors, such as normalisation and embeddings, keep PyTorch's init)."""
    if scheme not in INIT_SCHEMES:
        raise SpecError(f"unknown init scheme {scheme!r}; choose one of: {', '.join(INIT_SCHEMES)}")
    net = Net.init(spec, seed, init=scheme, **meta)
    if scheme == "torch":
        return net
    g = torch.Generator().manual_seed(seed)
    params = dict(net.params)
    for i in projections(spec):
        weight = torch.empty_like(params[f"{i}.weight"])
        _fill(weight, scheme, g)
        params[f"{i}.weight"] = weight
        if f"{i}.bias" in params:
            params[f"{i}.bias"] = torch.zeros_like(params[f"{i}.bias"])
    return net.replace(params=params)
