"""Plots shared by the CLI and the benchmarks (matplotlib, headless)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402


def metric_histograms(table: pd.DataFrame, path: Path, title: str = "") -> Path:
    """One histogram per test metric over the networks' last checkpoint."""
    last = table[table["epoch"] == table["epoch"].max()] if "epoch" in table.columns else table
    metrics = [m for m in ("test_accuracy", "test_precision", "test_recall", "test_f1", "test_auc") if m in last]
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.2 * len(metrics), 2.8), squeeze=False)
    for ax, m in zip(axes[0], metrics):
        ax.hist(last[m].dropna(), bins=30, color="#4878a8")
        ax.set_title(m.removeprefix("test_"))
        ax.set_xlabel("test value")
    axes[0][0].set_ylabel("networks")
    fig.suptitle(title or "test metrics")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
