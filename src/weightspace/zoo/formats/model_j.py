"""Model-J (Horwitz et al., ProbeX, CVPR 2025) as its download code lays it out.

The metadata is the Hugging Face dataset `ProbeX/Model-J`: one Parquet table per subset and split, a row per
fine-tuned model naming it (`hf_model_id`, `hf_model_url`). The weights are each model's Hugging Face snapshot,
downloaded into `<models>/<split>/models--<org>--<name>/{refs/main, snapshots/<ref>/model.safetensors}`; a model's
fine-tuning classes are the `dataset_chosen_targets` entry of its safetensors header (a Python list literal, read
with `ast.literal_eval`, never evaluated). The weights (about 350 GB for a subset) are not part of weightspace.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pandas as pd
import torch
from safetensors import SafetensorError, safe_open

from weightspace.errors import WeightspaceError
from weightspace.zoo.split import SPLITS

COLUMNS = ("hf_model_id", "hf_model_url")  # what ProbeX's download code reads from each row


def _tables(metadata: Path, split: str) -> list[Path]:
    return sorted(
        p for p in metadata.rglob("*.parquet") if p.name == f"{split}.parquet" or p.name.startswith(f"{split}-")
    )


def snapshot_path(models: Path, split: str, model_id: str) -> Path | None:
    """The model.safetensors a Hugging Face cache holds for `model_id`, or None when it was not downloaded."""
    repo = Path(models) / split / f"models--{model_id.replace('/', '--')}"
    ref = repo / "refs" / "main"
    if not ref.is_file():
        return None
    commit = ref.read_text().strip()
    path = (repo / "snapshots" / commit / "model.safetensors").resolve()
    if repo.resolve() not in path.parents:
        raise WeightspaceError(f"{ref} points outside its model folder")
    return path if path.is_file() else None


def read_model_j(metadata: str | Path, models: str | Path | None = None) -> pd.DataFrame:
    """Every row of a Model-J subset's metadata with its `split`, and, given the download folder, the path of
    each model's weights (`weights`; None where the model is not there)."""
    metadata = Path(metadata)
    parts = []
    for split in SPLITS:
        for path in _tables(metadata, split):
            try:
                table = pd.read_parquet(path)
            except Exception as err:  # pyarrow raises several kinds for a damaged file
                raise WeightspaceError(f"{path} is not a readable Parquet table ({type(err).__name__})") from None
            missing = [c for c in COLUMNS if c not in table.columns]
            if missing:
                raise WeightspaceError(f"{path} is not Model-J metadata: no column {', '.join(missing)}")
            parts.append(table.assign(split=split))
    if not parts:
        raise WeightspaceError(f"no train/val/test Parquet tables under {metadata}")
    table = pd.concat(parts, ignore_index=True)
    if models is not None:
        table["weights"] = [
            None if (p := snapshot_path(Path(models), s, str(m))) is None else str(p)
            for s, m in zip(table["split"], table["hf_model_id"])
        ]
    return table


def model_j_layer(path: str | Path, layer: str) -> tuple[torch.Tensor, list]:
    """One layer's tensor of a Model-J model and the classes it was fine-tuned on."""
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            if layer not in f.keys():  # noqa: SIM118 (safe_open has no __contains__)
                raise WeightspaceError(f"{path} has no tensor {layer!r}")
            tensor, header = f.get_tensor(layer), f.metadata() or {}
    except (SafetensorError, OSError) as err:
        raise WeightspaceError(f"{path} is not a readable safetensors file ({err})") from None
    try:
        classes = ast.literal_eval(header["dataset_chosen_targets"])
    except (KeyError, ValueError, SyntaxError, MemoryError, RecursionError):
        raise WeightspaceError(f"{path}: its header has no readable dataset_chosen_targets list") from None
    if not isinstance(classes, list):
        raise WeightspaceError(f"{path}: dataset_chosen_targets is not a list")
    return tensor, classes
