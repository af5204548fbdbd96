"""The numbers a zoo's report page is built from: small summaries, whatever the zoo's size (the tensors are read
once, shard by shard, into per-layer norms and fixed-bin histograms)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from weightspace.report.plots import metric_columns
from weightspace.zoo import Zoo, beside, verify

LOWER_IS_BETTER = ("loss", "mse", "error")
BINS = 40


def main_metric(table: pd.DataFrame) -> str | None:
    """The metric that ranks networks: AUC, accuracy, else the first test or fit metric there is."""
    columns = [m for m in metric_columns(table) if table[m].notna().any()]
    for preferred in ("test_auc", "test_accuracy"):
        if preferred in columns:
            return preferred
    return columns[0] if columns else None


def last_checkpoint(table: pd.DataFrame) -> pd.DataFrame:
    """Each network's last row (its final weights)."""
    if "epoch" not in table.columns or not table["epoch"].notna().any():
        return table
    key = "model_id" if "model_id" in table.columns else None
    ordered = table.sort_values("epoch", kind="stable")
    return ordered.groupby(key, sort=False).tail(1).sort_index() if key else ordered


def by_task(table: pd.DataFrame):
    """(task, rows) groups in order of appearance; one group "all" for a zoo without tasks."""
    return table.groupby("task", sort=False) if "task" in table.columns else [("all", table)]


def provenance(zoo: Zoo, check: bool) -> dict[str, Any]:
    manifest = zoo.manifest
    config = manifest["config"]
    source = config.get("source")
    if source is None:
        command = f"weightspace zoo generate --config zoo.yaml --out {zoo.root}  # zoo.yaml: the config below"
    else:
        command = (
            f"weightspace zoo import {source.get('format', '?')} {source.get('folder', 'SOURCE')} --out {zoo.root}"
        )
    return {
        "name": manifest["name"],
        "root": str(zoo.root),
        "weightspace": manifest["weightspace"],
        "schema": manifest["schema"],
        "rows": len(zoo.table),
        "networks": int(zoo.table["model_id"].nunique()) if "model_id" in zoo.table.columns else len(zoo.table),
        "shards": len(manifest["shards"]),
        "config": config,
        "command": command,
        "specs": [
            {"name": s.name, "parameters": s.num_params(), "layers": s.describe(), "spec": json.loads(s.to_json())}
            for s in zoo.specs
        ],
        "hashes": {
            "manifest_sha256": manifest["manifest_sha256"],
            "models_sha256": manifest["models_sha256"],
            "config_sha256": manifest["config_sha256"],
        },  # fmt: skip
        "verify": verify(zoo.root) if check else None,
    }


def metric_summary(table: pd.DataFrame) -> dict[str, Any]:
    """Per task: count and mean / std / min / max of each test metric over the networks' final rows."""
    last = last_checkpoint(table)
    metrics = [m for m in metric_columns(last) if last[m].notna().any()]
    if not metrics:
        return {"metrics": [], "rows": []}
    by = by_task(last)
    rows = []
    for task, group in by:
        row = {"task": str(task), "networks": len(group)}
        for m in metrics:
            values = group[m].dropna()
            row[m] = {k: float(getattr(values, k)()) if len(values) else None for k in ("mean", "std", "min", "max")}
        rows.append(row)
    return {"metrics": metrics, "rows": rows}


def distributions(table: pd.DataFrame, bins: int = 30) -> dict[str, Any]:
    """Histogram counts of each test metric per task (shared bin edges per metric)."""
    last = last_checkpoint(table)
    out = {}
    for m in (m for m in metric_columns(last) if last[m].notna().any()):
        values = last[m].dropna().to_numpy(dtype=float)
        low, high = float(values.min()), float(values.max())
        edges = np.linspace(low, high if high > low else low + 1e-9, bins + 1)
        groups = by_task(last)
        out[m] = {"edges": edges.tolist(),
                  "counts": {str(t): np.histogram(g[m].dropna(), edges)[0].tolist() for t, g in groups}}  # fmt: skip
    return out


def curves(table: pd.DataFrame) -> dict[str, Any]:
    """Mean and std of each metric per task at every checkpoint epoch (empty when there is one checkpoint)."""
    if "epoch" not in table.columns or table["epoch"].nunique() < 2:
        return {}
    metrics = [m for m in metric_columns(table) if table[m].notna().any()]
    metrics += [m for m in ("train_loss", "train_accuracy") if m in table.columns and m not in metrics]
    groups = by_task(table)
    out = {}
    for m in metrics:
        out[m] = {}
        for task, g in groups:
            stats = g.groupby("epoch")[m].agg(["mean", "std"]).fillna(0.0)
            out[m][str(task)] = {"epoch": stats.index.tolist(), "mean": stats["mean"].tolist(),
                                 "std": stats["std"].tolist()}  # fmt: skip
    return out


def weight_statistics(zoo: Zoo, progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Per parametric tensor of the final networks: L2 norm mean / std per task, and value histograms per task
    (fixed bins set from the first shard read). Reads each shard once."""
    final = last_checkpoint(zoo.table)
    if "spec" in final.columns and final["spec"].nunique() > 1:
        final = final[final["spec"] == final["spec"].iloc[0]]
    tasks = final["task"].astype(str).to_numpy() if "task" in final.columns else np.array(["all"] * len(final))
    names = list(zoo.specs[0].state_shapes(buffers=False))
    norms = {n: np.zeros(len(final)) for n in names}
    counts: dict[str, dict[str, np.ndarray]] = {n: {} for n in names}
    edges: dict[str, np.ndarray] = {}
    final_pos = np.flatnonzero(zoo.table.index.isin(final.index))
    shards = zoo.table.iloc[final_pos]["shard"].to_numpy()
    done = 0
    for shard in dict.fromkeys(shards.tolist()):
        where = np.flatnonzero(shards == shard)
        stacked = zoo.batch(final_pos[where].tolist()).params
        for n in names:
            t = stacked[n].reshape(len(where), -1)
            norms[n][where] = t.norm(dim=1).numpy()
            if n not in edges:
                top = float(torch.quantile(t.abs().flatten()[:1_000_000].float(), 0.999)) or 1.0
                edges[n] = np.linspace(-1.5 * top, 1.5 * top, BINS + 1)
            values = t.clamp(float(edges[n][0]), float(edges[n][-1])).numpy()
            for task in np.unique(tasks[where]):
                rows = values[tasks[where] == task]
                hist = np.histogram(rows, edges[n])[0]
                counts[n][task] = counts[n].get(task, 0) + hist
        done += len(where)
        if progress:
            progress(done, len(final))
    layers = []
    for n in names:
        per_task = {}
        for task in dict.fromkeys(tasks.tolist()):
            v = norms[n][tasks == task]
            per_task[task] = {"norm_mean": float(v.mean()), "norm_std": float(v.std()),
                              "histogram": np.asarray(counts[n].get(task, np.zeros(BINS))).tolist()}  # fmt: skip
        layers.append({"name": n, "edges": edges[n].tolist(), "tasks": per_task})
    return {"networks": len(final), "layers": layers}


def extremes(table: pd.DataFrame, k: int = 5) -> dict[str, Any]:
    """The k best and worst networks by the main metric (final rows)."""
    metric = main_metric(table)
    if metric is None:
        return {}
    last = last_checkpoint(table).dropna(subset=[metric])
    lower = any(word in metric for word in LOWER_IS_BETTER)
    ranked = last.sort_values(metric, ascending=lower, kind="stable")
    columns = [c for c in ("model_id", "task", "epoch", "seed", "file", metric) if c in ranked.columns]
    pick = lambda frame: json.loads(frame[columns].to_json(orient="records"))  # noqa: E731
    return {
        "metric": metric,
        "lower_is_better": lower,
        "best": pick(ranked.head(k)),
        "worst": pick(ranked.tail(k)[::-1]),
    }


def results_beside(zoo: Zoo) -> dict[str, Any]:
    """Outputs other commands wrote beside the zoo: classify results, trained encoders' reports, embeddings."""
    out: dict[str, Any] = {}
    classified = beside(zoo.root, "classify.json")
    if classified.is_file():
        out["classify"] = json.loads(classified.read_text())
    encoders = []
    for path in sorted(beside(zoo.root, "encoders").glob("*.report.json")):
        report = json.loads(path.read_text())
        encoders.append({"name": path.name.removesuffix(".report.json"), "test": report.get("test", {}),
                         "task": report.get("task"), "target": report.get("target"),
                         "predictions": report.get("test_predictions")})  # fmt: skip
    if encoders:
        out["encoders"] = encoders
    embeddings = []
    for path in sorted(beside(zoo.root, "embeddings").glob("*.safetensors")):
        from safetensors.torch import load_file

        data = load_file(path)
        emb, rows = data["embedding"].double(), data["row"].long().numpy()
        centred = emb - emb.mean(0)
        u, s, v = torch.linalg.svd(centred, full_matrices=False)
        xy = (centred @ v[:2].T).numpy() if emb.shape[1] >= 2 else np.c_[centred.numpy(), np.zeros(len(emb))]
        labels = zoo.table["task"].astype(str).to_numpy()[rows] if "task" in zoo.table.columns else None
        embeddings.append({"name": path.stem, "xy": xy.tolist(), "label": None if labels is None else labels.tolist()})
    if embeddings:
        out["embeddings"] = embeddings
    return out


def zoo_summary(zoo: Zoo, check: bool = True, progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Everything the report page shows, as plain data."""
    table = zoo.table
    return {
        "provenance": provenance(zoo, check),
        "metrics": metric_summary(table),
        "distributions": distributions(table),
        "curves": curves(table),
        "weights": weight_statistics(zoo, progress),
        "extremes": extremes(table),
        "beside": results_beside(zoo),
    }


def write_summary(summary: dict[str, Any], path: Path) -> Path:
    from weightspace.fileio import write_json

    write_json(path, summary)
    return path
