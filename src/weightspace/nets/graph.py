"""GraphSpec: a feed-forward network as a graph of named nodes, of which a chain (ArchSpec) is one case.

Each node is an op with its attributes and the names of its inputs; the network's input is the node "input" and
its output the last node. Shapes are inferred, and checked, when a spec is made: a cycle, a dangling input, an add
of unequal shapes or an unknown op is one error naming the node. `build_graph` makes a module whose tensors are
named `<node>.<tensor>` (attention: `<node>.q.weight`, `.k`, `.v`, `.o`), so a spec fixes every tensor's name.

Ops: every ArchSpec layer kind; `add`, `concat` (the channel or feature axis), `layernorm` (last axis),
`attention` (multi-head self-attention over tokens [T, D]), `patchify` (a p x p, stride-p conv to tokens),
`class_token`, `positions` (learned, added), `token_mean`, `normalize` (to unit length), `identity`.
"""

from __future__ import annotations

import json
import math
from typing import Annotated, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field, model_validator
from torch import nn

from weightspace.errors import SpecError
from weightspace.limits import MAX_LAYERS, MAX_PARAMS, MAX_VALUES
from weightspace.nets.build import _module, build_chain
from weightspace.nets.spec import (
    Activation,
    ArchSpec,
    BatchNorm,
    Conv2d,
    Dropout,
    Flatten,
    GlobalPool,
    Linear,
    Pool2d,
    Shape,
    Size,
    _Layer,
    _out_shape,
)

NodeName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")]


class Add(_Layer):
    kind: Literal["add"] = "add"


class PrefixAdd(Add):
    """The second input added onto the first's leading channels or features, as many as both have (the rest of
    the first passes through): CNN Wild Park's skip connection between layers of different widths."""

    kind: Literal["prefix_add"] = "prefix_add"  # type: ignore[assignment]


class Concat(_Layer):
    """Join inputs along the channel axis ([C, H, W]) or the feature axis ([F], tokens [T, F])."""

    kind: Literal["concat"] = "concat"


class LayerNorm(_Layer):
    kind: Literal["layernorm"] = "layernorm"
    eps: float = 1e-5


class Attention(_Layer):
    """Multi-head self-attention over tokens [T, D]: q, k, v and output projections, each D x D with a bias."""

    kind: Literal["attention"] = "attention"
    heads: Size


class Patchify(_Layer):
    """[C, H, W] -> [(H/p)(W/p), dim] tokens: a p x p conv of stride p, positions flattened row by row."""

    kind: Literal["patchify"] = "patchify"
    patch: Size
    dim: Size


class Embedding(_Layer):
    """[T] token ids -> [T, dim] tokens: a lookup in a vocab x dim table (ids arrive as numbers; they are rounded
    down to integers)."""

    kind: Literal["embedding"] = "embedding"
    vocab: Size
    dim: Size


class ClassToken(_Layer):
    """A learned token put before the others: [T, D] -> [T + 1, D]."""

    kind: Literal["class_token"] = "class_token"


class Positions(_Layer):
    """A learned [T, D] embedding added to the tokens."""

    kind: Literal["positions"] = "positions"


class TokenMean(_Layer):
    kind: Literal["token_mean"] = "token_mean"
    first: bool = False  # take the first (class) token instead of the mean


class Normalize(_Layer):
    """Scale to unit Euclidean length over the last axis (a sentence embedding): x / max(|x|, 1e-12)."""

    kind: Literal["normalize"] = "normalize"


class PaddedPool(_Layer):
    """Pooling with zero padding (max pooling ignores it), as Inception's pool branch needs: 3x3, stride 1, pad 1."""

    kind: Literal["padded_pool"] = "padded_pool"
    op: Literal["avg", "max"] = "max"
    kernel_size: Size = 3
    stride: Size = 1
    padding: Size = 1


class Identity(_Layer):
    kind: Literal["identity"] = "identity"


Op = Annotated[
    Linear | Conv2d | Pool2d | GlobalPool | Flatten | BatchNorm | Activation | Dropout | Add | PrefixAdd | Concat
    | LayerNorm | Attention | Patchify | Embedding | ClassToken | Positions | TokenMean | Normalize | PaddedPool
    | Identity,
    Field(discriminator="kind"),
]  # fmt: skip


class Node(BaseModel):
    """One named operation of a graph: its op, the nodes it reads, and the parameters it owns."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: NodeName
    op: Op
    inputs: list[NodeName] = Field(min_length=1, max_length=64)


def _node_shape(node: Node, shapes: list[Shape]) -> Shape:
    """The output shape of `node` from its inputs' shapes; one error naming the node when they do not fit."""
    op, first = node.op, shapes[0]

    def fail(msg: str) -> SpecError:
        return SpecError(f"node {node.name!r} ({op.kind}) cannot take inputs of shape {shapes}: {msg}")

    if not isinstance(op, Add | Concat) and len(shapes) != 1:
        raise fail("it takes exactly one input")
    if isinstance(op, PrefixAdd):
        if len(shapes) != 2 or len(first) not in (1, 3) or shapes[1][1:] != first[1:]:  # [1:] equal: same rank
            raise fail("a prefix add takes two [C, H, W] (or [F]) inputs that differ only in C")
        return first
    if isinstance(op, Add):
        if len(set(shapes)) != 1:
            raise fail("an add needs inputs of one shape")
        return first
    if isinstance(op, Concat):
        if any(len(s) != len(first) for s in shapes):
            raise fail("a concat needs inputs of one rank")
        if len(first) == 2:  # tokens: join features
            if any(s[0] != first[0] for s in shapes):
                raise fail("a concat of tokens needs the same number of tokens")
            return (first[0], sum(s[1] for s in shapes))
        if any(s[1:] != first[1:] for s in shapes):
            raise fail("a concat needs inputs that differ only in their channel or feature axis")
        return (sum(s[0] for s in shapes), *first[1:])
    if isinstance(op, Linear):
        if len(first) == 2:  # tokens [T, D]: per token
            return (first[0], op.out_features)
        return _out_shape(op, first, node.name)
    if isinstance(op, LayerNorm | Normalize | Dropout | Identity | Positions) or (
        isinstance(op, Activation) and not isinstance(op.fn, list)
    ):
        if isinstance(op, Positions) and len(first) != 2:
            raise fail("positions are added to tokens [T, D]")
        return first
    if isinstance(op, Attention):
        if len(first) != 2 or first[1] % op.heads:
            raise fail(f"attention needs tokens [T, D] with D a multiple of its {op.heads} heads")
        return first
    if isinstance(op, Patchify):
        if len(first) != 3 or first[1] % op.patch or first[2] % op.patch:
            raise fail(f"patchify needs [C, H, W] with H and W multiples of {op.patch}")
        return (first[1] // op.patch * (first[2] // op.patch), op.dim)
    if isinstance(op, Embedding):
        if len(first) != 1:
            raise fail("an embedding reads a sequence of token ids [T]")
        return (first[0], op.dim)
    if isinstance(op, PaddedPool):
        if len(first) != 3 or op.padding * 2 >= op.kernel_size + 1:
            raise fail("padded pooling needs [C, H, W] and padding at most half its window")
        k, s, p = op.kernel_size, op.stride, op.padding
        oh, ow = (first[1] + 2 * p - k) // s + 1, (first[2] + 2 * p - k) // s + 1
        if oh < 1 or ow < 1:
            raise fail(f"a {k}x{k} window does not fit")
        return (first[0], oh, ow)
    if isinstance(op, ClassToken | TokenMean):
        if len(first) != 2:
            raise fail("it needs tokens [T, D]")
        return (first[0] + 1, first[1]) if isinstance(op, ClassToken) else (first[1],)
    try:
        return _out_shape(op, first, node.name)
    except SpecError as err:
        raise SpecError(str(err).replace(f"layer {node.name}", f"node {node.name!r}", 1)) from None


class GraphSpec(BaseModel):
    """A network architecture as a graph: an input shape (no batch dimension) and nodes in an order where every
    node's inputs come before it (checked); the output is the last node."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input_shape: tuple[Size, ...] = Field(max_length=8)
    nodes: list[Node] = Field(min_length=1, max_length=MAX_LAYERS)
    name: str = Field("", max_length=200)

    @model_validator(mode="after")
    def _check(self) -> GraphSpec:
        seen = {"input"}
        for node in self.nodes:
            if node.name in seen:
                raise SpecError(f"node {node.name!r}: the name is used twice (or is 'input')")
            for i in node.inputs:
                if i not in seen:
                    later = any(n.name == i for n in self.nodes)
                    why = "comes later (a cycle, or out of order)" if later else "is no node of this graph"
                    raise SpecError(f"node {node.name!r}: its input {i!r} {why}")
            seen.add(node.name)
        for name, shape in self.shapes().items():
            if math.prod(shape) > MAX_VALUES:
                raise SpecError(
                    f"node {name!r} outputs {math.prod(shape):,} values per example; at most {MAX_VALUES:,}"
                )
        if (n := self.num_params()) > MAX_PARAMS:
            raise SpecError(f"the graph has {n:,} parameters; the most a network may have is {MAX_PARAMS:,}")
        return self

    def shapes(self) -> dict[str, Shape]:
        """Node name -> output shape, the input first."""
        shapes: dict[str, Shape] = {"input": tuple(self.input_shape)}
        for node in self.nodes:
            shapes[node.name] = _node_shape(node, [shapes[i] for i in node.inputs])
        return shapes

    @property
    def output_shape(self) -> Shape:
        return self.shapes()[self.nodes[-1].name]

    def activation_values(self) -> int:
        """Values one example holds from the input to the output (the memory a forward pass keeps)."""
        return sum(math.prod(s) for s in self.shapes().values())

    def state_shapes(self, buffers: bool = True) -> dict[str, Shape]:
        """`<node>.<tensor>` -> shape of every tensor a network of this graph has, in node order (with `buffers`,
        batchnorm's running statistics too)."""
        shapes, out = self.shapes(), {}
        for node in self.nodes:
            inp = shapes[node.inputs[0]]
            for k, v in _tensor_shapes(node.op, inp, shapes[node.name]).items():
                if buffers or k not in BUFFERS:
                    out[f"{node.name}.{k}"] = v
        return out

    def num_params(self) -> int:
        """Number of learnable parameters (batchnorm running statistics not counted)."""
        return sum(math.prod(s) for s in self.state_shapes(buffers=False).values())

    def describe(self) -> list[tuple[str, str, list[str], Shape, int]]:
        """One row per node: name, its op with the attributes set, its inputs, output shape, parameter count."""
        shapes, counts = self.shapes(), {}
        for name, shape in self.state_shapes(buffers=False).items():
            node = name.split(".")[0]
            counts[node] = counts.get(node, 0) + math.prod(shape)
        rows = []
        for node in self.nodes:
            fields = node.op.model_dump(exclude={"kind"}, exclude_defaults=True)
            if isinstance(node.op, Activation) and isinstance(node.op.fn, list):
                fields["fn"] = f"per-unit[{len(node.op.fn)}]"
            desc = node.op.kind + "(" + ", ".join(f"{k}={v}" for k, v in fields.items()) + ")"
            rows.append((node.name, desc, list(node.inputs), shapes[node.name], counts.get(node.name, 0)))
        return rows

    def to_json(self, indent: int | None = None) -> str:
        return self.model_dump_json(indent=indent)

    @classmethod
    def from_json(cls, text: str) -> GraphSpec:
        return cls.model_validate_json(text)

    @classmethod
    def from_chain(cls, spec: ArchSpec) -> GraphSpec:
        """A chain as a graph: layer i becomes node `l<i>`, fed by the one before."""
        nodes, prev = [], "input"
        for i, layer in enumerate(spec.layers):
            nodes.append(Node(name=f"l{i}", op=layer, inputs=[prev]))
            prev = f"l{i}"
        return cls(input_shape=spec.input_shape, nodes=nodes, name=spec.name)


Spec = ArchSpec | GraphSpec  # a chain is written as its layers, so every chain file stays as it was


def load_spec(data: str | dict) -> Spec:
    """A spec from its JSON text or parsed dict: a graph when it has nodes, else a chain."""
    if isinstance(data, str | bytes):
        try:
            data = json.loads(data)
        except ValueError as err:
            raise SpecError(f"a spec must be JSON: {err}") from None
    if not isinstance(data, dict):
        raise SpecError(f"a spec is a JSON object, not {type(data).__name__}")
    return (GraphSpec if "nodes" in data else ArchSpec).model_validate(data)


def as_graph(spec: Spec) -> GraphSpec:
    """Any spec as a graph (a chain's layer i is node `l<i>`)."""
    return spec if isinstance(spec, GraphSpec) else GraphSpec.from_chain(spec)


def chain_only(spec: Spec, what: str) -> ArchSpec:
    """`spec` if it is a chain, else one line saying that `what` reads chains only."""
    if isinstance(spec, GraphSpec):
        label = f" {spec.name!r}" if spec.name else ""
        raise SpecError(f"{what}: only chains of layers are read, and the graph{label} has branches or merges")
    return spec


def chain_names(spec: ArchSpec) -> dict[str, str]:
    """A chain's tensor names ("3.weight") -> its graph's ("l3.weight")."""
    return {k: f"l{k}" for k in spec.state_shapes()}


BUFFERS = ("running_mean", "running_var")


def _tensor_shapes(op, inp: Shape, out: Shape) -> dict[str, Shape]:
    if isinstance(op, Linear):
        return {"weight": (op.out_features, inp[-1])} | ({"bias": (op.out_features,)} if op.bias else {})
    if isinstance(op, Conv2d):
        k = op.kernel_size
        return {"weight": (op.out_channels, inp[0], k, k)} | ({"bias": (op.out_channels,)} if op.bias else {})
    if isinstance(op, BatchNorm):
        c = (inp[0],)
        return {"weight": c, "bias": c, "running_mean": c, "running_var": c}
    if isinstance(op, LayerNorm):
        return {"weight": (inp[-1],), "bias": (inp[-1],)}
    if isinstance(op, Attention):
        d = inp[-1]
        return {f"{p}.{t}": (d, d) if t == "weight" else (d,) for p in "qkvo" for t in ("weight", "bias")}
    if isinstance(op, Patchify):
        return {"weight": (op.dim, inp[0], op.patch, op.patch), "bias": (op.dim,)}
    if isinstance(op, Embedding):
        return {"weight": (op.vocab, op.dim)}
    if isinstance(op, ClassToken):
        return {"token": (inp[-1],)}
    if isinstance(op, Positions):
        return {"embedding": inp}
    return {}


# -- build ------------------------------------------------------------------------------------------------------------
class _Sum(nn.Module):
    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out


class _Concat(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim  # 1: channels or features; 2: the features of tokens [B, T, D]

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return torch.cat(xs, dim=self.dim)


class SelfAttention(nn.Module):
    """Multi-head self-attention with its four projections as named linear layers (q, k, v, o)."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.q, self.k, self.v, self.o = (nn.Linear(dim, dim) for _ in range(4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape

        def split(h: torch.Tensor) -> torch.Tensor:
            return h.view(b, t, self.heads, d // self.heads).transpose(1, 2)

        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        # written out rather than F.scaled_dot_product_attention (the same numbers): vmap, and so the batched
        # engine, has no batching rule for SDPA's CPU kernel and would loop over the networks
        weights = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(d // self.heads), dim=-1)
        return self.o((weights @ v).transpose(1, 2).reshape(b, t, d))


class _Patchify(nn.Module):
    def __init__(self, channels: int, patch: int, dim: int):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(dim, channels, patch, patch))
        self.bias = nn.Parameter(torch.zeros(dim))
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        self.patch = patch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.conv2d(x, self.weight, self.bias, stride=self.patch).flatten(2).transpose(1, 2)


class _Embedding(nn.Embedding):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.long())  # ids may arrive as floats (a batch of numbers like any other input)


class _ClassToken(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.token = nn.Parameter(torch.zeros(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.token.expand(x.shape[0], 1, -1), x], dim=1)


class _Positions(nn.Module):
    def __init__(self, shape: Shape):
        super().__init__()
        self.embedding = nn.Parameter(torch.randn(*shape) * 0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.embedding


class _TokenMean(nn.Module):
    def __init__(self, first: bool):
        super().__init__()
        self.first = first

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, 0] if self.first else x.mean(1)


class _Normalize(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.normalize(x, dim=-1)


class _PrefixSum(nn.Module):
    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        c, s = x.shape[1], skip.shape[1]
        if s >= c:
            return x + skip[:, :c]
        return x + nn.functional.pad(skip, (0, 0) * (skip.dim() - 2) + (0, c - s))


def _graph_module(op, inp: Shape) -> nn.Module:
    if isinstance(op, PrefixAdd):
        return _PrefixSum()
    if isinstance(op, Add):
        return _Sum()
    if isinstance(op, Concat):
        return _Concat(2 if len(inp) == 2 else 1)
    if isinstance(op, Identity):
        return nn.Identity()
    if isinstance(op, Normalize):
        return _Normalize()
    if isinstance(op, LayerNorm):
        return nn.LayerNorm(inp[-1], eps=op.eps)
    if isinstance(op, Attention):
        return SelfAttention(inp[-1], op.heads)
    if isinstance(op, Patchify):
        return _Patchify(inp[0], op.patch, op.dim)
    if isinstance(op, Embedding):
        return _Embedding(op.vocab, op.dim)
    if isinstance(op, ClassToken):
        return _ClassToken(inp[-1])
    if isinstance(op, Positions):
        return _Positions(inp)
    if isinstance(op, TokenMean):
        return _TokenMean(op.first)
    if isinstance(op, PaddedPool):
        cls = nn.AvgPool2d if op.op == "avg" else nn.MaxPool2d
        return cls(op.kernel_size, op.stride, op.padding)
    if isinstance(op, Linear):
        return nn.Linear(inp[-1], op.out_features, bias=op.bias)  # on features or on each token
    return _module(op, inp)


class GraphModule(nn.Module):
    """The module of a GraphSpec: one submodule per node, named as the node, run in the spec's order."""

    def __init__(self, spec: GraphSpec):
        super().__init__()
        self.spec = spec
        self.output = spec.nodes[-1].name  # the node forward returns
        shapes = spec.shapes()
        for node in spec.nodes:
            self.add_module(node.name, _graph_module(node.op, shapes[node.inputs[0]]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.upto(x, self.output)

    def upto(self, x: torch.Tensor, last: str) -> torch.Tensor:
        """The output of node `last` (the logits before a final sigmoid, say)."""
        values = {"input": x}
        for node in self.spec.nodes:
            values[node.name] = getattr(self, node.name)(*(values[i] for i in node.inputs))
            if node.name == last:
                break
        return values[last]


def build_graph(spec: GraphSpec) -> GraphModule:
    """A freshly initialised module whose state_dict names and shapes are `spec.state_shapes()`."""
    return GraphModule(spec)


def build(spec: Spec) -> nn.Module:
    """A freshly initialised module of any spec: an `nn.Sequential` for a chain (tensors "0.weight", ...), a
    GraphModule for a graph (tensors "<node>.weight", ...)."""
    return build_graph(spec) if isinstance(spec, GraphSpec) else build_chain(spec)
