"""Fitting networks to task data."""

from weightspace.train.batched import StackedModel, fit_stacked, stack
from weightspace.train.checkpoint import load_checkpoint, save_checkpoint
from weightspace.train.loop import FitResult, Recipe, evaluate, fit, logits_of, loss_fn, train_module
from weightspace.train.metrics import binary_auc, classification_metrics
from weightspace.train.steps import run_steps

__all__ = [
    "FitResult",
    "Recipe",
    "StackedModel",
    "binary_auc",
    "classification_metrics",
    "evaluate",
    "fit",
    "fit_stacked",
    "load_checkpoint",
    "logits_of",
    "loss_fn",
    "run_steps",
    "save_checkpoint",
    "stack",
    "train_module",
]
