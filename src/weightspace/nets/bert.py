"""BERT-family text encoders as graphs: Hugging Face's `BertModel` and the sentence-transformers pipelines built on
it (MiniLM among them), read from a live module or from their files.

torch.fx cannot trace them (their forward builds masks and caches in Python), so they are read from their
configuration and tensor names: word embedding, learned positions, post-norm encoder layers (attention, add,
layernorm; linear, activation, linear, add, layernorm), then the pipeline's pooling and unit-length scaling. The
graph takes a fixed number of tokens with no padding (every attention mask one), so the positions are the first
`tokens` rows of the position table with the token-type-0 row added (BERT adds both to every token). A module read
here is checked against its own forward, as a traced one is (`nets.trace`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from weightspace.errors import SpecError
from weightspace.nets.graph import (
    Add,
    Attention,
    Embedding,
    GraphSpec,
    LayerNorm,
    Node,
    Normalize,
    Positions,
    TokenMean,
)
from weightspace.nets.spec import Activation, Linear

ACTIVATIONS = {"gelu": "gelu", "relu": "relu", "tanh": "tanh"}  # Hugging Face's hidden_act -> ours (exact GELU)
POOLINGS = {"mean": TokenMean(), "cls": TokenMean(first=True), "none": None}  # sentence-transformers' modes


@dataclass(frozen=True)
class BertShape:
    """What a BERT configuration fixes: sizes, the activation and the layernorm's epsilon."""

    vocab: int
    hidden: int
    heads: int
    layers: int
    intermediate: int
    positions: int
    eps: float
    act: str

    @classmethod
    def from_config(cls, config: dict, where: str) -> BertShape:
        """The shape of a Hugging Face BERT `config.json` (as a dict); one error naming what is not read."""
        if config.get("model_type") != "bert":
            raise SpecError(f"{where}: model_type {config.get('model_type')!r} is not read (only 'bert')")
        if config.get("position_embedding_type", "absolute") != "absolute":
            raise SpecError(f"{where}: only absolute position embeddings are read")
        if config.get("is_decoder") or config.get("add_cross_attention"):
            raise SpecError(f"{where}: only encoders are read (no decoder, no cross-attention)")
        act = config.get("hidden_act")
        if act not in ACTIVATIONS:
            raise SpecError(f"{where}: hidden_act {act!r} is not read (one of {', '.join(ACTIVATIONS)})")
        keys = ("vocab_size", "hidden_size", "num_attention_heads", "num_hidden_layers", "intermediate_size",
                "max_position_embeddings")  # fmt: skip
        try:
            sizes = {k: int(config[k]) for k in keys}
            eps = float(config.get("layer_norm_eps", 1e-12))
        except (KeyError, TypeError, ValueError) as err:
            raise SpecError(f"{where}: its config lacks a size or has one that is not a number ({err})") from None
        if sizes["hidden_size"] % max(sizes["num_attention_heads"], 1):
            raise SpecError(f"{where}: hidden_size {sizes['hidden_size']} is not a multiple of its "
                            f"{sizes['num_attention_heads']} attention heads")  # fmt: skip
        return cls(sizes["vocab_size"], sizes["hidden_size"], sizes["num_attention_heads"],
                   sizes["num_hidden_layers"], sizes["intermediate_size"], sizes["max_position_embeddings"], eps,
                   ACTIVATIONS[act])  # fmt: skip


def bert_spec(shape: BertShape, tokens: int, pooling: str = "mean", normalize: bool = False, name: str = "bert"):
    """The GraphSpec of a BERT encoder on `tokens` token ids, then `pooling` ("mean", "cls" or "none": the
    tokens themselves) and, with `normalize`, scaling to unit length."""
    if not 1 <= tokens <= shape.positions:
        raise SpecError(f"{name}: tokens must be 1..{shape.positions} (its position table), not {tokens}")
    if pooling not in POOLINGS:
        raise SpecError(f"{name}: pooling {pooling!r} is not read (one of {', '.join(POOLINGS)})")
    nodes: list[Node] = []

    def add(node: str, op, *inputs: str) -> str:
        nodes.append(Node(name=node, op=op, inputs=list(inputs)))
        return node

    x = add("embed", Embedding(vocab=shape.vocab, dim=shape.hidden), "input")
    x = add("embed_norm", LayerNorm(eps=shape.eps), add("positions", Positions(), x))
    for i in range(shape.layers):
        h = add(f"l{i}_attn_add", Add(), add(f"l{i}_attn", Attention(heads=shape.heads), x), x)
        x = add(f"l{i}_attn_norm", LayerNorm(eps=shape.eps), h)
        h = add(f"l{i}_act", Activation(fn=shape.act), add(f"l{i}_fc1", Linear(out_features=shape.intermediate), x))
        x = add(f"l{i}_norm", LayerNorm(eps=shape.eps),
                add(f"l{i}_add", Add(), add(f"l{i}_fc2", Linear(out_features=shape.hidden), h), x))  # fmt: skip
    if POOLINGS[pooling] is not None:
        x = add("pool", POOLINGS[pooling], x)
    if normalize:
        add("normalize", Normalize(), x)
    return GraphSpec(input_shape=(tokens,), nodes=nodes, name=name)


def _names(layers: int) -> dict[str, str]:
    """Spec tensor -> Hugging Face BertModel tensor (the positions are made apart)."""
    names = {"embed.weight": "embeddings.word_embeddings.weight"}
    parts = {"attn.q": "attention.self.query", "attn.k": "attention.self.key", "attn.v": "attention.self.value",
             "attn.o": "attention.output.dense", "attn_norm": "attention.output.LayerNorm",
             "fc1": "intermediate.dense", "fc2": "output.dense", "norm": "output.LayerNorm"}  # fmt: skip
    for t in ("weight", "bias"):
        names[f"embed_norm.{t}"] = f"embeddings.LayerNorm.{t}"
        for i in range(layers):
            names |= {f"l{i}_{mine}.{t}": f"encoder.layer.{i}.{theirs}.{t}" for mine, theirs in parts.items()}
    return names


def bert_tensors(spec: GraphSpec, shape: BertShape, state: dict[str, torch.Tensor], where: str):
    """The tensors of `spec` (from `bert_spec`) out of a BertModel state dict (names as Hugging Face saves them,
    with or without a "bert." prefix): float32 copies, shapes checked, the token-type-0 row folded into the
    positions."""
    if "bert.embeddings.word_embeddings.weight" in state:
        state = {k.removeprefix("bert."): v for k, v in state.items()}

    def take(name: str) -> torch.Tensor:
        if name not in state:
            raise SpecError(f"{where}: tensor {name} is missing")
        value = state[name]
        if not value.is_floating_point() or not bool(torch.isfinite(value).all()):
            raise SpecError(f"{where}: tensor {name} is not finite floating point")
        return value.detach().float().cpu()

    tokens = spec.input_shape[0]
    table, types = take("embeddings.position_embeddings.weight"), take("embeddings.token_type_embeddings.weight")
    if table.dim() != 2 or types.dim() != 2 or table.shape[0] < tokens or types.shape[1:] != table.shape[1:]:
        raise SpecError(f"{where}: position table {list(table.shape)} and token types {list(types.shape)} do not "
                        f"fit {tokens} tokens of {shape.hidden} features")  # fmt: skip
    params = {mine: take(theirs).clone() for mine, theirs in _names(shape.layers).items()}
    params["positions.embedding"] = table[:tokens] + types[0]
    for name, want in spec.state_shapes().items():
        if tuple(params[name].shape) != tuple(want):
            raise SpecError(f"{where}: {name} has shape {list(params[name].shape)}, its config needs {list(want)}")
    return params


# -- live modules --------------------------------------------------------------------------------------------------
def _is_bert(module: nn.Module) -> bool:
    config = getattr(module, "config", None)
    return (
        getattr(config, "model_type", None) == "bert" and hasattr(module, "embeddings") and hasattr(module, "encoder")
    )


def _pipeline_parts(module: nn.Module):
    """(BertModel, pooling mode, normalize) of a sentence-transformers pipeline, or None when `module` is not one."""
    children = list(module.children()) if isinstance(module, nn.Sequential) else []
    if not children:
        return None
    bert = next((m for m in children[0].modules() if _is_bert(m)), None)
    kinds = [type(m).__name__ for m in children[1:]]
    if bert is None or kinds not in (["Pooling"], ["Pooling", "Normalize"]):
        return None
    pooling = getattr(children[1], "pooling_mode", None)
    if pooling not in ("mean", "cls") or getattr(children[1], "include_prompt", True) is not True:
        raise SpecError(f"{type(module).__name__}: pooling {pooling!r} is not read (mean or cls)")
    return bert, pooling, kinds[-1] == "Normalize"


def read_bert_module(module: nn.Module, input_shape, name: str = ""):
    """(spec, tensors, forward on token ids) of a live BertModel or sentence-transformers pipeline over it, or None
    when `module` is neither."""
    if _is_bert(module):
        bert, pooling, normalize = module, "none", False

        def forward(ids: torch.Tensor) -> torch.Tensor:
            return module(input_ids=ids).last_hidden_state

    elif (parts := _pipeline_parts(module)) is not None:
        bert, pooling, normalize = parts

        def forward(ids: torch.Tensor) -> torch.Tensor:
            return module({"input_ids": ids, "attention_mask": torch.ones_like(ids)})["sentence_embedding"]

    else:
        return None
    where = type(module).__name__
    if len(input_shape) != 1:
        raise SpecError(f"{where}: a text encoder reads token ids of shape (tokens,), not {tuple(input_shape)}")
    shape = BertShape.from_config(bert.config.to_dict(), where)
    spec = bert_spec(shape, int(input_shape[0]), pooling, normalize, name or f"bert-{shape.layers}x{shape.hidden}")
    return spec, bert_tensors(spec, shape, bert.state_dict(), where), forward
