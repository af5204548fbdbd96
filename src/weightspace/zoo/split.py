"""Train / val / test splits of a zoo: the zoo's own where it has one, else by model id, so a network's checkpoints
never straddle two splits. Every reader of splits (encoders, the generator, `zoo classify`) goes through
`zoo_split`."""

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


SPLITS = ("train", "val", "test")


def own_split(table: pd.DataFrame) -> bool:
    """Whether the zoo carries its own split: a `split` column giving every row one of train, val, test (INR sets:
    the dataset's own)."""
    return "split" in table.columns and bool(table["split"].isin(SPLITS).all())


def zoo_split(table: pd.DataFrame, seed: int = 0, fractions: tuple[float, float] = (0.8, 0.1)) -> pd.Series:
    """'train' / 'val' / 'test' per row: the zoo's own split if it has one, else `split_models(table, seed,
    fractions)`."""
    return table["split"] if own_split(table) else split_models(table, seed, fractions)
