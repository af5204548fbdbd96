"""The multi-scale autoencoder: tokens -> latent z [7, d] -> four depth-specific decoders -> networks.

Training is purely functional: each decoder's network is run on shared probe inputs, and a network's loss is the
smallest output error over the four decoders (multiple-choice learning), so each decoder specialises in the
networks it can express. The paper fine-tunes GPT-2 small (d = 768); pretrained weights cannot be downloaded here,
so the transformers are small and trained from scratch (sizes in `AEConfig`, measured in the README).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field, model_validator
from torch import nn

from weightspace.fileio import SavedModel
from weightspace.seeding import seeded
from weightspace.swat.mlps import MAX_DEPTH, WIDTH, MLPBatch, SwatError, forward, sample
from weightspace.swat.tokens import COLUMNS, parse, soften, tokenise
from weightspace.train import run_steps


class AEConfig(BaseModel):
    """SWAT-NN's autoencoder: latent width, heads, encoder and decoder layers, mixed activations."""

    model_config = ConfigDict(extra="forbid")
    d: int = Field(128, ge=1, le=8192)  # latent width per token (the paper: 768, GPT-2 small)
    heads: int = Field(4, ge=1, le=256)
    encoder_layers: int = Field(3, ge=1, le=256)
    decoder_layers: int = Field(2, ge=1, le=256)
    mixed_activations: bool = False  # train on the authors' softmaxed activation mixtures

    @model_validator(mode="after")
    def _heads_divide_d(self) -> AEConfig:
        if self.d % self.heads:
            raise ValueError(f"d {self.d} must be a multiple of heads {self.heads} (each head takes d / heads)")
        return self


class AETraining(BaseModel):
    """How SWAT-NN's autoencoder is trained: steps, batch of random MLPs, probes, learning rate and
    schedule, seed and evaluation."""

    model_config = ConfigDict(extra="forbid")
    steps: int = 20000
    batch: int = 64  # networks per step, one depth per step as in the authors' generator
    probes: int = 256  # shared inputs U[-1, 1]^2 per batch (the authors: 1,000; 256 halves a CPU step)
    lr: float = 1e-3  # the authors: 1e-4 for GPT-2; small from-scratch transformers train faster at 1e-3
    warmup: int = 500
    clip: float = 1.0
    seed: int = 0
    token_weight: float = 1.0  # auxiliary token reconstruction by the own-depth decoder (0: the paper's loss)
    eval_every: int = 500
    eval_networks: int = 256  # per depth, held out (drawn from a different seed)


def _stack(d: int, heads: int, layers: int) -> nn.TransformerEncoder:
    layer = nn.TransformerEncoderLayer(d, heads, 4 * d, dropout=0.0, batch_first=True, norm_first=True)
    return nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)


class Decoder(nn.Module):
    def __init__(self, config: AEConfig):
        super().__init__()
        self.body = _stack(config.d, config.heads, config.decoder_layers)
        self.norm = nn.LayerNorm(config.d)
        self.out = nn.Linear(config.d, COLUMNS)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.out(self.norm(self.body(z)))


class SwatAutoencoder(SavedModel, nn.Module):
    """An encoder of MLP tokens to one latent point, and one decoder per depth back to an MLP."""

    HEADER, KIND, HINT = "weightspace.swat_ae", "trained autoencoder", "weightspace swat train autoencoder"
    CONFIG, ERROR = AEConfig, SwatError

    def __init__(self, config: AEConfig):
        super().__init__()
        self.config = config
        self.embed = nn.Linear(COLUMNS * 2, config.d)
        self.position = nn.Parameter(torch.randn(WIDTH, config.d) * 0.02)
        self.encoder = _stack(config.d, config.heads, config.encoder_layers)
        self.decoders = nn.ModuleList(Decoder(config) for _ in range(MAX_DEPTH))

    def encode(self, tokens: torch.Tensor) -> torch.Tensor:
        """[B, 7, 56, 2] -> z [B, 7, d]."""
        return self.encoder(self.embed(tokens.flatten(2)) + self.position)

    def decode(self, z: torch.Tensor, depth: int) -> torch.Tensor:
        """Raw token values [B, 7, 56] from the depth-`depth` decoder (activation and gate entries are logits)."""
        return self.decoders[depth - 1](z)


def functional_errors(
    ae: SwatAutoencoder, mlp: MLPBatch, probes: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per network: output MSE of every decoder's reconstruction [B, 4], the target outputs [B, P], and the
    own-depth decoder's token error [B] (weights and biases: MSE; activations: cross-entropy; gates: BCE)."""
    target = forward(mlp, probes)
    z = ae.encode(tokenise(mlp))
    raw = [parse(ae.decode(z, depth), depth) for depth in range(1, MAX_DEPTH + 1)]
    errors = torch.stack([(forward(soften(net), probes) - target).pow(2).mean(1) for net in raw], 1)
    return errors, target, token_error(raw[mlp.depth - 1], mlp)


def token_error(logits: MLPBatch, mlp: MLPBatch) -> torch.Tensor:
    values = sum(
        (a - b).pow(2).flatten(1).sum(1) for a, b in zip(logits.weights + logits.biases, mlp.weights + mlp.biases)
    )
    count = sum(w[0].numel() for w in mlp.weights + mlp.biases)
    act = -(mlp.act * logits.act.log_softmax(-1)).sum(-1).mean((1, 2))
    gate = F.binary_cross_entropy_with_logits(logits.gate, mlp.gate, reduction="none").mean((1, 2))
    return values / count + act + gate


def loss_of(errors: torch.Tensor, target: torch.Tensor, tokens: torch.Tensor, token_weight: float) -> torch.Tensor:
    """Multiple-choice loss: each network counts only through its best decoder.

    Errors are divided by 1 + the network's output variance. Random networks' output variances span five orders
    of magnitude (median ~3, top percent > 10^4 at depth 4), so a plain MSE is decided by a few huge-output
    networks; this scaling keeps small-output networks (the regime of the [-1, 1] regression targets) at plain
    MSE and large ones at relative error.

    `token_weight` adds the own-depth decoder's token error. The paper trains on the functional loss alone over
    ~163 M networks; at the ~1 M a CPU run sees, the functional signal alone left the median held-out network
    worse than a constant fit after 64 k networks, and the token term gives every entry a direct gradient.
    """
    functional = (errors / (1 + target.var(1, keepdim=True))).min(1).values.mean()
    return functional + token_weight * tokens.mean() if token_weight else functional


def _batch(training: AETraining, config: AEConfig, step: int, seed_offset: int = 0) -> tuple[MLPBatch, torch.Tensor]:
    """The networks and probes of one step, a pure function of (seed, step): a resumed run sees the same data."""
    gen = torch.Generator().manual_seed(training.seed * 1_000_003 + step + seed_offset)
    depth = int(torch.randint(1, MAX_DEPTH + 1, (1,), generator=gen))
    mlp = sample(training.batch, depth, gen, mixed_activations=config.mixed_activations)
    probes = torch.rand(training.probes, 2, generator=gen) * 2 - 1
    return mlp, probes


@torch.no_grad()
def evaluate(ae: SwatAutoencoder, training: AETraining, config: AEConfig) -> dict[str, float]:
    """Held-out random networks (a seed training never draws), 1,000 probes: the training loss ("scaled"), mean
    MSE of the best decoder, the same normalised by each network's output variance (median, networks with
    non-constant output), how often the best decoder is the network's own depth, and the own-depth decoder's
    token error."""
    ae.eval()
    device = next(ae.parameters()).device
    gen = torch.Generator().manual_seed(10**9 + training.seed)
    probes = (torch.rand(1000, 2, generator=gen) * 2 - 1).to(device)
    best, scaled, rel, right, tokens = [], [], [], [], []
    for depth in range(1, MAX_DEPTH + 1):
        mlp = sample(training.eval_networks, depth, gen, mixed_activations=config.mixed_activations).to(device)
        errors, target, token_errors = functional_errors(ae, mlp, probes)
        err, which = errors.min(1)
        var = target.var(1)
        best.append(err)
        scaled.append((errors / (1 + target.var(1, keepdim=True))).min(1).values)
        rel.append(err[var > 1e-6] / var[var > 1e-6])
        right.append((which == depth - 1).float())
        tokens.append(token_errors)
    ae.train()
    return {
        "scaled": torch.cat(scaled).mean().item(),
        "mse": torch.cat(best).mean().item(),
        "mse_median": torch.cat(best).median().item(),
        "normalised_median": torch.cat(rel).median().item(),
        "own_depth_decoder": torch.cat(right).mean().item(),
        "token_error": torch.cat(tokens).mean().item(),
    }


def train_autoencoder(
    config: AEConfig,
    training: AETraining,
    checkpoint: str | Path | None = None,
    on_eval: Callable[[dict], None] | None = None,
    device: str = "cpu",
) -> tuple[SwatAutoencoder, list[dict]]:
    """Adam (warm-up, then cosine decay) on freshly sampled networks; with `checkpoint`, progress is saved at
    every evaluation and a rerun resumes there, reproducing the uninterrupted run. Networks and probes are
    drawn on the CPU whatever `device` computes, so the data does not depend on the device."""
    with seeded(training.seed, device):  # the caller's random state is left alone
        ae = SwatAutoencoder(config).to(device)
        opt = torch.optim.Adam(ae.parameters(), lr=training.lr)
        clock = {"start": time.perf_counter(), "seen": 0}

        def step(i: int, carried: dict) -> tuple[torch.Tensor, dict]:
            for group in opt.param_groups:
                group["lr"] = training.lr * _schedule(i, training)
            mlp, probes = _batch(training, config, i)
            loss = loss_of(*functional_errors(ae, mlp.to(device), probes.to(device)), training.token_weight)
            clock["seen"] += training.batch
            return loss, {"train_loss": loss.item()}

        def summarise(done: int, rows: list[dict]) -> dict:
            rate = clock["seen"] / (time.perf_counter() - clock["start"])  # training only, before the evaluation
            row = {"step": done, "train_loss": sum(r["train_loss"] for r in rows) / len(rows)}
            row |= evaluate(ae, training, config) | {"networks_per_s": rate}
            clock["start"], clock["seen"] = time.perf_counter(), 0
            return row

        history = run_steps(
            ae, opt, training.steps, step, training.eval_every, summarise, checkpoint,
            on_log=on_eval, clip=training.clip,
        )  # fmt: skip
        return ae.eval(), history


def _schedule(step: int, training: AETraining) -> float:
    if step < training.warmup:
        return (step + 1) / training.warmup
    progress = (step - training.warmup) / max(1, training.steps - training.warmup)
    return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
