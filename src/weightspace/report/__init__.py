"""Plots and report pages; sits on top of every component. Names are imported on first use (matplotlib only
when a plot is drawn)."""

from typing import TYPE_CHECKING

from weightspace.faces import lazy_face

__all__ = [
    "architecture_figure",
    "classify_table",
    "inr_grid",
    "kind_of",
    "metric_columns",
    "metric_histograms",
    "metric_table",
    "mse_vs_size",
    "plot_confusion",
    "plot_embedding",
    "plot_predictions",
    "plt",
    "render_run",
    "save_figure",
    "spec_table",
    "write_report",
]
__getattr__ = lazy_face(
    __name__,
    {
        "page": ["write_report"],
        "runs": ["kind_of", "render_run"],
        "tables": ["classify_table", "metric_table", "spec_table"],
        "plots": ["architecture_figure", "inr_grid", "metric_columns", "metric_histograms", "mse_vs_size",
                  "plot_confusion", "plot_embedding", "plot_predictions", "plt", "save_figure"],
    },
)  # fmt: skip

if TYPE_CHECKING:  # the same names, for readers of the source and the API reference
    from weightspace.report.page import write_report
    from weightspace.report.plots import (
        architecture_figure,
        inr_grid,
        metric_columns,
        metric_histograms,
        mse_vs_size,
        plot_confusion,
        plot_embedding,
        plot_predictions,
        plt,
        save_figure,
    )
    from weightspace.report.runs import kind_of, render_run
    from weightspace.report.tables import classify_table, metric_table, spec_table
