"""Terminal tables (rich) of what the commands print: a zoo's metrics per task, an architecture, a classify result."""

from __future__ import annotations

from rich.table import Table

from weightspace.report.plots import metric_columns

__all__ = ["classify_table", "metric_table", "spec_table"]


def metric_table(zoo) -> Table | str:
    """Mean test metrics per task at the last checkpoint; a sentence when the zoo records none."""
    t = zoo.table
    last = t[t["epoch"] == t["epoch"].max()] if "epoch" in t.columns and t["epoch"].notna().any() else t
    metrics = [m for m in metric_columns(last) if last[m].notna().any()]
    usual = [m for m in metrics if m in ("test_accuracy", "test_precision", "test_recall", "test_f1", "test_auc")]
    metrics = usual or metrics
    if not metrics:
        return "no test metrics recorded in this zoo"
    by = "task" if "task" in last.columns else None
    title = "mean test metrics" + (" per task" if by else "")
    if "epoch" in t.columns and t["epoch"].notna().any():
        title += f" (epoch {int(t['epoch'].max())})"
    table = Table(title=title)
    table.add_column(by or "networks")
    table.add_column("networks", justify="right")
    for m in metrics:
        table.add_column(m.removeprefix("test_"), justify="right")
    groups = list(last.groupby(by, sort=False)) if by else []
    for task, group in groups:
        table.add_row(str(task), str(len(group)), *(f"{group[m].mean():.3f}" for m in metrics))
    if len(groups) != 1:  # one task is its own total
        table.add_row("all", str(len(last)), *(f"{last[m].mean():.3f}" for m in metrics), style="bold")
    return table


def spec_table(spec) -> Table:
    """An architecture layer by layer (index, layer, output shape, parameters), or a graph node by node (with each
    node's inputs)."""
    table = Table(title=f"{spec.name or 'network'}: input {list(spec.input_shape)}, {spec.num_params():,} parameters")
    if hasattr(spec, "nodes"):
        for col in ("node", "op", "inputs", "output", "parameters"):
            table.add_column(col, justify="right" if col == "parameters" else "left")
        for name, desc, inputs, shape, count in spec.describe():
            table.add_row(name, desc, ", ".join(inputs), str(list(shape)), f"{count:,}" if count else "")
        return table
    for col in ("#", "layer", "output", "parameters"):
        table.add_column(col, justify="right" if col in ("#", "parameters") else "left")
    for i, desc, shape, count in spec.describe():
        table.add_row(str(i), desc, str(list(shape)), f"{count:,}" if count else "")
    return table


def classify_table(result, target: str = "task") -> Table:
    """Test accuracy of every (features, classifier) pair of a `zoo.classify` result."""
    table = Table(
        title=f"which {target}? test accuracy from weights ({result.n_train} train / "
        f"{result.n_test} test networks; chance {result.chance:.3f})"
    )
    table.add_column("features")
    features = list(dict.fromkeys(f for f, _ in result.scores))
    classifiers = list(dict.fromkeys(c for _, c in result.scores))
    for clf in classifiers:
        table.add_column(clf, justify="right")
    for feats in features:
        table.add_row(feats, *(f"{result.scores[feats, clf]:.3f}" for clf in classifiers))
    return table
