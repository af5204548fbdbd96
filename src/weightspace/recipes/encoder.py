"""The encoder recipe: zoo in, trained predictor out (`weightspace encode train|eval|embed` and the encode
benchmarks call these)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import get_args

import numpy as np
import pandas as pd
import torch
from safetensors.torch import save_file

import weightspace.encode as enc
from weightspace.errors import WeightspaceError
from weightspace.fileio import atomic_path
from weightspace.nets import count_parameters, sign_symmetric
from weightspace.recipes.base import RecipeConfig
from weightspace.seeding import seeded
from weightspace.zoo import SPLITS, Zoo, beside, zoo_split


def split_rows(zoo: Zoo, split: str, seed: int = 0) -> np.ndarray:
    """Row positions of 'train', 'val', 'test' or 'all'. A zoo whose `split` column gives every row one of train,
    val, test (INR sets: the dataset's own split) keeps it; any other zoo is split by model id with `seed`."""
    if split == "all":
        return np.arange(len(zoo))
    if split not in SPLITS:
        raise WeightspaceError(f"split {split!r} unknown; choose train, val, test or all")
    return np.flatnonzero((zoo_split(zoo.table, seed) == split).to_numpy())


def rms_weight(parts: list[enc.Part]) -> float:
    """Root mean square of every weight and bias of the networks in `parts`."""
    total, count = 0.0, 0
    for p in parts:
        for t in (*p.batch.weights, *(b for b in p.batch.biases if b is not None)):
            total, count = total + t.double().pow(2).sum().item(), count + t.numel()
    return (total / count) ** 0.5 if total > 0 else 1.0


def prepare(config: enc.EncoderConfig, train: list[enc.Part], task: enc.Task | None, table_column) -> enc.EncoderConfig:
    """Fill in what the training data decides: task, classes, target and weight scaling, training architecture."""
    task = task or enc.infer_task(table_column)
    if task in ("regression", "probability") and not pd.api.types.is_numeric_dtype(table_column):
        raise WeightspaceError(
            f"--task {task} needs a numeric column; {table_column.name!r} holds {table_column.dtype} values "
            "(use --task classes)"
        )
    update: dict = {"task": task}
    raw = np.concatenate([p.target for p in train])
    if task == "classes":
        update["classes"] = sorted({v.item() if hasattr(v, "item") else v for v in raw})
    if task == "regression":
        update["target_mean"], update["target_std"] = float(raw.mean()), float(raw.std() or 1.0)
    update["weight_scale"] = rms_weight(train)
    kernels = [w.shape[-1] for p in train for w in p.batch.weights if w.dim() == 5]
    if kernels and max(kernels) > config.kernel_max and max(kernels) % 2 == config.kernel_max % 2:
        update["kernel_max"] = max(kernels)  # the training zoo's largest kernel fits
    return config.model_copy(update=update).with_example(train[0].batch)


def train_on_zoo(
    zoo: Zoo,
    config: enc.EncoderConfig,
    fit_config: enc.FitConfig,
    task: enc.Task | None = None,
    split_seed: int = 0,
    on_epoch: Callable[[int, float, float | None], None] | None = None,
    device: str = "cpu",
) -> tuple[enc.Predictor, dict]:
    """Train on the zoo's train split (best val epoch kept); report test metrics and predictions, the symmetry gap,
    timings."""
    if task is not None and task not in get_args(enc.Task):
        raise WeightspaceError(f"task {task!r} unknown; choose {', '.join(get_args(enc.Task))} (or leave it out)")
    if config.target not in zoo.table.columns:
        raise WeightspaceError(f"no column {config.target!r} to predict; columns: {', '.join(zoo.table.columns)}")
    if "sign-flip" in fit_config.augment and not all(sign_symmetric(spec) for spec in zoo.specs):
        raise WeightspaceError("sign-flip augmentation needs odd hidden activations (sin, tanh) throughout")
    rows = {s: split_rows(zoo, s, split_seed) for s in SPLITS}
    ids = zoo.table["model_id"] if "model_id" in zoo.table.columns else zoo.table.index.to_series()
    networks = {s: ids.iloc[r].nunique() for s, r in rows.items()}
    if networks["train"] < 2 or networks["test"] < 2:
        sizes = ", ".join(f"{s} {n}" for s, n in networks.items())
        raise WeightspaceError(
            f"this zoo's networks split into {sizes}: an encoder needs at least 2 train and 2 test networks to "
            "train and be scored (rank correlation is undefined on fewer); use a larger zoo"
        )
    raw = {s: enc.read_parts(zoo, config.target, r) for s, r in rows.items()}
    config = prepare(config, raw["train"], task, zoo.table[config.target])
    parts = {s: enc.encode_targets(p, config) for s, p in raw.items()}
    with seeded(fit_config.seed, device):  # the caller's random state is left alone
        model = enc.Predictor(config)
        start = time.perf_counter()
        history = enc.fit_predictor(model, parts["train"], parts["val"], fit_config, on_epoch, device)
        seconds = time.perf_counter() - start
        model.cpu().eval()
        scores, pred, true = evaluate_parts(model, raw["test"])
        report = {
            "encoder": config.kind,
            "target": config.target,
            "task": config.task,
            "train_networks": sum(len(p) for p in parts["train"]),
            "test": scores,
            "test_predictions": {"predicted": pred.tolist(), "true": true.tolist()},  # in the test parts' order
            "permutation_gap": enc.permutation_gap(model, parts["test"]),
            "seconds_per_epoch": seconds / max(len(history), 1),
            "encoder_parameters": count_parameters(model.encoder),
            "history": history,
        }
        return model, report


def evaluate_parts(model: enc.Predictor, parts: list[enc.Part]) -> tuple[dict[str, float], np.ndarray, np.ndarray]:
    """Metrics, predictions and true values (raw targets, in part order)."""
    pred = enc.predict(model, parts)
    true = np.concatenate([p.target for p in parts])
    return enc.metrics(pred, true, model.config.task), pred, true


def evaluate_on_zoo(model: enc.Predictor, zoo: Zoo, split: str = "test", split_seed: int = 0):
    """Metrics, predictions and true values on a zoo (the training zoo's test split, or any other zoo)."""
    return evaluate_parts(model, enc.read_parts(zoo, model.config.target, split_rows(zoo, split, split_seed)))


def embed_zoo(model: enc.Predictor, zoo: Zoo, name: str = "encoder") -> Path:
    """One embedding per row, written next to the zoo: ROOT/embeddings/NAME.safetensors (embedding, row)."""
    parts = enc.read_parts(zoo)
    emb = enc.outputs(model, parts, fn=lambda m, b: m.embed(b))
    rows = torch.from_numpy(np.concatenate([p.rows for p in parts]))
    order = rows.argsort()
    path = beside(zoo.root, "embeddings") / f"{name}.safetensors"
    with atomic_path(path) as tmp:
        save_file({"embedding": emb[order].contiguous(), "row": rows[order].contiguous()}, tmp)
    return path


class EncoderTrainingConfig(RecipeConfig):
    zoo: Path
    encoder: enc.EncoderConfig
    fit: enc.FitConfig = enc.FitConfig()
    task: enc.Task | None = None  # default: from the target column
    split_seed: int = 0


def run(config: EncoderTrainingConfig, out: str | Path, device: str = "cpu", on_epoch=None) -> dict:
    """Train on the zoo's train split; OUT.safetensors (+ .json), OUT.report.json and OUT.png (predicted vs true)."""
    from weightspace.fileio import write_json
    from weightspace.report import plot_predictions

    zoo = Zoo.open(config.zoo)
    model, report = train_on_zoo(zoo, config.encoder, config.fit, config.task, config.split_seed, on_epoch, device)
    path = model.save(out)
    write_json(path.with_name(path.stem + ".report.json"), {"kind": "encoder"} | report)
    pred, true = (np.asarray(report["test_predictions"][k]) for k in ("predicted", "true"))
    title = f"{config.encoder.kind} on {zoo.root.name}"
    plot = plot_predictions(pred, true, model.config.task, path.with_suffix(".png"), title)
    return report | {"model": str(path), "plot": str(plot)}
