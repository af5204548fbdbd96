"""An encoder plus the head that predicts one property from its embedding; config, build, save and load."""

from __future__ import annotations

import math
from typing import Literal

import torch
from pydantic import BaseModel, ConfigDict
from torch import nn

from weightspace.encode.baselines import NFN, DeepSets, FlatMLP, StatNN
from weightspace.encode.graph import GraphEncoder
from weightspace.encode.probe import ProbeEncoder
from weightspace.encode.sne import SNE
from weightspace.encode.weights import EncodeError, WeightBatch
from weightspace.fileio import SavedModel

ENCODERS = ("sne", "mlp", "statnn", "deepsets", "nfn-np", "nfn-hnp", "graph", "probe")
Task = Literal["regression", "probability", "classes"]


class EncoderConfig(BaseModel):
    """Everything needed to rebuild a trained predictor (its weights live in the .safetensors beside)."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["sne", "mlp", "statnn", "deepsets", "nfn-np", "nfn-hnp", "graph", "probe"] = "sne"
    dim: int = 32  # embedding size
    width: int = 32  # set-function / NFN channel width
    heads: int = 4
    depth: int = 2  # SABs per set-to-set (SNE); message-passing rounds (graph)
    chunk_size: int = 16
    kernel_max: int = 5
    positional: bool = True  # SNE's type/level encodings (off: the no-PE ablation)
    weight_scale: float = 1.0  # SNE reads weights / this: the training zoo's RMS weight (set by training)
    canonical: bool = False  # SNE sorts hidden units into one order first: exactly permutation invariant
    hidden: int = 256  # flat MLP / StatNN hidden width
    probes: int = 32  # probing encoder: how many learned inputs
    probe_generator: Literal["none", "deep-linear"] = "none"  # free probes, or ProbeGen's deep linear generator
    head_width: int = 512
    target: str = "test_accuracy"
    task: Task = "probability"
    classes: list[int | str] = []
    target_mean: float = 0.0  # regression targets are learned standardised
    target_std: float = 1.0
    # the training architecture's layer shapes: fixed-shape encoders (mlp, statnn, nfn) are built for it
    shapes: list[list[int]] = []
    has_bias: list[bool] = []
    spread: list[int] = []
    # ... and what it reads and outputs (the probing encoder feeds its inputs and reads its outputs)
    input_shape: list[int] = []
    net_outputs: int = 0

    def with_example(self, batch: WeightBatch) -> EncoderConfig:
        update = {
            "shapes": [list(w.shape[1:]) for w in batch.weights],
            "has_bias": [b is not None for b in batch.biases],
            "spread": list(batch.spread),
        }
        if batch.source is not None:
            spec = batch.source.spec
            update |= {"input_shape": list(spec.input_shape), "net_outputs": math.prod(spec.output_shape)}
        return self.model_copy(update=update)

    def example(self) -> WeightBatch:
        """Two all-zero networks of the training architecture."""
        if not self.shapes:
            raise EncodeError("this encoder config records no training architecture")
        weights = tuple(torch.zeros(2, *s) for s in self.shapes)
        biases = tuple(torch.zeros(2, s[0]) if b else None for s, b in zip(self.shapes, self.has_bias))
        return WeightBatch(weights, biases, tuple(self.spread), (None,) * len(weights))

    @property
    def outputs(self) -> int:
        return len(self.classes) if self.task == "classes" else 1


def build_encoder(config: EncoderConfig) -> nn.Module:
    kind = config.kind
    if kind == "sne":
        return SNE(
            config.dim,
            config.width,
            config.heads,
            config.depth,
            config.chunk_size,
            config.kernel_max,
            config.positional,
            config.weight_scale,
            config.canonical,
        )
    if kind == "probe":
        if not config.input_shape or not config.net_outputs:
            raise EncodeError("this encoder config records no training architecture to probe")
        return ProbeEncoder(tuple(config.input_shape), config.net_outputs, config.dim, 2 * config.width,
                            config.probes, config.probe_generator)  # fmt: skip
    if kind == "graph":
        return GraphEncoder(config.dim, config.width, config.depth, config.kernel_max)
    if kind == "deepsets":
        return DeepSets(config.dim, 2 * config.width, config.chunk_size, config.kernel_max)
    if kind == "mlp":
        return FlatMLP(config.example(), config.dim, config.hidden)
    if kind == "statnn":
        return StatNN(config.example(), config.dim, config.hidden)
    return NFN(config.example(), config.dim, config.width, hnp=kind == "nfn-hnp")


class Predictor(SavedModel, nn.Module):
    """encoder -> z -> batch-standardised z -> two hidden layers of head_width -> the property.

    Set encoders pool thousands of weights, so at initialisation their embeddings differ between networks by
    ~1% of their size; standardising z across networks lets the head see those differences from the first step.
    """

    def __init__(self, config: EncoderConfig):
        super().__init__()
        self.config = config
        self.encoder = build_encoder(config)
        w = config.head_width
        self.head = nn.Sequential(
            nn.BatchNorm1d(config.dim),
            nn.Linear(config.dim, w),
            nn.ReLU(),
            nn.Linear(w, w),
            nn.ReLU(),
            nn.Linear(w, config.outputs),
        )

    def forward(self, batch: WeightBatch) -> torch.Tensor:
        return self.head(self.encoder(batch))

    def embed(self, batch: WeightBatch) -> torch.Tensor:
        return self.encoder(batch)

    def predict(self, batch: WeightBatch) -> torch.Tensor:
        """The property in its own units: a probability, a value, or a class index."""
        out = self(batch)
        c = self.config
        if c.task == "probability":
            return torch.sigmoid(out[:, 0])
        if c.task == "regression":
            return out[:, 0] * c.target_std + c.target_mean
        return out.argmax(1)

    # -- files: NAME.safetensors (weights) + NAME.json (config) --------------------------------------------------
    HEADER, KIND, HINT = "weightspace.encoder", "trained encoder", "weightspace encode train"
    CONFIG, ERROR = EncoderConfig, EncodeError
