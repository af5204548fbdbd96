"""Model-J's layout as ProbeX's download code reads and writes it: metadata Parquet tables (hf_model_id,
hf_model_url per row), Hugging Face cache snapshots, and the fine-tuning classes in each safetensors header."""

import pandas as pd
import pytest
import torch
from safetensors.torch import save_file

from weightspace.errors import WeightspaceError
from weightspace.zoo.formats.model_j import model_j_layer, read_model_j

LAYER = "vit.encoder.layer.11.attention.attention.query.weight"  # a name from ProbeX's layer table


def layout(tmp_path):
    meta, models = tmp_path / "Model-J" / "SupViT", tmp_path / "models" / "SupViT"
    meta.mkdir(parents=True)
    for split, n in (("train", 3), ("val", 1), ("test", 2)):
        ids = [f"ProbeX/Model-J__SupViT__{split}_{i}" for i in range(n)]
        pd.DataFrame({"hf_model_id": ids, "hf_model_url": [f"https://huggingface.co/{m}" for m in ids]}).to_parquet(
            meta / f"{split}-00000-of-00001.parquet")  # fmt: skip
        for i, model_id in enumerate(ids[:-1] if split == "test" else ids):  # one test model not downloaded
            repo = models / split / f"models--{model_id.replace('/', '--')}"
            (repo / "refs").mkdir(parents=True)
            (repo / "refs" / "main").write_text("abc123\n")
            (repo / "snapshots" / "abc123").mkdir(parents=True)
            targets = str(["n01443537", "n01629819"][: 1 + i % 2])
            save_file({LAYER: torch.full((4, 4), float(i))}, repo / "snapshots" / "abc123" / "model.safetensors",
                      metadata={"dataset_chosen_targets": targets})  # fmt: skip
    return meta, models


def test_rows_splits_and_weights_are_found(tmp_path):
    meta, models = layout(tmp_path)
    table = read_model_j(meta, models)
    assert table["split"].value_counts().to_dict() == {"train": 3, "test": 2, "val": 1}
    assert table["weights"].isna().sum() == 1  # the model that was not downloaded
    weight, classes = model_j_layer(table["weights"].dropna().iloc[1], LAYER)
    assert weight.shape == (4, 4) and classes == ["n01443537", "n01629819"]


def test_what_it_cannot_read_is_one_line(tmp_path):
    meta, models = layout(tmp_path)
    pd.DataFrame({"model": ["x"]}).to_parquet(meta / "train-00000-of-00001.parquet")
    with pytest.raises(WeightspaceError, match="no column hf_model_id, hf_model_url"):
        read_model_j(meta)
    path = next(models.rglob("model.safetensors"))
    save_file({LAYER: torch.zeros(1)}, path, metadata={"dataset_chosen_targets": "__import__('os').system('x')"})
    with pytest.raises(WeightspaceError, match="no readable dataset_chosen_targets"):
        model_j_layer(path, LAYER)  # read as a literal, never evaluated
    with pytest.raises(WeightspaceError, match="has no tensor"):
        model_j_layer(path, "head.weight")
