"""The "small CNN zoo" layout of Unterthiner et al.: weights.npy [N, P], layout.csv, metrics.csv.

weightspace writes layout.csv with PyTorch names and shapes (name, offset, size, shape). Files whose layout names
Keras variables (".../kernel:0", ".../bias:0") are converted from Keras layouts on import.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from weightspace.errors import WeightspaceError
from weightspace.fileio import atomic_path, write_text_atomic
from weightspace.nets.net import Layout
from weightspace.nets.spec import ArchSpec
from weightspace.zoo.formats.keras import keras_to_torch
from weightspace.zoo.store import Zoo
from weightspace.zoo.writer import write_zoo


def export_smallcnn(zoo: Zoo, out: str | Path) -> Path:
    out = Path(out)
    with atomic_path(out / "weights.npy") as tmp, open(tmp, "wb") as f:
        np.save(f, zoo.flat().numpy())
    layout = Layout.of(zoo.specs[0])
    with atomic_path(out / "layout.csv") as tmp:
        pd.DataFrame(
            [{"name": s.name, "offset": s.offset, "size": s.size, "shape": "x".join(map(str, s.shape))} for s in layout]
        ).to_csv(tmp, index=False)
    with atomic_path(out / "metrics.csv") as tmp:
        zoo.table.drop(columns=["shard", "index"]).to_csv(tmp, index=False)
    write_text_atomic(out / "spec.json", zoo.specs[0].to_json(indent=1))
    return out


def import_smallcnn(folder: str | Path, out: str | Path, spec: ArchSpec | None = None) -> Zoo:
    folder = Path(folder)
    for name in ("weights.npy", "layout.csv", "metrics.csv"):
        if not (folder / name).is_file():
            raise WeightspaceError(
                f"{folder} lacks {name}: a small-CNN zoo folder has weights.npy, layout.csv, metrics.csv"
            )
    if spec is None:
        if not (folder / "spec.json").is_file():
            raise WeightspaceError(f"{folder} has no spec.json; pass the architecture (e.g. --preset small-cnn)")
        spec = ArchSpec.from_json((folder / "spec.json").read_text())
    weights = np.load(folder / "weights.npy", allow_pickle=False)  # never unpickle a user's file
    layout = pd.read_csv(folder / "layout.csv")
    metrics = pd.read_csv(folder / "metrics.csv")
    if len(metrics) != len(weights):
        raise WeightspaceError(f"metrics.csv has {len(metrics)} rows, weights.npy {len(weights)} networks")
    if weights.shape[1] != int(layout["size"].sum()):
        raise WeightspaceError(
            f"weights.npy has {weights.shape[1]} columns; layout.csv describes {layout['size'].sum()}"
        )
    cols = {r.name: weights[:, r.offset : r.offset + r.size] for r in layout.itertuples()}
    shapes = {r.name: tuple(int(d) for d in str(r.shape).split("x")) for r in layout.itertuples()}
    n = len(weights)
    if all(":0" in name for name in cols):  # Keras variable names: kernel, bias per layer, in order
        names = list(cols)
        pairs, i = [], 0
        while i < len(names):
            has_bias = i + 1 < len(names) and "bias" in names[i + 1]
            pairs.append((names[i], names[i + 1] if has_bias else None))
            i += 2 if has_bias else 1
        per_net = [
            keras_to_torch(spec, [(cols[k][j].reshape(shapes[k]), None if b is None else cols[b][j]) for k, b in pairs])
            for j in range(n)
        ]
        stacked = {k: torch.stack([p[k] for p in per_net]) for k in per_net[0]}
    else:
        stacked = {k: torch.from_numpy(np.ascontiguousarray(v)).reshape(n, *shapes[k]).float() for k, v in cols.items()}
    rows = metrics.drop(columns=["spec"], errors="ignore").to_dict("records")
    if "model_id" not in metrics.columns:
        rows = [{"model_id": i} | r for i, r in enumerate(rows)]
    return write_zoo(out, f"{folder.name}-import", spec, stacked, rows, source={"format": "small-cnn-zoo"})
