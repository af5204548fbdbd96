"""Training a predictor on a zoo, evaluating it, and embedding a zoo.

A zoo's rows are read into `Part`s, one per weight shape (a varied zoo may hold several specs of one shape).
Splits go by model id, so the checkpoints of one network never straddle train and test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict
from scipy.stats import kendalltau

from weightspace.encode.predictor import EncoderConfig, Predictor, Task
from weightspace.encode.weights import EncodeError, WeightBatch
from weightspace.seeding import seeded
from weightspace.zoo import Zoo


@dataclass
class Part:
    """Networks of one weight shape: their weights, targets and row positions in the zoo table."""

    batch: WeightBatch
    target: torch.Tensor
    rows: np.ndarray = field(default_factory=lambda: np.zeros(0, int))

    def __len__(self) -> int:
        return len(self.rows)


def read_parts(zoo: Zoo, target: str | None = None, rows: np.ndarray | None = None) -> list[Part]:
    """The zoo's networks (all rows, or `rows`), grouped by weight shape, with the raw target column."""
    table = zoo.table
    if target is not None and target not in table.columns:
        raise EncodeError(f"the zoo has no column {target!r}; columns: {', '.join(table.columns)}")
    rows = np.arange(len(table)) if rows is None else np.asarray(rows)
    spec_col = table["spec"].to_numpy() if "spec" in table.columns else np.zeros(len(table), int)
    by_shape: dict[str, list[int]] = {}
    for k in np.unique(spec_col[rows]):
        key = str(zoo.specs[int(k)].state_shapes())
        by_shape.setdefault(key, []).extend(rows[spec_col[rows] == k].tolist())
    parts = []
    for members in by_shape.values():
        members = np.sort(np.asarray(members))
        batch = WeightBatch.of(zoo.batch(members.tolist()))
        values = table[target].to_numpy()[members] if target else np.zeros(len(members))
        parts.append(Part(batch, values, members))
    return parts


def infer_task(values: pd.Series) -> Task:
    """The prediction task a zoo column asks for: probability, regression or classes."""
    if pd.api.types.is_float_dtype(values) and values.between(0, 1).all():
        return "probability"
    if pd.api.types.is_float_dtype(values):
        return "regression"
    return "classes"


def encode_targets(parts: list[Part], config: EncoderConfig) -> list[Part]:
    """Targets as the loss wants them: probabilities, standardised values or class indices."""
    out = []
    for p in parts:
        raw = p.target
        if config.task == "classes":
            index = {c: i for i, c in enumerate(config.classes)}
            unknown = sorted({v for v in raw.tolist() if v not in index})
            if unknown:
                raise EncodeError(f"classes {unknown} were not seen in training (known: {config.classes})")
            t = torch.tensor([index[v] for v in raw.tolist()])
        elif config.task == "regression":
            t = (torch.as_tensor(raw, dtype=torch.float32) - config.target_mean) / config.target_std
        else:
            t = torch.as_tensor(raw, dtype=torch.float32)
        out.append(Part(p.batch, t, p.rows))
    return out


class FitConfig(BaseModel):
    """How an encoder is trained: epochs, batch, learning rate and weight decay, the logit-invariance
    weight, seed and augmentations."""

    model_config = ConfigDict(extra="forbid")
    epochs: int = 50
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 0.0
    li_weight: float = 1.0  # logit-invariance regulariser (SNE); 0 turns it off
    seed: int = 0
    # each training batch is replaced by a random symmetric twin: hidden units reordered ("permute"), and/or
    # sign-flipped ("sign-flip": odd activations only, the sine networks' symmetry ScaleGMN builds in)
    augment: list[Literal["permute", "sign-flip"]] = []
    # the dense path for large zoos on a GPU: the training step through torch.compile, and bf16 autocast (CUDA)
    compile: bool = False
    bf16: bool = False


def task_loss(out: torch.Tensor, target: torch.Tensor, task: Task) -> torch.Tensor:
    if task == "probability":
        return F.binary_cross_entropy_with_logits(out[:, 0], target)
    if task == "regression":
        return F.mse_loss(out[:, 0], target)
    return F.cross_entropy(out, target)


Minibatch = list[tuple[int, torch.Tensor]]  # (part, row indices) groups that make one minibatch


def minibatches(parts: list[Part], size: int, generator: torch.Generator | None) -> list[Minibatch]:
    """Minibatches covering every network once, shuffled when a generator is given. A part of at least `size`
    networks is cut into minibatches of its own; smaller parts (a wild zoo has one per architecture) are pooled,
    so their minibatches mix architectures."""
    jobs: list[Minibatch] = []
    pool: list[tuple[int, int]] = []
    for k, p in enumerate(parts):
        order = torch.randperm(len(p), generator=generator) if generator is not None else torch.arange(len(p))
        if len(p) >= size:
            jobs += [[(k, order[i : i + size])] for i in range(0, len(p), size)]
        else:
            pool += [(k, int(i)) for i in order]
    if pool and generator is not None:
        pool = [pool[i] for i in torch.randperm(len(pool), generator=generator)]
    for start in range(0, len(pool), size):
        groups: dict[int, list[int]] = {}
        for k, i in pool[start : start + size]:
            groups.setdefault(k, []).append(i)
        jobs.append([(k, torch.tensor(rows)) for k, rows in groups.items()])
    if generator is not None:
        jobs = [jobs[i] for i in torch.randperm(len(jobs), generator=generator)]
    return jobs


def _forward(model: Predictor, batches: list[WeightBatch]) -> torch.Tensor:
    """The predictor on one minibatch of several architectures: each encoded apart, the head over them all."""
    if len(batches) == 1:
        return model(batches[0])
    return model.head(torch.cat([model.encoder(b) for b in batches]))


def fit_predictor(
    model: Predictor,
    train: list[Part],
    val: list[Part] | None,
    config: FitConfig,
    on_epoch: Callable[[int, float, float | None], None] | None = None,
    device: str = "cpu",
) -> list[dict]:
    """Adam on the task loss (+ logit invariance); keeps the weights of the epoch with the best val loss."""
    with seeded(config.seed, device):  # the caller's random state is left alone
        gen = torch.Generator().manual_seed(config.seed)
        device = torch.device(device)
        model.to(device)
        # the training set moves to the device once; each step then indexes it there (no copies from the host)
        train = [Part(p.batch.to(device), p.target.to(device), p.rows) for p in train]
        step_model = torch.compile(model, dynamic=False) if config.compile else model
        autocast = torch.autocast("cuda", torch.bfloat16, enabled=config.bf16 and device.type == "cuda")
        opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        task = model.config.task
        # an encoder invariant by construction needs neither symmetric twins nor the loss that asks for invariance
        invariant = getattr(model.encoder, "invariant", False)
        history, best, best_state = [], float("inf"), None
        for epoch in range(1, config.epochs + 1):
            model.train()
            total, count = torch.zeros((), dtype=torch.float64, device=device), 0  # summed there: no sync a step
            for groups in minibatches(train, config.batch_size, gen):
                n = sum(len(idx) for _, idx in groups)
                if n < 2:
                    continue  # batchnorm cannot standardise one network
                target = torch.cat([train[k].target[idx] for k, idx in groups])
                batches = []
                for k, idx in groups:
                    batch = train[k].batch.index(idx)
                    if "permute" in config.augment and not invariant:
                        batch = batch.shuffled(gen)
                    if "sign-flip" in config.augment and not invariant:
                        batch = batch.sign_flipped(gen)
                    batches.append(batch)
                with autocast:
                    out = _forward(step_model, batches).float()
                    loss = task_loss(out, target, task)
                    if config.li_weight and not invariant:
                        twin = _forward(step_model, [b.shuffled(gen) for b in batches]).float()
                        loss = loss + config.li_weight * 0.5 * (out - twin).pow(2).sum(1).mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
                total, count = total + loss.detach().double() * n, count + n
            total = total.item()
            recompute_batchnorm(model, train, config.batch_size, device)
            val_loss = evaluate_loss(model, val, config.batch_size, device) if val else None
            history.append({"epoch": epoch, "train_loss": total / max(count, 1), "val_loss": val_loss})
            if on_epoch:
                on_epoch(epoch, total / max(count, 1), val_loss)
            score = val_loss if val_loss is not None else -epoch
            if score < best:
                best, best_state = score, {k: v.detach().clone() for k, v in model.state_dict().items()}
        if best_state is not None:
            model.load_state_dict(best_state)
        return history


@torch.no_grad()
def recompute_batchnorm(model: Predictor, parts: list[Part], batch_size: int, device) -> None:
    """Batchnorm statistics over the whole training set with the current weights ("precise BN").

    The running averages lag behind an encoder that is still moving; evaluating with them gave val losses 10x off.
    """
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average
    model.train()
    for groups in minibatches(parts, max(batch_size, 2), None):
        if sum(len(idx) for _, idx in groups) > 1:
            _forward(model, [parts[k].batch.index(idx).to(device) for k, idx in groups])
    for m, momentum in zip(norms, momenta):
        m.momentum = momentum


@torch.no_grad()
def outputs(model: Predictor, parts: list[Part], batch_size: int = 64, device: str | torch.device = "cpu", fn=None):
    """fn(model, batch) (default: the raw outputs) for every network, in part order."""
    model.eval().to(device)
    fn = fn or (lambda m, b: m(b))
    res = []
    for p in parts:
        for i in range(0, len(p), batch_size):
            res.append(fn(model, p.batch.index(slice(i, i + batch_size)).to(device)).cpu())
    return torch.cat(res)


def evaluate_loss(model: Predictor, parts: list[Part], batch_size: int, device) -> float:
    out = outputs(model, parts, batch_size, device)
    return task_loss(out, torch.cat([p.target for p in parts]), model.config.task).item()


def predict(model: Predictor, parts: list[Part], batch_size: int = 64, device="cpu") -> np.ndarray:
    """The property in its own units (probability, value, or class label) for every network, in part order."""
    pred = outputs(model, parts, batch_size, device, fn=lambda m, b: m.predict(b)).numpy()
    if model.config.task == "classes":
        return np.asarray(model.config.classes, dtype=object)[pred]
    return pred


def metrics(pred: np.ndarray, true: np.ndarray, task: Task) -> dict[str, float]:
    """Kendall's tau, R^2 and MSE for numbers; accuracy for classes."""
    if task == "classes":
        return {"accuracy": float(np.mean(pred.astype(str) == true.astype(str)))}
    pred, true = pred.astype(float), true.astype(float)
    mse = float(np.mean((pred - true) ** 2))
    var = float(np.var(true))
    return {
        "tau": float(kendalltau(pred, true).statistic),
        "r2": 1 - mse / var if var > 0 else float("nan"),
        "mse": mse,
    }


def permutation_gap(model: Predictor, parts: list[Part], seed: int = 0, networks: int = 64) -> float:
    """Largest |f(x) - f(g x)| over (up to `networks` of) the networks and one random symmetry permutation g each,
    applied to the whole network (`WeightBatch.twins`), not through the encoders' own permutation code."""
    gen = torch.Generator().manual_seed(seed)
    model.eval()
    gap, seen = 0.0, 0
    with torch.no_grad():
        for p in parts:
            batch = p.batch.index(slice(0, networks - seen))
            if len(batch) == 0:
                break
            gap = max(gap, (model(batch) - model(batch.twins(gen))).abs().max().item())
            seen += len(batch)
    return gap
