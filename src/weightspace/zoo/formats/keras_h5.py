"""Import Kurtenbach & Shamir's published per-network Keras `.h5` files into a Zoo (h5py reads; no pickle)."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Sequence
from pathlib import Path

import torch

from weightspace.errors import WeightspaceError
from weightspace.nets.net import check_params
from weightspace.nets.presets import lenet5_seed
from weightspace.nets.spec import ArchSpec
from weightspace.zoo.formats.keras import keras_to_torch
from weightspace.zoo.store import Zoo
from weightspace.zoo.writer import write_zoo


def _natural(name: str) -> tuple:
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name))


def read_h5_layers(path: Path) -> list[tuple]:
    """(kernel, bias) of every weighted layer of a Keras file, in layer order: a legacy `.h5` full model or
    `save_weights` file (Keras 2 or 3), a Keras 3 `.weights.h5` (`layers/<name>/vars/<i>`), or a `.keras` archive."""
    return read_keras(path)[0]


def read_keras(path: Path) -> tuple[list[tuple], dict[str, str]]:
    """(layers as in `read_h5_layers`, {"policy": the dtype policy it was trained under, "stored": dtype on disk})."""
    import h5py

    path = Path(path)
    try:
        if path.suffix == ".keras":
            with zipfile.ZipFile(path) as archive:
                config = archive.read("config.json").decode() if "config.json" in archive.namelist() else ""
                with h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r") as f:
                    return _read_tree(f), {"policy": _policy(config), "stored": _stored(f)}
        with h5py.File(path, "r") as f:
            config = f.attrs.get("model_config", "")
            config = config.decode() if isinstance(config, bytes) else str(config)
            return _read_tree(f), {"policy": _policy(config), "stored": _stored(f)}
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as err:
        raise WeightspaceError(f"{path}: not a readable Keras weights file ({err})") from None


def _read_tree(f) -> list[tuple]:
    if "layers" in f and "layer_names" not in f.attrs and "model_weights" not in f:
        return _read_keras3_weights(f["layers"])
    group = f.get("model_weights", f)
    names = [n.decode() if isinstance(n, bytes) else str(n) for n in group.attrs.get("layer_names", [])]
    names = names or sorted(group.keys(), key=_natural)
    layers = []
    for name in names:
        found: dict[str, object] = {}

        def collect(key: str, obj, found=found) -> None:  # visititems stops at the first non-None return
            found.setdefault(key.split("/")[-1], obj)

        group[name].visititems(collect)
        kernel = next((v for k, v in found.items() if k.startswith("kernel")), None)
        if kernel is None:
            continue  # pooling, flatten: no weights
        bias = next((v for k, v in found.items() if k.startswith("bias")), None)
        layers.append((kernel[()], None if bias is None else bias[()]))
    return layers


def _read_keras3_weights(layers_group) -> list[tuple]:
    """Keras 3's weights format: layers/<name>/vars/0 (kernel), 1 (bias), in the model's order. Auto-named layers
    (conv2d, conv2d_1, dense, ...) sort into that order; the optimizer's variables live elsewhere and are ignored."""
    out = []
    for name in sorted(layers_group.keys(), key=_natural):
        variables = layers_group[name].get("vars")
        if variables is None or "0" not in variables:
            continue
        bias = variables["1"][()] if "1" in variables else None
        out.append((variables["0"][()], bias))
    return out


def _policy(config: str) -> str:
    for name in ("mixed_float16", "mixed_bfloat16"):
        if name in config:
            return name
    return "float32" if config else "unknown"


def _stored(f) -> str:
    dtypes = set()
    f.visititems(lambda key, obj: dtypes.add(str(obj.dtype)) if hasattr(obj, "dtype") and obj.ndim > 0 else None)
    return ",".join(sorted(dtypes)) or "unknown"


def import_keras_h5(
    files: Sequence[str | Path], out: str | Path, spec: ArchSpec | None = None, task_of=lambda p: Path(p).parent.name
) -> Zoo:
    """One zoo from many per-network .h5 files; `task_of(path)` names each network's task (default: its folder)."""
    spec = spec or lenet5_seed()
    files = sorted(Path(p) for p in files)
    if not files:
        raise WeightspaceError("no .h5 files given to import")
    nets, rows = [], []
    for i, path in enumerate(files):
        try:
            params = keras_to_torch(spec, read_h5_layers(path))
            check_params(spec, params)
        except (KeyError, OSError, ValueError) as err:
            raise WeightspaceError(f"{path}: not a Keras model of the expected architecture ({err})") from None
        nets.append(params)
        rows.append({"model_id": i, "task": task_of(path), "epoch": 20, "file": str(path)})
    stacked = {k: torch.stack([n[k] for n in nets]) for k in nets[0]}
    return write_zoo(out, "keras-h5-import", spec, stacked, rows, source={"format": "keras-h5", "files": len(files)})
