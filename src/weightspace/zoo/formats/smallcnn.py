"""The "small CNN zoo" layout of Unterthiner et al., as published and as nfn's experiments read it.

    weights.npy      [N, P] float32, each row one network's variables in TensorFlow layout (conv kernels
                     (kh, kw, in, out), dense kernels (in, out)), concatenated in layout order
    layout.csv       varname (".../kernel:0", ".../bias:0"), start_idx, end_idx, size, shape ("(3, 3, 1, 16)")
    metrics.csv.gz   one row per network (gzip CSV)

weightspace writes exactly this (plus spec.json, the ArchSpec, so a round trip needs no --arch) and reads it back.
It also reads the layout older weightspace versions wrote (name, offset, size, shape "AxB", PyTorch layout).
"""

from __future__ import annotations

import gzip
import io
import math
import re
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from weightspace.errors import WeightspaceError
from weightspace.fileio import atomic_path, write_text_atomic
from weightspace.limits import check_bytes, check_shape, whole_number
from weightspace.nets import ArchSpec, Conv2d, NetBatch
from weightspace.zoo.formats.keras import keras_to_torch, torch_to_keras
from weightspace.zoo.store import Zoo
from weightspace.zoo.writer import write_zoo


def keras_names(spec: ArchSpec) -> list[str]:
    """Keras' automatic layer names for the spec's weighted layers: conv2d, conv2d_1, ..., dense, dense_1, ..."""
    seen: dict[str, int] = {}
    names = []
    for i in spec.parametric_layers():
        base = "conv2d" if isinstance(spec.layers[i], Conv2d) else "dense"
        k = seen.get(base, 0)
        seen[base] = k + 1
        names.append(base if k == 0 else f"{base}_{k}")
    return names


def export_smallcnn(zoo: Zoo, out: str | Path, chunk: int = 1024) -> Path:
    """The zoo in the small-CNN-zoo layout (TensorFlow ordering), written chunk by chunk."""
    out = Path(out)
    spec = zoo.specs[0]
    columns = []
    for name, (kernel, bias) in zip(keras_names(spec), torch_to_keras(spec, _zeros(spec))):
        columns.append((f"sequential/{name}/kernel:0", kernel.shape))
        if bias is not None:
            columns.append((f"sequential/{name}/bias:0", bias.shape))
    offsets = np.cumsum([0] + [int(np.prod(s)) for _, s in columns])
    layout = pd.DataFrame(
        {"varname": [v for v, _ in columns], "start_idx": offsets[:-1], "end_idx": offsets[1:],
         "size": np.diff(offsets), "shape": [str(tuple(int(d) for d in s)) for _, s in columns]}
    )  # fmt: skip
    with atomic_path(out / "weights.npy") as tmp:
        rows = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(len(zoo), int(offsets[-1])))
        for start in range(0, len(zoo), chunk):
            for j, net in enumerate(zoo.batch(range(start, min(start + chunk, len(zoo)))).nets()):
                flat = [a.reshape(-1) for pair in torch_to_keras(spec, net.params) for a in pair if a is not None]
                rows[start + j] = np.concatenate(flat)
        rows.flush()
        del rows
    with atomic_path(out / "layout.csv") as tmp:
        layout.to_csv(tmp, index=False)
    with atomic_path(out / "metrics.csv.gz") as tmp, gzip.open(tmp, "wt") as f:
        zoo.table.drop(columns=["shard", "index"]).to_csv(f, index=False)
    write_text_atomic(out / "spec.json", spec.to_json(indent=1))
    return out


def _zeros(spec: ArchSpec) -> dict[str, torch.Tensor]:
    """Stand-in parameters, to learn the Keras shapes of a spec's variables."""
    return {k: torch.zeros(s) for k, s in spec.state_shapes().items()}


def _csv(path: Path, limit: int = 64 << 20) -> pd.DataFrame:
    """A CSV of at most `limit` bytes once decompressed (a gzip bomb is refused, not inflated)."""
    try:
        with gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb") as f:
            text = f.read(limit + 1)
        check_bytes(len(text), f"{path} (decompressed)", limit)
        return pd.read_csv(io.BytesIO(text))
    except (ValueError, OSError, EOFError, zlib.error) as err:  # pandas' parser errors are ValueErrors
        first = (str(err).splitlines() or [type(err).__name__])[0]
        raise WeightspaceError(f"{path} is not a readable CSV ({first})") from None


def _metrics(folder: Path, networks: int) -> pd.DataFrame:
    for name in ("metrics.csv.gz", "metrics.csv"):
        if (folder / name).is_file():
            return _csv(folder / name, (64 << 20) + 4096 * networks)
    raise WeightspaceError(f"{folder} lacks metrics.csv.gz (or metrics.csv)")


def import_smallcnn(folder: str | Path, out: str | Path, spec: ArchSpec | None = None) -> Zoo:
    folder = Path(folder)
    for name in ("weights.npy", "layout.csv"):
        if not (folder / name).is_file():
            raise WeightspaceError(
                f"{folder} lacks {name}: a small-CNN zoo folder has weights.npy, layout.csv, metrics"
            )
    if spec is None:
        if not (folder / "spec.json").is_file():
            raise WeightspaceError(f"{folder} has no spec.json; give the architecture with --arch (e.g. small-cnn)")
        spec = ArchSpec.from_json((folder / "spec.json").read_text())
    try:
        weights = np.load(folder / "weights.npy", allow_pickle=False, mmap_mode="r")  # never unpickle a user's file
    except (ValueError, OSError, EOFError) as err:  # click would read an EOFError as an abort
        raise WeightspaceError(f"{folder / 'weights.npy'} is not a readable .npy array ({err})") from None
    layout = _csv(folder / "layout.csv")
    metrics = _metrics(folder, weights.shape[0] if weights.ndim else 0)
    if weights.ndim != 2 or len(metrics) != len(weights):
        raise WeightspaceError(f"metrics has {len(metrics)} rows, weights.npy {len(weights)} networks")
    if {"varname", "start_idx", "end_idx", "shape"} <= set(layout.columns):
        stacked = _from_keras_layout(spec, weights, layout)
    elif {"name", "offset", "size", "shape"} <= set(layout.columns):
        stacked = _from_torch_layout(weights, layout)
    else:
        raise WeightspaceError(f"{folder / 'layout.csv'} has neither varname/start_idx/end_idx/shape nor name/offset")
    rows = metrics.drop(columns=["spec", "shard", "index"], errors="ignore").to_dict("records")
    if "model_id" not in metrics.columns:
        rows = [{"model_id": i} | r for i, r in enumerate(rows)]
    return write_zoo(out, f"{folder.name}-import", NetBatch(spec, stacked), rows, source={"format": "small-cnn-zoo"})


def _from_keras_layout(spec: ArchSpec, weights: np.ndarray, layout: pd.DataFrame) -> dict[str, torch.Tensor]:
    if weights.shape[1] != whole_number(layout["end_idx"].max(), "layout.csv: end_idx"):
        raise WeightspaceError(
            f"weights.npy has {weights.shape[1]} columns; layout.csv ends at {layout['end_idx'].max()}"
        )
    parts = []
    for n, r in enumerate(layout.itertuples(), 2):
        where = f"layout.csv line {n}"
        start, end = (whole_number(v, f"{where}: {k}", 0, weights.shape[1]) for k, v in
                      (("start_idx", r.start_idx), ("end_idx", r.end_idx)))  # fmt: skip
        shape = parse_shape(r.shape, where)
        if math.prod(shape) != end - start:
            raise WeightspaceError(f"{where}: shape {list(shape)} holds {math.prod(shape)} values, not {end - start}")
        parts.append((str(r.varname), weights[:, start:end].reshape(-1, *shape)))
    pairs, i = [], 0  # (kernel, bias) per weighted layer, in layout order
    while i < len(parts):
        if not parts[i][0].endswith("kernel:0"):
            raise WeightspaceError(f"layout.csv: {parts[i][0]} is not a kernel where one is expected")
        bias = parts[i + 1][1] if i + 1 < len(parts) and parts[i + 1][0].endswith("bias:0") else None
        pairs.append((parts[i][1], bias))
        i += 2 if bias is not None else 1
    try:
        per_net = [
            keras_to_torch(spec, [(k[j], None if b is None else b[j]) for k, b in pairs]) for j in range(len(weights))
        ]
    except (ValueError, RuntimeError) as err:
        raise WeightspaceError(f"layout.csv does not fit the architecture {spec.name or ''} ({err})") from None
    return {k: torch.stack([p[k] for p in per_net]) for k in per_net[0]}


def parse_shape(text, where: str) -> tuple[int, ...]:
    """A layout's shape field, "(3, 3, 1, 16)" or "3x3x1x16", as ints: only digits and separators are read."""
    text = str(text).strip()
    if not re.fullmatch(r"\(?\s*\d{1,9}(\s*[,x]\s*\d{1,9})*\s*,?\s*\)?", text):
        raise WeightspaceError(f"{where}: shape {text[:60]!r} is not a list of whole numbers like (3, 3, 1, 16)")
    return check_shape(re.findall(r"\d+", text), where)


def _from_torch_layout(weights: np.ndarray, layout: pd.DataFrame) -> dict[str, torch.Tensor]:
    n, out = len(weights), {}
    for i, r in enumerate(layout.itertuples(), 2):
        where = f"layout.csv line {i}"
        offset = whole_number(r.offset, f"{where}: offset", 0, weights.shape[1])
        size = whole_number(r.size, f"{where}: size", 0, weights.shape[1] - offset)
        shape = parse_shape(r.shape, where)
        if math.prod(shape) != size:
            raise WeightspaceError(f"{where}: shape {list(shape)} holds {math.prod(shape)} values, not {size}")
        out[str(r.name)] = torch.from_numpy(np.ascontiguousarray(weights[:, offset : offset + size])).reshape(n, *shape)
    if sum(math.prod(v.shape[1:]) for v in out.values()) != weights.shape[1]:
        raise WeightspaceError(f"weights.npy has {weights.shape[1]} columns; layout.csv describes another number")
    return {k: v.float() for k, v in out.items()}
