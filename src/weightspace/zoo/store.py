"""The zoo directory format (docs/zoo-format.md) and the `Zoo` reader.

    zoo.json                  schema, specs, config, shard list with SHA-256s, complete flag
    shards/NNNNN.safetensors  stacked tensors [rows, ...] per name; the shard's rows as JSON in the header
    models.parquet            one row per network x checkpoint (all shards' rows)

A shard file carries its own rows, so a shard written by any worker is self-describing and complete on its own;
`models.parquet` and the hashes in `zoo.json` are assembled from the shard files when a zoo is finalised.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

import weightspace
from weightspace.errors import WeightspaceError
from weightspace.fileio import atomic_path, sha256_file, write_text_atomic
from weightspace.nets.net import Layout, Net
from weightspace.nets.spec import ArchSpec

SCHEMA_VERSION = 1
ROWS_KEY = "weightspace.rows"


class ZooError(WeightspaceError):
    """A zoo directory is missing, incomplete or corrupt."""


def shard_path(root: Path, shard_id: int) -> Path:
    return Path(root) / "shards" / f"{shard_id:05d}.safetensors"


def write_shard(root: Path, shard_id: int, tensors: dict[str, torch.Tensor], rows: list[dict[str, Any]]) -> Path:
    """Write one shard atomically: tensors stacked [len(rows), ...] and the rows in the header."""
    n = len(rows)
    if any(t.shape[0] != n for t in tensors.values()):
        raise ZooError(f"shard {shard_id}: every tensor needs {n} rows")
    path = shard_path(root, shard_id)
    with atomic_path(path) as tmp:
        save_file({k: v.contiguous() for k, v in tensors.items()}, tmp, metadata={ROWS_KEY: json.dumps(rows)})
    return path


def read_shard_rows(path: Path) -> list[dict[str, Any]]:
    """The rows stored in a shard's header; raises ZooError if the file is not a whole shard."""
    try:
        with safe_open(path, framework="pt") as f:
            return json.loads((f.metadata() or {})[ROWS_KEY])
    except (SafetensorError, OSError, KeyError, json.JSONDecodeError) as err:
        raise ZooError(f"{path} is not a readable zoo shard ({err})") from None


def write_manifest(root: Path, manifest: dict[str, Any]) -> None:
    write_text_atomic(Path(root) / "zoo.json", json.dumps(manifest, indent=1))


def new_manifest(name: str, specs: Sequence[ArchSpec], config: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "schema": SCHEMA_VERSION,
        "name": name,
        "weightspace": weightspace.__version__,
        "specs": [json.loads(s.to_json()) for s in specs],
        "config": config or {},
        "shards": [],
        "complete": False,
    }


def finalize(root: Path, manifest: dict[str, Any], shard_ids: Sequence[int]) -> dict[str, Any]:
    """Hash every shard, gather all rows into models.parquet, and mark the zoo complete."""
    root = Path(root)
    rows, shards = [], []
    for sid in sorted(shard_ids):
        path = shard_path(root, sid)
        shard_rows = read_shard_rows(path)
        for i, row in enumerate(shard_rows):
            rows.append({"shard": sid, "index": i} | row)
        shards.append(
            {"id": sid, "file": str(path.relative_to(root)), "sha256": sha256_file(path), "rows": len(shard_rows)}
        )
    table = pd.DataFrame(rows)
    with atomic_path(root / "models.parquet") as tmp:
        table.to_parquet(tmp, index=False)
    manifest = manifest | {"shards": shards, "complete": True, "rows": len(table)}
    write_manifest(root, manifest)
    return manifest


class Zoo:
    """A model zoo on disk: a metadata table plus stacked tensors, read lazily shard by shard.

    `zoo.table` is a pandas DataFrame (one row per network x checkpoint); `filter` returns a view of the same
    storage. Tensors come back by row as `Net`s, as stacked {name: [n, ...]} dicts, or as flat [n, P] matrices.
    """

    def __init__(self, root: Path, manifest: dict[str, Any], table: pd.DataFrame):
        self.root, self.manifest, self.table = Path(root), manifest, table.reset_index(drop=True)
        self.specs = [ArchSpec.model_validate(s) for s in manifest["specs"]]

    @classmethod
    def open(cls, root: str | Path) -> Zoo:
        root = Path(root)
        if not (root / "zoo.json").is_file():
            raise ZooError(f"{root} is not a zoo (no zoo.json); make one with `weightspace zoo generate`")
        manifest = json.loads((root / "zoo.json").read_text())
        if manifest.get("schema") != SCHEMA_VERSION:
            raise ZooError(f"{root}: zoo schema {manifest.get('schema')} is not {SCHEMA_VERSION}; convert it first")
        if not manifest.get("complete"):
            raise ZooError(f"{root} is incomplete; finish it with `weightspace zoo generate ... --resume`")
        if not (root / "models.parquet").is_file():
            raise ZooError(f"{root}: models.parquet is missing; run `weightspace zoo verify {root}`")
        return cls(root, manifest, pd.read_parquet(root / "models.parquet"))

    # -- table --------------------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.table)

    def __repr__(self) -> str:
        return f"Zoo({self.manifest['name']!r}, {len(self)} rows, {len(self.specs)} spec(s), {self.root})"

    def filter(self, query: str | None = None, **equals: Any) -> Zoo:
        """Rows matching a pandas query string and/or column == value conditions (value may be a list)."""
        table = self.table.query(query) if query else self.table
        for col, value in equals.items():
            if col not in table.columns:
                raise ZooError(f"no column {col!r}; columns: {', '.join(table.columns)}")
            table = table[table[col].isin(value if isinstance(value, list | tuple) else [value])]
        return Zoo(self.root, self.manifest, table)

    def spec_of_row(self, row: int) -> ArchSpec:
        return self.specs[int(self.table.iloc[row].get("spec", 0))]

    # -- tensors ------------------------------------------------------------------------------------------------
    def _read(self, shard: int, indices: Sequence[int]) -> dict[str, torch.Tensor]:
        path = shard_path(self.root, shard)
        if not path.is_file():
            raise ZooError(f"shard {path} is missing; run `weightspace zoo verify {self.root}`")
        idx = torch.as_tensor(list(indices), dtype=torch.long)
        with safe_open(path, framework="pt") as f:
            return {k: f.get_tensor(k)[idx] for k in f.keys()}  # noqa: SIM118 (safe_open has no __iter__)

    def stacked(self, rows: Sequence[int] | None = None) -> dict[str, torch.Tensor]:
        """{name: [n, ...]} for the given row positions (default all); rows must share one spec."""
        table = self.table if rows is None else self.table.iloc[list(rows)]
        if "spec" in table.columns:
            shapes = {json.dumps(self.specs[int(k)].state_shapes()) for k in table["spec"].unique()}
            if len(shapes) > 1:
                raise ZooError("these rows mix architectures of different shapes; filter to one first (filter(spec=k))")
        parts: list[tuple[torch.Tensor, dict[str, torch.Tensor]]] = []
        shard_col = table["shard"].to_numpy()
        for shard, group in table.groupby("shard", sort=False):
            where = torch.from_numpy(np.flatnonzero(shard_col == shard))
            parts.append((where, self._read(int(shard), group["index"].tolist())))
        names = parts[0][1].keys()
        out = {}
        for name in names:
            first = parts[0][1][name]
            buf = torch.empty((len(table), *first.shape[1:]), dtype=first.dtype)
            for where, tensors in parts:
                buf[where] = tensors[name]
            out[name] = buf
        return out

    def flat(self, rows: Sequence[int] | None = None) -> torch.Tensor:
        """[n, P] flat vectors in the spec's layout order."""
        stacked = self.stacked(rows)
        spec = self.spec_of_row(0 if rows is None else list(rows)[0])
        return torch.cat([stacked[s.name].reshape(len(next(iter(stacked.values()))), -1) for s in Layout.of(spec)], 1)

    def net(self, row: int) -> Net:
        """One row as a Net; its metadata is the table row."""
        r = self.table.iloc[row]
        tensors = self._read(int(r["shard"]), [int(r["index"])])
        meta = {k: (v.item() if hasattr(v, "item") else v) for k, v in r.to_dict().items()}
        return Net(self.spec_of_row(row), {k: v[0] for k, v in tensors.items()}, meta)

    def __iter__(self) -> Iterator[Net]:
        for i in range(len(self)):
            yield self.net(i)

    def dataset(self, target: str | None = None, flat: bool = False) -> ZooDataset:
        return ZooDataset(self, target, flat)


class ZooDataset(torch.utils.data.Dataset):
    """A torch Dataset over a zoo: items are Nets (or flat vectors), with a target column if given."""

    def __init__(self, zoo: Zoo, target: str | None = None, flat: bool = False):
        if target is not None and target not in zoo.table.columns:
            raise ZooError(f"no column {target!r} to use as a target; columns: {', '.join(zoo.table.columns)}")
        self.zoo, self.target, self.as_flat = zoo, target, flat

    def __len__(self) -> int:
        return len(self.zoo)

    def __getitem__(self, i: int):
        net = self.zoo.net(i)
        item = net.flat() if self.as_flat else net
        return item if self.target is None else (item, float(self.zoo.table.iloc[i][self.target]))


def verify(root: str | Path) -> list[str]:
    """Every problem found in a zoo directory (empty when it is whole): hashes, rows, shapes, missing files."""
    root = Path(root)
    if not (root / "zoo.json").is_file():
        return [f"{root}/zoo.json is missing: not a zoo"]
    manifest = json.loads((root / "zoo.json").read_text())
    problems = [] if manifest.get("complete") else ["zoo.json says the zoo is incomplete (generate --resume)"]
    specs = [ArchSpec.model_validate(s) for s in manifest.get("specs", [])]
    listed = {}
    for entry in manifest.get("shards", []):
        path = root / entry["file"]
        listed[path.name] = entry
        if not path.is_file():
            problems.append(f"shard {entry['file']} is missing")
        elif sha256_file(path) != entry["sha256"]:
            problems.append(f"shard {entry['file']} is corrupt: its SHA-256 differs from zoo.json")
    for path in sorted((root / "shards").glob("*.safetensors")):
        if path.name not in listed:
            problems.append(f"shard {path.name} is not listed in zoo.json")
    if not (root / "models.parquet").is_file():
        return problems + ["models.parquet is missing"]
    table = pd.read_parquet(root / "models.parquet")
    if len(table) != sum(e["rows"] for e in manifest.get("shards", [])):
        problems.append(f"models.parquet has {len(table)} rows, the shards hold {manifest.get('rows')}")
    dup = table.duplicated(["shard", "index"]).sum()
    if dup:
        problems.append(f"{dup} rows of models.parquet point at the same shard position")
    if "model_id" in table.columns and "epoch" in table.columns:
        dup = table.duplicated(["model_id", "epoch"]).sum()
        if dup:
            problems.append(f"{dup} (model_id, epoch) pairs appear more than once")
    by_shard = {int(e["id"]): e for e in manifest.get("shards", [])}
    for sid, group in table.groupby("shard"):
        entry = by_shard.get(int(sid))
        if entry is None:
            problems.append(f"models.parquet names shard {sid}, which zoo.json does not list")
            continue
        if group["index"].max() >= entry["rows"] or group["index"].min() < 0:
            problems.append(f"models.parquet points past the end of shard {sid}")
        path = root / entry["file"]
        if path.is_file() and specs:
            spec = specs[int(group["spec"].iloc[0])] if "spec" in group.columns else specs[0]
            try:
                with safe_open(path, framework="pt") as f:
                    shapes = {k: tuple(f.get_slice(k).get_shape()[1:]) for k in f.keys()}  # noqa: SIM118
                if shapes != spec.state_shapes():
                    problems.append(f"shard {sid}: tensor shapes do not match the zoo's spec")
            except (SafetensorError, OSError) as err:
                problems.append(f"shard {sid} cannot be read: {err}")
    return problems


def write_zoo(
    root: str | Path,
    name: str,
    spec: ArchSpec,
    stacked: dict[str, torch.Tensor],
    rows: Sequence[dict[str, Any]],
    shard_size: int = 256,
    source: dict[str, Any] | None = None,
) -> Zoo:
    """Write networks that already exist (imports, generated networks) as a complete zoo of one spec."""
    root = Path(root)
    if (root / "zoo.json").exists():
        raise ZooError(f"{root} already holds a zoo; choose another directory")
    n = len(rows)
    expected = spec.state_shapes()
    if set(stacked) != set(expected) or any(tuple(stacked[k].shape) != (n, *s) for k, s in expected.items()):
        raise ZooError(f"tensors do not match {n} networks of spec {spec.name or '(unnamed)'}")
    manifest = new_manifest(name, [spec], {"source": source or {}})
    write_manifest(root, manifest)
    ids = []
    for sid, start in enumerate(range(0, n, shard_size)):
        part = {k: v[start : start + shard_size] for k, v in stacked.items()}
        write_shard(root, sid, part, [{"spec": 0} | dict(r) for r in rows[start : start + shard_size]])
        ids.append(sid)
    finalize(root, manifest, ids)
    return Zoo.open(root)
