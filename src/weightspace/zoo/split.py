"""Train / val / test splits of a zoo by model id, so a network's checkpoints never straddle two splits."""

from __future__ import annotations

import numpy as np
import pandas as pd


def split_models(table: pd.DataFrame, seed: int = 0, fractions: tuple[float, float] = (0.8, 0.1)) -> pd.Series:
    """'train' / 'val' / 'test' per row, drawn per model id with `seed`."""
    ids = table["model_id"].unique() if "model_id" in table.columns else np.arange(len(table))
    rng = np.random.default_rng(seed)
    ids = rng.permutation(ids)
    n_train, n_val = round(fractions[0] * len(ids)), round(fractions[1] * len(ids))
    which = {i: "train" for i in ids[:n_train]} | {i: "val" for i in ids[n_train : n_train + n_val]}
    key = table["model_id"] if "model_id" in table.columns else pd.Series(np.arange(len(table)), index=table.index)
    return key.map(lambda i: which.get(i, "test"))
