"""Fitting networks to task data."""

from weightspace.train.loop import FitResult, Recipe, evaluate, fit, logits_of, loss_fn
from weightspace.train.metrics import binary_auc, classification_metrics

__all__ = ["FitResult", "Recipe", "binary_auc", "classification_metrics", "evaluate", "fit", "logits_of", "loss_fn"]
