"""Import Kurtenbach & Shamir's published per-network Keras `.h5` files into a Zoo (h5py reads; no pickle)."""

from __future__ import annotations

import re
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
    """(kernel, bias) of every weighted layer in a Keras full-model or weights-only .h5 file, in layer order."""
    import h5py

    with h5py.File(path, "r") as f:
        group = f.get("model_weights", f)
        names = [n.decode() if isinstance(n, bytes) else n for n in group.attrs.get("layer_names", [])]
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
