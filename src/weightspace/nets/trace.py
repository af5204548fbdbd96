"""Read any feed-forward module as a GraphSpec: its torch.fx graph, node by node, onto the graph ops.

`graph_of(module, input_shape)` returns the spec and the module's tensors under the spec's names (module names
such as "b.c1.weight" become node names such as "b_c1.weight"). Functional calls (`torch.relu`, `x + y`,
`torch.cat`, `torch.flatten`) read as well as modules do. Self-attention reads in its two common forms: an
`nn.MultiheadAttention(batch_first=True)` called as attn(x, x, x), and q/k/v projections (separate, or one fused
qkv linear) whose heads go through `F.scaled_dot_product_attention` into an output projection. The first node that
cannot be read is named in the error, and a traced graph that does not compute what the module computes (on a
random batch, in eval mode) is refused, so a misread is never returned. BERT-family text encoders, which fx cannot
trace, are read from their structure (`nets.bert`) and checked the same way.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import fx, nn
from torch.fx.passes.shape_prop import ShapeProp

from weightspace.errors import SpecError
from weightspace.nets.bert import read_bert_module
from weightspace.nets.build import (
    ACTIVATION_FUNCTIONS,
    ACTIVATION_METHODS,
    GlobalPool2d,
    PerUnitActivation,
    Sin,
    _layer_of,
    chain_spec_of,
)
from weightspace.nets.graph import (
    Add,
    Attention,
    ClassToken,
    Concat,
    Embedding,
    GraphSpec,
    Identity,
    LayerNorm,
    Node,
    Normalize,
    PaddedPool,
    Patchify,
    Positions,
    SelfAttention,
    Spec,
    TokenMean,
    _ClassToken,
    _Embedding,
    _Patchify,
    _Positions,
    _TokenMean,
    build_graph,
)
from weightspace.nets.spec import Activation, Flatten, GlobalPool

LEAVES = (
    SelfAttention,
    GlobalPool2d,
    Sin,
    PerUnitActivation,
    _Patchify,
    _Embedding,
    _ClassToken,
    _Positions,
    _TokenMean,
)


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
    if isinstance(module, nn.Embedding):
        if module.max_norm is not None or module.scale_grad_by_freq or module.sparse:
            raise SpecError(f"{where}: only a plain nn.Embedding lookup is supported (no max_norm, sparse grads)")
        return Embedding(vocab=module.num_embeddings, dim=module.embedding_dim)
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


def _is_tensor(n: fx.Node) -> bool:
    return hasattr(n.meta.get("tensor_meta"), "shape")


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


def _mean_op(n: fx.Node):
    """x.mean(1) of tokens [B, T, D] is a token mean; x.mean((2, 3)) of [B, C, H, W] a global average pool."""
    dims = n.kwargs.get("dim", n.args[1] if len(n.args) > 1 else None)
    dims = tuple(sorted(d % len(_shape(n.args[0])) for d in (dims if isinstance(dims, tuple | list) else [dims])))
    rank = len(_shape(n.args[0])) if dims != (None,) else 0
    if not n.kwargs.get("keepdim") and rank == 3 and dims == (1,):
        return TokenMean()
    if not n.kwargs.get("keepdim") and rank == 4 and dims == (2, 3):
        return GlobalPool(op="avg")
    raise SpecError(f"node {n.name} (mean): only a mean over tokens (dim 1 of [B, T, D]) or positions is read")


def _normalize_op(n: fx.Node) -> Normalize:
    """F.normalize(x) to unit Euclidean length over the last axis, with its default epsilon."""
    args = dict(zip(("input", "p", "dim", "eps"), n.args)) | n.kwargs
    if args.get("p", 2.0) != 2 or args.get("dim", 1) % len(_shape(n)) != len(_shape(n)) - 1 or args.get(
        "eps", 1e-12) != 1e-12:  # fmt: skip
        raise SpecError(f"node {n.name} (normalize): only F.normalize(x, dim=-1), the Euclidean length, is read")
    return Normalize()


class _Tracer(fx.Tracer):
    """torch.fx's tracer, with weightspace's own layer modules kept whole (as torch.nn's are)."""

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return isinstance(m, LEAVES) or super().is_leaf_module(m, qualname)


VIEWS = {"view", "reshape", "transpose", "permute", "contiguous", "flatten", "unflatten"}  # reshapes of heads


@dataclass
class _AttentionRead:
    """One self-attention found in the fx graph: its input, its heads, where its four projections' tensors come
    from (name -> (module tensor, row slice)), the fx nodes it replaces and the one whose value it gives."""

    source: fx.Node
    heads: int
    tensors: dict[str, tuple[str, slice]] = field(default_factory=dict)
    absorbed: set[str] = field(default_factory=set)
    output: str = ""


def _through_views(n: fx.Node, absorbed: set[str]) -> fx.Node:
    """The node behind a run of reshapes, transposes and head splits (chunk/getitem), which are absorbed."""
    while (n.op == "call_method" and n.target in VIEWS) or (
        n.op == "call_function" and n.target in (torch.reshape, torch.transpose, torch.permute, torch.flatten)
    ):
        absorbed.add(n.name)
        n = n.args[0]
    return n


def _projection(n: fx.Node, modules: dict, absorbed: set[str], d: int) -> tuple[fx.Node, str, slice] | None:
    """(input, linear module name, row slice) of a q, k or v: a linear, or part i of a fused qkv linear picked by
    chunk(3)/unbind/indexing."""
    n = _through_views(n, absorbed)
    part = None
    if n.op == "call_function" and n.target is operator.getitem and isinstance(n.args[1], int):
        part, inner = n.args[1], n.args[0]
        absorbed.add(n.name)
        if inner.op in ("call_method", "call_function") and getattr(inner.target, "__name__", inner.target) in (
            "chunk", "unbind", "split"
        ):  # fmt: skip
            absorbed.add(inner.name)
            inner = inner.args[0]
        n = _through_views(inner, absorbed)
    if n.op != "call_module" or not isinstance(modules[n.target], nn.Linear):
        return None
    rows = modules[n.target].out_features
    if part is None and rows == d:
        absorbed.add(n.name)
        return n.args[0], n.target, slice(0, d)
    if part is not None and rows == 3 * d and 0 <= part < 3:
        absorbed.add(n.name)
        return n.args[0], n.target, slice(part * d, (part + 1) * d)
    return None


def _read_sdpa(n: fx.Node, modules: dict) -> _AttentionRead:
    """The attention around one F.scaled_dot_product_attention call, or an error naming it."""
    where = f"node {n.name} (scaled_dot_product_attention)"
    extra = {k: v for k, v in n.kwargs.items() if v not in (None, False, 0.0)}
    if len(n.args) > 3 or extra:
        raise SpecError(f"{where}: only plain attention is read (no mask, causal flag, dropout or scale: {extra})")
    q_shape = _shape(n.args[0])
    if len(q_shape) != 4:
        raise SpecError(f"{where}: q must be [batch, heads, tokens, head size], not {list(q_shape)}")
    heads, d = q_shape[1], q_shape[1] * q_shape[3]
    read = _AttentionRead(source=None, heads=heads, absorbed={n.name})  # type: ignore[arg-type]
    for name, arg in zip("qkv", n.args[:3]):
        found = _projection(arg, modules, read.absorbed, d)
        if found is None:
            raise SpecError(f"{where}: its {name} is not a linear projection of the tokens")
        source, module, rows = found
        if read.source is not None and source is not read.source:
            raise SpecError(f"{where}: q, k and v come from different inputs (only self-attention is read)")
        read.source = source
        read.tensors |= {f"{name}.weight": (f"{module}.weight", rows), f"{name}.bias": (f"{module}.bias", rows)}
    out = n
    while len(out.users) == 1 and not (
        (user := next(iter(out.users))).op == "call_module" and isinstance(modules.get(user.target), nn.Linear)
    ):
        if not ((user.op == "call_method" and user.target in VIEWS) or user.op == "call_function"
                and user.target in (torch.reshape, torch.transpose, torch.flatten)):  # fmt: skip
            raise SpecError(f"{where}: its heads are not merged into an output projection")
        read.absorbed.add(user.name)
        out = user
    if len(out.users) != 1:
        raise SpecError(f"{where}: its heads are not merged into an output projection")
    o = next(iter(out.users))
    read.tensors |= {"o.weight": (f"{o.target}.weight", slice(None)), "o.bias": (f"{o.target}.bias", slice(None))}
    if modules[o.target].bias is None or any(modules[t.rsplit(".", 1)[0]].bias is None
                                             for t, _ in read.tensors.values()):  # fmt: skip
        raise SpecError(f"{where}: attention projections without biases are not read")
    read.output = o.name
    return read


def _read_multihead(n: fx.Node, sub: nn.MultiheadAttention) -> _AttentionRead:
    where = f"node {n.name} (nn.MultiheadAttention {n.target})"
    if not sub.batch_first or not sub._qkv_same_embed_dim or sub.in_proj_bias is None or sub.bias_k is not None:
        raise SpecError(f"{where}: only batch_first=True self-attention with biases and one embedding size is read")
    if len({id(a) for a in n.args[:3]}) != 1 or len(n.args) < 3 or any(
        n.kwargs.get(k) is not None for k in ("key_padding_mask", "attn_mask")
    ) or n.kwargs.get("is_causal"):  # fmt: skip
        raise SpecError(f"{where}: only attn(x, x, x) without masks is read")
    d = sub.embed_dim
    read = _AttentionRead(source=n.args[0], heads=sub.num_heads, absorbed={n.name})
    for i, name in enumerate("qkv"):
        rows = slice(i * d, (i + 1) * d)
        read.tensors |= {f"{name}.weight": (f"{n.target}.in_proj_weight", rows),
                         f"{name}.bias": (f"{n.target}.in_proj_bias", rows)}  # fmt: skip
    read.tensors |= {"o.weight": (f"{n.target}.out_proj.weight", slice(None)),
                     "o.bias": (f"{n.target}.out_proj.bias", slice(None))}  # fmt: skip
    outputs = [u for u in n.users if not (u.op == "call_function" and u.target is operator.getitem
                                               and u.args[1] == 1 and not u.users)]  # fmt: skip
    if len(outputs) != 1 or outputs[0].target is not operator.getitem or outputs[0].args[1] != 0:
        raise SpecError(f"{where}: only its output [0] may be used")
    read.absorbed |= {u.name for u in n.users}
    read.output = outputs[0].name
    return read


def graph_of(module: nn.Module, input_shape, name: str = "") -> tuple[GraphSpec, dict[str, torch.Tensor]]:
    """The GraphSpec of `module` and the module's tensors under the spec's names (float32 copies)."""
    was_training = module.training
    try:
        graph = _Tracer().trace(module)
        traced = fx.GraphModule(module, graph)
        ShapeProp(traced.eval()).propagate(_probe(module, input_shape))
    except Exception as err:  # fx refuses data-dependent control flow, and a wrong input shape, in many ways
        first = (str(err).splitlines() or [type(err).__name__])[0]
        raise SpecError(f"cannot trace {type(module).__name__} with torch.fx ({first[:200]})") from None
    finally:
        module.train(was_training)  # the shapes were read in eval mode (batchnorm on its running statistics)
    modules = dict(traced.named_modules())
    state = module.state_dict()
    nodes: list[Node] = []
    alias: dict[str, str] = {}  # fx node -> the graph node that holds its value
    adaptive: set[str] = set()  # nodes that are [C, 1, 1] pools a flatten turns into a global pool
    params: dict[str, torch.Tensor] = {}
    attention: dict[str, _AttentionRead] = {}  # fx node whose value an attention gives -> the attention
    absorbed: set[str] = set()
    for n in traced.graph.nodes:
        if n.op == "call_function" and n.target is F.scaled_dot_product_attention:
            found = _read_sdpa(n, modules)
        elif n.op == "call_module" and isinstance(modules[n.target], nn.MultiheadAttention):
            found = _read_multihead(n, modules[n.target])
        else:
            continue
        attention[found.output] = found
        absorbed |= found.absorbed

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
        if n.name in attention:
            read = attention[n.name]
            emit(Attention(heads=read.heads), [src(read.source)])
            for key, (tensor, rows) in read.tensors.items():
                params[f"{alias[n.name]}.{key}"] = state[tensor][rows]
        elif n.name in absorbed or (n.op in ("call_function", "call_method") and not _is_tensor(n)):
            continue  # a part of an attention, or a size read from a shape (x.shape, x.size(0))
        elif n.op == "placeholder":
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
                params[f"{alias[n.name]}.{key}"] = state[f"{n.target}.{key}"]
        elif n.op == "call_function" and n.target in ACTIVATION_FUNCTIONS:
            emit(Activation(fn=ACTIVATION_FUNCTIONS[n.target]), [src(n.args[0])])
        elif n.op == "call_method" and n.target in ACTIVATION_METHODS:
            emit(Activation(fn=ACTIVATION_METHODS[n.target]), [src(n.args[0])])
        elif n.op == "call_function" and n.target in (operator.add, torch.add) and not n.kwargs:
            emit(Add(), [src(a) for a in n.args])
        elif n.op == "call_function" and n.target is torch.cat and _cat_axis(n) in ("channels", "features"):
            emit(Concat(), [src(a) for a in n.args[0]])
        elif (n.op == "call_function" and n.target is torch.flatten) or (
            n.op == "call_method" and n.target == "flatten"
        ):
            flatten(n, n.kwargs.get("start_dim", n.args[1] if len(n.args) > 1 else 0))
        elif n.op == "call_function" and n.target is F.normalize:
            emit(_normalize_op(n), [src(n.args[0])])
        elif (n.op == "call_method" and n.target == "mean") or (n.op == "call_function" and n.target is torch.mean):
            emit(_mean_op(n), [src(n.args[0])])
        else:
            what = getattr(n.target, "__name__", n.target)
            raise SpecError(f"node {n.name} ({n.op} {what}): no GraphSpec op reads it")
    if output is None or not nodes:
        raise SpecError(f"{type(module).__name__} has no layers to read")
    if output != nodes[-1].name:
        raise SpecError(f"the output of {type(module).__name__} is not its last node")
    spec = GraphSpec(input_shape=tuple(input_shape), nodes=nodes, name=name or type(module).__name__)
    params = {k: v.detach().clone().float().cpu() for k, v in params.items() if not k.endswith("num_batches_tracked")}
    _check_function(module, spec, params)
    return spec, params


def _probe(module: nn.Module, input_shape, generator: torch.Generator | None = None) -> torch.Tensor:
    """Two random inputs for `module`: token ids below the smallest vocabulary when it embeds tokens, else [0, 1)."""
    vocab = [m.num_embeddings for m in module.modules() if isinstance(m, nn.Embedding)]
    if vocab:
        return torch.randint(0, min(vocab), (2, *input_shape), generator=generator)
    return torch.rand(2, *input_shape, generator=generator)


@torch.no_grad()
def _check_function(module: nn.Module, spec: GraphSpec, params: dict[str, torch.Tensor], forward=None) -> None:
    """Refuse a traced graph that does not compute what `module` computes (eval mode, a random batch; `forward`
    calls the module when it takes more than a tensor)."""
    rebuilt = build_graph(spec).eval()
    missing, unexpected = rebuilt.load_state_dict(params, strict=False)
    if unexpected or any(not k.endswith("num_batches_tracked") for k in missing):
        raise SpecError(f"{type(module).__name__}: its traced tensors do not fill the graph ({missing or unexpected})")
    was_training = module.training
    vocab = [n.op.vocab for n in spec.nodes if isinstance(n.op, Embedding)]  # ids over the whole token table
    x = (torch.randint(0, min(vocab), (2, *spec.input_shape), generator=torch.Generator().manual_seed(0)) if vocab
         else _probe(module, spec.input_shape, torch.Generator().manual_seed(0)))  # fmt: skip
    try:
        dtype = next(iter(module.state_dict().values()), x).dtype
        module.eval()
        want = (forward or module)(x if x.dtype == torch.long else x.to(dtype)).float()
    finally:
        module.train(was_training)
    got = rebuilt(x)
    gap = ((got - want).abs().max() / want.abs().max().clamp_min(1e-6)).item()
    if not gap < 1e-4:  # also catches NaN
        raise SpecError(f"{type(module).__name__}: the traced graph computes something else (relative gap "
                        f"{gap:.2g}); a layer is read in a way the module does not use it")  # fmt: skip


def read_module(module: nn.Module, input_shape, name: str = "") -> tuple[Spec, dict[str, torch.Tensor] | None]:
    """(spec, its tensors) of any feed-forward module: an ArchSpec when its forward is a chain (its tensors then
    map in order: None), else a GraphSpec traced node by node with the module's tensors under its names."""
    read = read_bert_module(module, input_shape, name)  # a text encoder fx cannot trace
    if read is not None:
        spec, params, forward = read
        _check_function(module, spec, params, forward)
        return spec, params
    try:
        return chain_spec_of(module, input_shape, name), None
    except SpecError:
        return graph_of(module, input_shape, name)


def spec_of(module: nn.Module, input_shape, name: str = "") -> Spec:
    """The spec of any feed-forward module: an ArchSpec for a chain (an `nn.Sequential`, or a forward that is one),
    else a GraphSpec (residual sums, concatenations, attention, a BERT text encoder, ...). Anything else is refused,
    naming the first node that no op reads."""
    return read_module(module, input_shape, name)[0]
