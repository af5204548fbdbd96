"""Import Kurtenbach & Shamir's published per-network Keras `.h5` files into a Zoo (h5py reads; no pickle)."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Sequence
from pathlib import Path

import torch

from weightspace import limits
from weightspace.errors import WeightspaceError
from weightspace.nets import ArchSpec, NetBatch, check_params, lenet5_seed
from weightspace.zoo.formats.keras import keras_to_torch
from weightspace.zoo.store import Zoo
from weightspace.zoo.writer import write_zoo


def _natural(name: str) -> tuple:
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name))


def read_h5_layers(path: Path, limit: int | None = None) -> list[tuple]:
    """(kernel, bias) of every weighted layer of a Keras file, in layer order: a legacy `.h5` full model or
    `save_weights` file (Keras 2 or 3), a Keras 3 `.weights.h5` (`layers/<name>/vars/<i>`), or a `.keras` archive."""
    return read_keras(path, limit)[0]


def spec_limit(spec: ArchSpec) -> int:
    """What one Keras file of `spec` may hold: its weights, an optimizer's state many times over, and headroom."""
    return 16 * 4 * spec.num_params() + (16 << 20)


def read_keras(path: Path, limit: int | None = None) -> tuple[list[tuple], dict[str, str]]:
    """(layers as in `read_h5_layers`, {"policy": the dtype policy it was trained under, "stored": dtype on disk}).

    Nothing larger than `limit` bytes (default MAX_FILE_BYTES) is decompressed or read: sizes are checked as
    declared, before anything is allocated."""
    import h5py

    path = Path(path)
    limit = limit or limits.MAX_FILE_BYTES
    try:
        if path.suffix == ".keras":
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
                for info in archive.infolist():
                    limits.check_bytes(info.file_size, f"{path}: its member {info.filename}", limit)
                config = archive.read("config.json").decode(errors="replace") if "config.json" in names else ""
                with h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r") as f:
                    return _read_tree(f, _guard(path, limit)), {"policy": _policy(config), "stored": _stored(f)}
        with h5py.File(path, "r") as f:
            config = f.attrs.get("model_config", "")
            config = config.decode(errors="replace") if isinstance(config, bytes) else str(config)
            return _read_tree(f, _guard(path, limit)), {"policy": _policy(config), "stored": _stored(f)}
    except (OSError, KeyError, ValueError, TypeError, AttributeError, RuntimeError, zipfile.BadZipFile) as err:
        first = (str(err).splitlines() or [type(err).__name__])[0]
        raise WeightspaceError(f"{path}: not a readable Keras weights file ({first})") from None


def _guard(path: Path, limit: int):
    """dataset -> its values, once its declared size is checked: at most `limit` bytes in all, and data stored
    uncompressed no larger than the file (HDF5 fills unwritten data in, so a tiny file can declare 149 GiB)."""
    size = path.stat().st_size
    total = 0

    def read(dataset):
        nonlocal total
        declared = int(dataset.size) * int(dataset.dtype.itemsize)
        total += declared
        limits.check_bytes(total, f"{path}: dataset {dataset.name}", limit)
        if not dataset.compression and declared > size:
            raise WeightspaceError(f"{path}: dataset {dataset.name} declares {declared:,} bytes in a file of {size:,}")
        return dataset[()]

    return read


def _read_tree(f, read) -> list[tuple]:
    if "layers" in f and "layer_names" not in f.attrs and "model_weights" not in f:
        return _read_keras3_weights(f["layers"], read)
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
        if not hasattr(kernel, "dtype") or (bias is not None and not hasattr(bias, "dtype")):
            raise WeightspaceError(f"layer {name}: its kernel or bias is a group, not an array")
        layers.append((read(kernel), None if bias is None else read(bias)))
    return layers


def _read_keras3_weights(layers_group, read) -> list[tuple]:
    """Keras 3's weights format: layers/<name>/vars/0 (kernel), 1 (bias), in the model's order. Auto-named layers
    (conv2d, conv2d_1, dense, ...) sort into that order; the optimizer's variables live elsewhere and are ignored."""
    out = []
    for name in sorted(layers_group.keys(), key=_natural):
        variables = layers_group[name].get("vars")
        if variables is None or "0" not in variables:
            continue
        bias = read(variables["1"]) if "1" in variables else None
        out.append((read(variables["0"]), bias))
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
            params = keras_to_torch(spec, read_h5_layers(path, spec_limit(spec)))
            check_params(spec, params)
        except (KeyError, OSError, ValueError) as err:
            raise WeightspaceError(f"{path}: not a Keras model of the expected architecture ({err})") from None
        nets.append(params)
        rows.append({"model_id": i, "task": task_of(path), "epoch": 20, "file": str(path)})
    stacked = {k: torch.stack([n[k] for n in nets]) for k in nets[0]}
    return write_zoo(
        out, "keras-h5-import", NetBatch(spec, stacked), rows, source={"format": "keras-h5", "files": len(files)}
    )
