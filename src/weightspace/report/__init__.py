"""Plots and report pages; sits on top of every component."""

from weightspace.report.page import write_report
from weightspace.report.plots import (
    metric_columns,
    metric_histograms,
    mse_vs_size,
    plot_confusion,
    plot_embedding,
    plot_predictions,
    plt,
    save_classify,
    save_figure,
)

__all__ = [
    "metric_columns",
    "metric_histograms",
    "mse_vs_size",
    "plot_confusion",
    "plot_embedding",
    "plot_predictions",
    "plt",
    "save_classify",
    "save_figure",
    "write_report",
]
