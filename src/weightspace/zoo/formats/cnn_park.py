"""CNN Wild Park (Kofinas et al. 2024) in its published layout: a dataset folder with `cnn_park_splits.json`
({train, val, test: {path, score, step}}) and one Ray Tune `checkpoint.pt` per network and checkpoint step.

Each checkpoint holds the state dict (`layers.<i>`, `fc`), the sampled architecture as an OmegaConf node, and Ray's
state. The OmegaConf objects are read through inert stand-ins for their classes (restricted loader; no pickle code
runs, and OmegaConf need not be installed); the architecture becomes a `wild-cnn` graph.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from weightspace.errors import SpecError, WeightspaceError
from weightspace.nets import wild_cnn
from weightspace.nets.graph import GraphSpec
from weightspace.zoo.formats.torchfiles import restricted_load, tensors_of
from weightspace.zoo.store import Zoo
from weightspace.zoo.writer import Pending, Rows, write_networks

SPLITS_FILE = "cnn_park_splits.json"


class _Saved:
    """Stands in for a pickled OmegaConf object: keeps the state it was saved with."""

    def __setstate__(self, state: Any) -> None:
        self.state = state


def _stand_in(name: str) -> tuple[type, str]:
    return type(name.rsplit(".", 1)[1], (_Saved,), {}), name


class _Any:
    """Stands in for typing.Any, which OmegaConf's metadata names as a node's type."""


def _default_dict(factory: Any = None, *items: Any) -> dict:
    return dict(*items)


STAND_INS = [
    _stand_in("omegaconf.dictconfig.DictConfig"),
    _stand_in("omegaconf.listconfig.ListConfig"),
    _stand_in("omegaconf.base.Metadata"),
    _stand_in("omegaconf.base.ContainerMetadata"),
    *(_stand_in(f"omegaconf.nodes.{n}") for n in ("AnyNode", "IntegerNode", "FloatNode", "StringNode", "BooleanNode")),
    (_Any, "typing.Any"),
    (_default_dict, "collections.defaultdict"),
    (list, "__builtin__.list"),
    (dict, "__builtin__.dict"),
    (int, "__builtin__.long"),
    int,
    dict,
    list,
]


def plain(node: Any, where: str, depth: int = 0) -> Any:
    """An OmegaConf node (as its stand-in) as plain dicts, lists and values."""
    if depth > 32:
        raise WeightspaceError(f"{where}: the config nests too deep")
    if isinstance(node, _Saved):
        state = node.state if isinstance(node.state, dict) else {}
        if "_content" in state:
            return plain(state["_content"], where, depth + 1)
        if "_val" in state:
            return plain(state["_val"], where, depth + 1)
        raise WeightspaceError(f"{where}: a config node without content")
    if isinstance(node, dict):
        return {str(k): plain(v, where, depth + 1) for k, v in node.items()}
    if isinstance(node, list | tuple):
        return [plain(v, where, depth + 1) for v in node]
    if node is None or isinstance(node, bool | int | float | str):
        return node
    raise WeightspaceError(f"{where}: the config holds a {type(node).__name__}")


def park_spec(config: dict[str, Any], image_size: int, where: str) -> GraphSpec:
    """The `wild-cnn` graph of one sampled CNN Wild Park config (channels[0] is the input's channel count)."""
    try:
        channels, kernels = list(config["channels"]), list(config["kernel_size"])
        if any(s != 1 for s in config.get("stride", [1])) or list(config.get("padding", [k // 2 for k in kernels])) != [
            k // 2 for k in kernels
        ]:
            raise WeightspaceError(f"{where}: only stride 1 and padding k // 2 convs exist in CNN Wild Park")
        shape = (channels[0], image_size, image_size)
        residual, activations = list(config["residual"]), list(config["activation"])
        return wild_cnn(
            channels[1:], kernels, residual, activations, input_shape=shape, classes=int(config["n_classes"])
        )
    except (KeyError, TypeError, ValueError) as err:
        raise WeightspaceError(f"{where}: not a CNN Wild Park config ({type(err).__name__}: {err})") from None
    except SpecError as err:
        raise WeightspaceError(f"{where}: {err}") from None


def read_checkpoint(path: Path, image_size: int = 32) -> tuple[GraphSpec, dict[str, torch.Tensor], dict[str, Any]]:
    """(spec, state dict in the spec's names, Ray's numbers) of one checkpoint.pt."""
    obj = restricted_load(path, STAND_INS)
    if not isinstance(obj, dict) or "config" not in obj:
        raise WeightspaceError(f"{path} is not a CNN Wild Park checkpoint (no model config)")
    spec = park_spec(plain(obj["config"], str(path)), image_size, str(path))
    state = tensors_of(obj, path)
    renamed = {k.replace("layers.", "conv", 1) if k.startswith("layers.") else k: v for k, v in state.items()}
    expected = spec.state_shapes()
    if {k: tuple(v.shape) for k, v in renamed.items()} != expected:
        raise WeightspaceError(f"{path}: its tensors do not match the architecture its config describes")
    numbers = {"iteration": obj.get("iteration")} | {
        k.replace("/", "_"): v for k, v in (obj.get("last_result") or {}).items() if isinstance(v, int | float)
    }
    return spec, renamed, {k: v for k, v in numbers.items() if isinstance(v, int | float)}


def import_cnn_park(folder: str | Path, out: str | Path, image_size: int = 32) -> Zoo:
    """The networks `cnn_park_splits.json` lists, every checkpoint of a trial one row of one network (split,
    step, score = test accuracy), each with its own `wild-cnn` spec."""
    folder = Path(folder)
    splits_file = folder / SPLITS_FILE
    try:
        splits = json.loads(splits_file.read_bytes())
    except (OSError, ValueError) as err:
        raise WeightspaceError(f"{splits_file} is not readable JSON ({' '.join(str(err).split())[:160]})") from None
    entries: dict[str, list[tuple[Path, dict[str, Any]]]] = {}
    for split in ("train", "val", "test"):
        part = splits.get(split) if isinstance(splits, dict) else None
        if not isinstance(part, dict) or not all(isinstance(part.get(k), list) for k in ("path", "score")):
            raise WeightspaceError(f"{splits_file}: split {split!r} needs lists 'path' and 'score'")
        steps = part.get("step") or [None] * len(part["path"])
        for rel, score, step in zip(part["path"], part["score"], steps, strict=True):
            path = (folder / str(rel)).resolve()
            if folder.resolve() not in path.parents or not path.is_file():
                raise WeightspaceError(f"{splits_file} lists {rel}, which is not a file inside {folder}")
            trial = path.parent.parent.name  # <trial>/<checkpoint_NNNNNN>/checkpoint.pt
            entries.setdefault(trial, []).append((path, {"split": split, "score": float(score), "step": step}))
    if not entries:
        raise WeightspaceError(f"{splits_file} lists no checkpoints")
    specs, pending = [], []
    for model_id, trial in enumerate(sorted(entries)):
        ckpts = sorted(entries[trial], key=lambda e: (e[1]["step"] is None, e[1]["step"] or 0, str(e[0])))
        spec = read_checkpoint(ckpts[0][0], image_size)[0]
        if spec not in specs:
            specs.append(spec)
        pending.append(Pending(model_id, len(ckpts), (trial, ckpts), specs.index(spec)))
    pending.sort(key=lambda p: p.spec)  # a shard holds one spec

    def load(p: Pending) -> Rows:
        trial, ckpts = p.source
        rows = []
        for path, info in ckpts:
            spec, state, numbers = read_checkpoint(path, image_size)
            if spec != specs[p.spec]:
                raise WeightspaceError(f"{path}: its architecture differs from its trial's other checkpoints")
            row = {"trial": trial, "split": info["split"], "epoch": int(info["step"] or numbers.get("iteration") or 0),
                   "test_accuracy": info["score"], "file": str(path.relative_to(folder.resolve()))}  # fmt: skip
            rows.append((state, row | {k: float(v) for k, v in numbers.items() if k != "iteration"}))
        return rows

    source = {"format": "cnn-park", "folder": str(folder.resolve()), "networks": len(pending)}
    return write_networks(out, f"{folder.name}-cnn-park", specs, pending, load, source, shard_size=64)
