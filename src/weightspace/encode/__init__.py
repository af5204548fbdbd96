"""Encode networks as vectors from their weights: SNE and its baselines, trained to predict properties."""

from weightspace.encode.fit import FitConfig, Part, fit, metrics, permutation_gap, predict, read_parts
from weightspace.encode.model import ENCODERS, EncoderConfig, Predictor
from weightspace.encode.pipeline import (
    embed_zoo,
    evaluate_on_zoo,
    plot_embedding,
    plot_predictions,
    split_rows,
    train_on_zoo,
)
from weightspace.encode.sne import SNE
from weightspace.encode.weights import EncodeError, WeightBatch

__all__ = [
    "ENCODERS",
    "SNE",
    "EncodeError",
    "EncoderConfig",
    "FitConfig",
    "Part",
    "Predictor",
    "WeightBatch",
    "embed_zoo",
    "evaluate_on_zoo",
    "fit",
    "metrics",
    "permutation_gap",
    "plot_embedding",
    "plot_predictions",
    "predict",
    "read_parts",
    "split_rows",
    "train_on_zoo",
]
