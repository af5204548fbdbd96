"""Fitting networks to task data."""

from weightspace.train.batched import KERNELS, StackedModel, kernels_problem, per_network_loss
from weightspace.train.checkpoint import load_checkpoint, save_checkpoint
from weightspace.train.loop import FitResult, Training, evaluate, fit, logits_of, loss_fn, train_module
from weightspace.train.metrics import binary_auc, classification_metrics
from weightspace.train.siren import (
    SINE_W0,
    SirenFit,
    fit_sines,
    fit_sirens,
    fold_siren_params,
    fold_sirens,
    init_sirens,
    pixel_grid,
    psnr,
    sine_siren_values,
    siren_spec,
    siren_values,
)
from weightspace.train.stacked_fit import fit_stacked, shared_model
from weightspace.train.steps import run_steps

__all__ = [
    "KERNELS",
    "SINE_W0",
    "FitResult",
    "Training",
    "SirenFit",
    "StackedModel",
    "binary_auc",
    "classification_metrics",
    "evaluate",
    "fit",
    "fit_sines",
    "fit_sirens",
    "fit_stacked",
    "fold_siren_params",
    "fold_sirens",
    "init_sirens",
    "kernels_problem",
    "load_checkpoint",
    "logits_of",
    "per_network_loss",
    "shared_model",
    "loss_fn",
    "pixel_grid",
    "psnr",
    "run_steps",
    "save_checkpoint",
    "sine_siren_values",
    "siren_spec",
    "siren_values",
    "train_module",
]
