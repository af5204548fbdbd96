"""Encode networks as vectors from their weights: SNE and its baselines, trained to predict properties."""

from weightspace.encode.fit import (
    FitConfig,
    Part,
    encode_targets,
    fit_predictor,
    infer_task,
    metrics,
    outputs,
    permutation_gap,
    predict,
    read_parts,
)
from weightspace.encode.predictor import ENCODERS, EncoderConfig, Predictor, Task
from weightspace.encode.sets import MAB
from weightspace.encode.sne import SNE
from weightspace.encode.weights import EncodeError, WeightBatch

__all__ = [
    "MAB",
    "ENCODERS",
    "EncodeError",
    "EncoderConfig",
    "FitConfig",
    "Part",
    "Predictor",
    "SNE",
    "Task",
    "WeightBatch",
    "encode_targets",
    "fit_predictor",
    "infer_task",
    "metrics",
    "outputs",
    "permutation_gap",
    "predict",
    "read_parts",
]
