"""Read any feed-forward module as a GraphSpec: its torch.fx graph, node by node, onto the graph ops.

`graph_of(module, input_shape)` returns the spec and where each of the module's tensors goes in it (module names
such as "b.c1.weight" become node names such as "b_c1.weight"). Functional calls (`torch.relu`, `x + y`,
`torch.cat`, `torch.flatten`, `F.scaled_dot_product_attention` inside an attention module) read as well as
modules do; the first node that cannot be read is named in the error.
"""

from __future__ import annotations

import operator

import torch
import torch.nn.functional as F
from torch import fx, nn
from torch.fx.passes.shape_prop import ShapeProp

from weightspace.errors import SpecError
from weightspace.nets.build import GlobalPool2d, PerUnitActivation, Sin, _layer_of, chain_spec_of
from weightspace.nets.graph import (
    Add,
    Attention,
    ClassToken,
    Concat,
    GraphSpec,
    Identity,
    LayerNorm,
    Node,
    PaddedPool,
    Patchify,
    Positions,
    SelfAttention,
    Spec,
    TokenMean,
    _ClassToken,
    _Patchify,
    _Positions,
    _TokenMean,
)
from weightspace.nets.spec import Activation, Flatten, GlobalPool

LEAVES = (SelfAttention, GlobalPool2d, Sin, PerUnitActivation, _Patchify, _ClassToken, _Positions, _TokenMean)
FUNCTIONS = {
    torch.relu: "relu", F.relu: "relu", torch.tanh: "tanh", F.tanh: "tanh", torch.sigmoid: "sigmoid",
    F.sigmoid: "sigmoid", F.gelu: "gelu", torch.sin: "sin", F.leaky_relu: "leaky_relu",
}  # fmt: skip
METHODS = {"relu": "relu", "tanh": "tanh", "sigmoid": "sigmoid", "sin": "sin"}


def _op_of_module(module: nn.Module, where: str):
    if isinstance(module, SelfAttention):
        return Attention(heads=module.heads)
    if isinstance(module, _Patchify):
        return Patchify(patch=module.patch, dim=module.weight.shape[0])
    if isinstance(module, _ClassToken):
        return ClassToken()
    if isinstance(module, _Positions):
        return Positions()
    if isinstance(module, _TokenMean):
        return TokenMean(first=module.first)
    if isinstance(module, nn.LayerNorm):
        if len(module.normalized_shape) != 1 or not module.elementwise_affine:
            raise SpecError(f"{where}: only an affine LayerNorm over the last axis is supported")
        return LayerNorm(eps=module.eps)
    if isinstance(module, nn.Identity):
        return Identity()
    if isinstance(module, nn.AdaptiveAvgPool2d | nn.AdaptiveMaxPool2d) and module.output_size in (1, (1, 1)):
        return "adaptive"  # a global pool whose [C, 1, 1] output a flatten follows
    if isinstance(module, nn.MaxPool2d | nn.AvgPool2d) and module.padding not in (0, (0, 0)):
        k, s, p = (v if isinstance(v, int) else v[0] for v in (module.kernel_size, module.stride, module.padding))
        return PaddedPool(op="max" if isinstance(module, nn.MaxPool2d) else "avg", kernel_size=k, stride=s, padding=p)
    return _layer_of(module, where)


def _shape(n: fx.Node) -> tuple[int, ...]:
    return tuple(n.meta["tensor_meta"].shape)


def _cat_axis(n: fx.Node) -> str:
    """What a torch.cat joins: "channels" ([B, C, ...] on dim 1), "features" (tokens [B, T, D] on their last dim),
    or "other" (any other axis, which no graph op does)."""
    dim = n.kwargs.get("dim", n.args[1] if len(n.args) > 1 else 0)
    rank = len(_shape(n))
    dim = dim % rank
    if rank == 3 and dim == 2:
        return "features"
    return "channels" if dim == 1 and rank != 3 else "other"


class _Tracer(fx.Tracer):
    """torch.fx's tracer, with weightspace's own layer modules kept whole (as torch.nn's are)."""

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return isinstance(m, LEAVES) or super().is_leaf_module(m, qualname)


def graph_of(module: nn.Module, input_shape, name: str = "") -> tuple[GraphSpec, dict[str, str]]:
    """The GraphSpec of `module` and the map from its state_dict names to the spec's."""
    was_training = module.training
    try:
        graph = _Tracer().trace(module)
        traced = fx.GraphModule(module, graph)
        ShapeProp(traced.eval()).propagate(torch.zeros(2, *input_shape))
    except Exception as err:  # fx refuses data-dependent control flow, and a wrong input shape, in many ways
        first = (str(err).splitlines() or [type(err).__name__])[0]
        raise SpecError(f"cannot trace {type(module).__name__} with torch.fx ({first[:200]})") from None
    finally:
        module.train(was_training)  # the shapes were read in eval mode (batchnorm on its running statistics)
    nodes: list[Node] = []
    alias: dict[str, str] = {}  # fx node -> the graph node that holds its value
    adaptive: set[str] = set()  # nodes that are [C, 1, 1] pools a flatten turns into a global pool
    tensors: dict[str, str] = {}
    modules = dict(traced.named_modules())

    def src(arg) -> str:
        if not isinstance(arg, fx.Node) or arg.name not in alias:
            raise SpecError(f"node {current}: an input that is not a tensor of the network ({arg!r})")
        return alias[arg.name]

    def emit(op, inputs: list[str]) -> None:
        node_name = current.replace(".", "_")
        nodes.append(Node(name=node_name, op=op, inputs=inputs))
        alias[current] = node_name

    def flatten(n: fx.Node, start: int) -> None:
        if start != 1:
            raise SpecError(f"node {n.name}: flatten must start at dim 1 (keep the batch), not {start}")
        if src(n.args[0]) in adaptive:
            alias[n.name] = src(n.args[0])  # the global pool already gave [C]
        else:
            emit(Flatten(), [src(n.args[0])])

    output = None
    for n in traced.graph.nodes:
        current = n.name
        if n.op == "placeholder":
            alias[n.name] = "input"
        elif n.op == "output":
            output = src(n.args[0])
        elif n.op == "call_module":
            sub = modules[n.target]
            if isinstance(sub, nn.Flatten):
                flatten(n, sub.start_dim)
                continue
            op = _op_of_module(sub, f"node {n.name} (call_module {n.target})")
            if op == "adaptive":
                emit(GlobalPool(op="avg" if isinstance(sub, nn.AdaptiveAvgPool2d) else "max"), [src(n.args[0])])
                adaptive.add(alias[n.name])
                continue
            emit(op, [src(n.args[0])])
            for key in sub.state_dict():
                tensors[f"{n.target}.{key}"] = f"{alias[n.name]}.{key}"
        elif n.op == "call_function" and n.target in FUNCTIONS:
            emit(Activation(fn=FUNCTIONS[n.target]), [src(n.args[0])])
        elif n.op == "call_method" and n.target in METHODS:
            emit(Activation(fn=METHODS[n.target]), [src(n.args[0])])
        elif n.op == "call_function" and n.target in (operator.add, torch.add) and not n.kwargs:
            emit(Add(), [src(a) for a in n.args])
        elif n.op == "call_function" and n.target is torch.cat and _cat_axis(n) in ("channels", "features"):
            emit(Concat(), [src(a) for a in n.args[0]])
        elif (n.op == "call_function" and n.target is torch.flatten) or (
            n.op == "call_method" and n.target == "flatten"
        ):
            flatten(n, n.kwargs.get("start_dim", n.args[1] if len(n.args) > 1 else 0))
        else:
            what = getattr(n.target, "__name__", n.target)
            raise SpecError(f"node {n.name} ({n.op} {what}): no GraphSpec op reads it")
    if output is None or not nodes:
        raise SpecError(f"{type(module).__name__} has no layers to read")
    if output != nodes[-1].name:
        raise SpecError(f"the output of {type(module).__name__} is not its last node")
    spec = GraphSpec(input_shape=tuple(input_shape), nodes=nodes, name=name or type(module).__name__)
    return spec, tensors


def read_module(module: nn.Module, input_shape, name: str = "") -> tuple[Spec, dict[str, str] | None]:
    """(spec, module tensor name -> spec tensor name) of any feed-forward module: an ArchSpec when its forward is
    a chain (its tensors then map in order: None), else a GraphSpec traced node by node."""
    try:
        return chain_spec_of(module, input_shape, name), None
    except SpecError:
        return graph_of(module, input_shape, name)


def spec_of(module: nn.Module, input_shape, name: str = "") -> Spec:
    """The spec of any feed-forward module: an ArchSpec for a chain (an `nn.Sequential`, or a forward that is one),
    else a GraphSpec (residual sums, concatenations, attention, ...). Anything else is refused, naming the first
    node that no op reads."""
    return read_module(module, input_shape, name)[0]
