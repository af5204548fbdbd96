"""Plots shared by the CLI and the benchmarks (matplotlib, headless)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

from weightspace.fileio import atomic_path  # noqa: E402


def metric_histograms(table: pd.DataFrame, path: Path, title: str = "") -> Path | None:
    """One histogram per test metric over the networks' last checkpoint (None when the table has no metric)."""
    last = table[table["epoch"] == table["epoch"].max()] if "epoch" in table.columns else table
    metrics = [m for m in metric_columns(last) if last[m].notna().any()]
    if not metrics:
        return None
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.2 * len(metrics), 2.8), squeeze=False)
    for ax, m in zip(axes[0], metrics):
        ax.hist(last[m].dropna(), bins=30, color="#4878a8")
        ax.set_title(m.removeprefix("test_"))
        ax.set_xlabel("test value")
    axes[0][0].set_ylabel("networks")
    fig.suptitle(title or "test metrics")
    return save_figure(fig, path)


def metric_columns(table: pd.DataFrame) -> list[str]:
    """The table's numeric test metrics (test_*, and fit_* for INR zoos), the usual classification ones first."""
    usual = ["test_accuracy", "test_precision", "test_recall", "test_f1", "test_auc"]
    others = [
        c for c in table.columns
        if c.startswith(("test_", "fit_")) and c not in usual and pd.api.types.is_numeric_dtype(table[c])
    ]  # fmt: skip
    return [c for c in usual if c in table.columns] + sorted(others)


def mse_vs_size(results: dict[str, dict[str, dict]], path: Path, title: str = "") -> Path:
    """Scatter of test MSE (log) against non-zero parameters; `results[method][task]` has "test" and "nonzero"."""
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for i, (method, per_task) in enumerate(sorted(results.items())):
        sizes = [r["nonzero"] for r in per_task.values()]
        errors = [max(r["test"], 1e-6) for r in per_task.values()]
        ax.scatter(sizes, errors, s=10, alpha=0.7, label=method, color=plt.cm.tab10(i % 10))
    ax.set_yscale("log")
    ax.set_xlabel("non-zero parameters")
    ax.set_ylabel("test MSE")
    ax.legend(fontsize=7, ncol=2)
    ax.set_title(title, fontsize=9)
    return save_figure(fig, path)


def save_figure(fig, path: Path) -> Path:
    """Write a figure atomically (format from the suffix) and close it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, format=path.suffix.lstrip(".") or "png")
    plt.close(fig)
    return path


def plot_predictions(pred: np.ndarray, true: np.ndarray, task: str, path: Path, title: str = "") -> Path:
    """Predicted vs true (numbers) or a confusion matrix (classes)."""
    fig, ax = plt.subplots(figsize=(4.5, 4.2))
    if task == "classes":
        labels = sorted(set(true.tolist()) | set(pred.tolist()), key=str)
        index = {c: i for i, c in enumerate(labels)}
        cm = np.zeros((len(labels), len(labels)))
        for t, p in zip(true, pred):
            cm[index[t], index[p]] += 1
        ax.imshow(cm, cmap="Blues")
        ax.set_xticks(range(len(labels)), labels)
        ax.set_yticks(range(len(labels)), labels)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
    else:
        ax.scatter(true, pred, s=6, alpha=0.6)
        lo, hi = float(min(true.min(), pred.min())), float(max(true.max(), pred.max()))
        ax.plot([lo, hi], [lo, hi], "k--", lw=0.8)
        ax.set_xlabel("true")
        ax.set_ylabel("predicted")
    ax.set_title(title, fontsize=9)
    return save_figure(fig, path)


def plot_embedding(embedding: torch.Tensor, colour: np.ndarray, path: Path, title: str = "") -> Path:
    """The embeddings' first two principal components, coloured by the target."""
    x = embedding - embedding.mean(0)
    xy = (x @ torch.linalg.svd(x, full_matrices=False).Vh[:2].T).numpy()
    fig, ax = plt.subplots(figsize=(4.8, 4.2))
    numeric = np.issubdtype(np.asarray(colour).dtype, np.number)
    codes = colour if numeric else np.unique(colour.astype(str), return_inverse=True)[1]
    points = ax.scatter(xy[:, 0], xy[:, 1], c=codes, s=6, cmap="viridis" if numeric else "tab10")
    fig.colorbar(points, ax=ax)
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
    ax.set_title(title, fontsize=9)
    return save_figure(fig, path)


def plot_confusion(result, path: Path, title: str = "") -> Path:
    """The confusion matrix of a `zoo.classify` result's best (features, classifier) pair."""
    n = len(result.labels)
    fig, ax = plt.subplots(figsize=(1.0 + 0.55 * n, 0.8 + 0.5 * n))
    ax.imshow(result.confusion, cmap="Blues")
    ax.set_xticks(range(n), result.labels, rotation=45, ha="right")
    ax.set_yticks(range(n), result.labels)
    for i in range(n):
        for j in range(n):
            ax.text(j, i, str(result.confusion[i, j]), ha="center", va="center", fontsize=8)
    ax.set_xlabel("predicted task")
    ax.set_ylabel("true task")
    feats, clf = result.best
    ax.set_title(title or f"{feats} + {clf}: {result.scores[result.best]:.1%} (chance {result.chance:.1%})")
    return save_figure(fig, path)


def inr_grid(originals: torch.Tensor, images: torch.Tensor, labels: list[str], psnrs: list[float], path: Path) -> Path:
    """Pairs of images, each original beside its INR's reconstruction, titled with the class and the fit's PSNR."""
    n = len(originals)
    cols = min(n, 8)
    rows = -(-n // cols)
    fig, axes = plt.subplots(2 * rows, cols, figsize=(1.3 * cols, 2.7 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for i in range(n):
        r, c = 2 * (i // cols), i % cols
        axes[r][c].imshow(originals[i].numpy(), cmap="gray", vmin=0, vmax=1)
        axes[r][c].set_title(labels[i], fontsize=7)
        axes[r + 1][c].imshow(images[i].clamp(0, 1).numpy(), cmap="gray", vmin=0, vmax=1)
        axes[r + 1][c].set_title(f"INR {psnrs[i]:.1f} dB", fontsize=7)
    fig.suptitle("originals (odd rows) and their INRs' reconstructions (even rows)", fontsize=8)
    return save_figure(fig, path)


_KIND_COLOURS = {"conv2d": "#4878a8", "linear": "#c03d3e", "attention": "#8e5ea2", "patchify": "#4878a8",
                 "add": "#333333", "concat": "#333333"}  # fmt: skip
_SHORT = {"conv2d": "conv", "linear": "fc", "attention": "attn", "add": "+", "concat": "cat", "batchnorm": "bn",
          "layernorm": "ln", "activation": "act", "pool2d": "pool", "global_pool": "gap", "padded_pool": "pool",
          "patchify": "patch", "class_token": "cls", "positions": "pos", "token_mean": "mean", "flatten": "flat",
          "dropout": "drop", "identity": "id", "normalize": "l2", "embedding": "emb"}  # fmt: skip


def architecture_figure(spec, title: str = ""):
    """A spec (chain or graph) drawn left to right: a column per depth, a square per node (coloured and sized by its
    kind and parameters), a line per edge, so branches, residual sums and concatenations show."""
    from weightspace.nets import as_graph

    graph = as_graph(spec)
    depth, count = {"input": 0}, {}
    for name, shape in graph.state_shapes(buffers=False).items():
        node = name.split(".")[0]
        count[node] = count.get(node, 0) + int(np.prod(shape))
    for n in graph.nodes:
        depth[n.name] = 1 + max(depth[i] for i in n.inputs)
    columns: dict[int, list[str]] = {}
    for name, d in depth.items():
        columns.setdefault(d, []).append(name)
    where = {name: (d, i - (len(names) - 1) / 2) for d, names in columns.items() for i, name in enumerate(names)}
    tall = max(len(c) for c in columns.values())
    fig, ax = plt.subplots(figsize=(min(22.0, 1.5 + 0.42 * len(columns)), 1.4 + 0.55 * tall))
    for n in graph.nodes:
        for i in n.inputs:
            (x0, y0), (x1, y1) = where[i], where[n.name]
            if x1 - x0 > 1 and y0 == y1:  # a skip along one line: an arc above it, so it shows
                arc = {"arrowstyle": "-", "color": "#999999", "lw": 0.8, "connectionstyle": "arc3,rad=-0.35"}
                ax.annotate("", (x1, y1), (x0, y0), arrowprops=arc, zorder=1)
            else:
                ax.plot([x0, x1], [y0, y1], color="#bbbbbb", lw=0.8, zorder=1)
    kinds = {"input": "input"} | {n.name: n.op.kind for n in graph.nodes}
    for name, (x, y) in where.items():
        kind = kinds[name]
        size = 30 + 25 * np.log10(1 + count.get(name, 0))
        ax.scatter([x], [y], s=size, marker="s", color=_KIND_COLOURS.get(kind, "#9a9a9a"), zorder=2)
        ax.annotate(_SHORT.get(kind, kind), (x, y), xytext=(0, -9), textcoords="offset points", ha="center",
                    va="top", fontsize=5.5, color="#444444")  # fmt: skip
    ax.set_ylim(-tall / 2 - 0.5, tall / 2 + 0.9)
    ax.axis("off")
    params = sum(count.values())
    ax.set_title(title or f"{spec.name or 'architecture'}: {len(graph.nodes)} nodes, {params:,} parameters", fontsize=9)
    return fig
