"""Sentence-transformers models in their saved layout, read from the files alone (no transformers import):

    MODEL/modules.json          [Transformer, Pooling(, Normalize)], each with its folder
    MODEL/config.json           the Hugging Face BERT config
    MODEL/model.safetensors     the BertModel tensors
    MODEL/1_Pooling/config.json the pooling mode (mean or CLS)

One such folder is a zoo of one network; a folder of them (found anywhere below it) a population, one network
each. Every network is the `nets.bert` graph on a fixed number of tokens, with no padding mask.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from weightspace.errors import SpecError, WeightspaceError
from weightspace.fileio import read_safetensors
from weightspace.nets import BertShape, bert_spec, bert_tensors
from weightspace.zoo.store import Zoo
from weightspace.zoo.writer import Pending, Rows, write_networks

MODULES = "modules.json"
TOKENS = 128  # token ids per input unless told


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError) as err:
        raise WeightspaceError(f"{path} is not readable JSON ({' '.join(str(err).split())[:160]})") from None


def _pooling(path: Path) -> str:
    """ "mean" or "cls" from a Pooling config (the boolean flags, or a newer single `pooling_mode`)."""
    config = _json(path)
    if not isinstance(config, dict):
        raise WeightspaceError(f"{path}: a pooling config is a JSON object")
    if isinstance(config.get("pooling_mode"), str):
        modes = [config["pooling_mode"]]
    else:
        modes = [k.removeprefix("pooling_mode_").removesuffix("_tokens").removesuffix("_token")
                 for k, v in config.items() if k.startswith("pooling_mode_") and v is True]  # fmt: skip
    if modes not in (["mean"], ["cls"]) or config.get("include_prompt", True) is not True:
        raise WeightspaceError(f"{path}: pooling {' + '.join(modes) or 'none'} is not read (mean or cls alone)")
    return modes[0]


def _read_layout(folder: Path, tokens: int):
    """(spec, its BERT shape, the weights file, row) of the model saved in `folder`, from its JSON files alone;
    one error naming the file that is not read."""
    modules = _json(folder / MODULES)
    kinds = [str(m.get("type", "")).rsplit(".", 1)[-1] for m in modules] if isinstance(modules, list) and all(
        isinstance(m, dict) for m in modules) else None  # fmt: skip
    if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        raise WeightspaceError(f"{folder / MODULES}: modules {kinds} are not read (Transformer, Pooling[, Normalize])")
    base, pool = (folder / str(modules[i].get("path", "")) for i in (0, 1))
    for part in (base, pool):
        if folder.resolve() not in (part.resolve(), *part.resolve().parents):
            raise WeightspaceError(f"{folder / MODULES} names {part}, a folder outside the model")
    config = _json(base / "config.json")
    if not isinstance(config, dict):
        raise WeightspaceError(f"{base / 'config.json'}: a model config is a JSON object")
    weights = base / "model.safetensors"
    if not weights.is_file():
        raise WeightspaceError(f"{base} has no model.safetensors (only safetensors weights are read, never pickle)")
    pooling, name = _pooling(pool / "config.json"), _card_title(folder / "README.md") or folder.name
    try:
        shape = BertShape.from_config(config, str(base / "config.json"))
        spec = bert_spec(shape, tokens, pooling, kinds[-1] == "Normalize", name)
    except SpecError as err:
        raise WeightspaceError(str(err)) from None
    row = {"model": name, "base": str(config.get("_name_or_path", ""))[:200], "folder": folder.name,
           "tokens": tokens, "pooling": pooling,
           "normalize": kinds[-1] == "Normalize", "layers": shape.layers, "hidden": shape.hidden}  # fmt: skip
    return spec, shape, weights, row


def _card_title(card: Path) -> str:
    """The model's name from the first heading of its model card ("# all-MiniLM-L6-v2"), or ""."""
    if not card.is_file():
        return ""
    with card.open(encoding="utf-8", errors="replace") as lines:
        for _, line in zip(range(200), lines):  # the title sits below a short front matter
            if line.startswith("# "):
                return line[2:].strip()[:200]
    return ""


def read_sentence_transformer(folder: str | Path, tokens: int = TOKENS):
    """(spec, tensors, row) of the sentence-transformers model saved in `folder`."""
    spec, shape, weights, row = _read_layout(Path(folder), tokens)
    try:
        return spec, bert_tensors(spec, shape, read_safetensors(weights)[0], str(weights)), row
    except SpecError as err:
        raise WeightspaceError(str(err)) from None


def import_sentence_transformer(folder: str | Path, out: str | Path, tokens: int | None = None) -> Zoo:
    """The sentence-transformers model saved in `folder`, or every one saved below it, as a zoo (one row each)."""
    folder, tokens = Path(folder), tokens or TOKENS
    models = [folder] if (folder / MODULES).is_file() else sorted(p.parent for p in folder.rglob(MODULES))
    if not models:
        raise WeightspaceError(f"{folder} holds no {MODULES}: it is not a sentence-transformers model")
    specs, pending = [], []
    for model_id, path in enumerate(models):
        spec = _read_layout(path, tokens)[0]  # the tensors are read when the network is written
        if spec not in specs:
            specs.append(spec)
        pending.append(Pending(model_id, 1, path, specs.index(spec)))
    pending.sort(key=lambda p: p.spec)  # a shard holds one spec

    def load(p: Pending) -> Rows:
        _, params, row = read_sentence_transformer(p.source, tokens)
        return [(params, row | {"epoch": 0})]

    source = {"format": "sentence-transformer", "folder": str(folder.resolve()), "tokens": tokens}
    return write_networks(out, f"{folder.name}-sentence-transformers", specs, pending, load, source, shard_size=1)
