"""The zoo directory format (docs/zoo-format.md) and the `Zoo` reader.

    zoo.json                  schema, specs, config, shard list with SHA-256s, models.parquet's SHA-256, complete
    shards/NNNNN.safetensors  stacked tensors [rows, ...] per name; rows, id, config hash and content hash in the header
    models.parquet            one row per network x checkpoint (all shards' rows)

A shard file carries its own rows, so a shard written by any worker is self-describing and complete on its own;
`models.parquet` and the hashes in `zoo.json` are assembled from the shard files when a zoo is finalised.
Readers check what they return: zoo.json's own hash and models.parquet's hash on open, each shard's SHA-256 the
first time this process reads it (`verify=False` opts out), and every index against the shard's rows.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from safetensors import SafetensorError, safe_open

from weightspace.fileio import sha256_bytes, sha256_file
from weightspace.nets import Net, NetBatch
from weightspace.nets.graph import Spec, load_spec
from weightspace.zoo.manifest import (
    ZooError,
    read_manifest,
    shard_file,
)

__all__ = ["Zoo", "ZooDataset", "ZooError"]


# Shards whose SHA-256 this process has checked: (path, inode, size, mtime) -> hash. Re-checked if the file changes.
_CHECKED: dict[tuple, str] = {}


def _check_once(path: Path, expected: str) -> None:
    st = path.stat()
    key = (str(path.resolve()), st.st_ino, st.st_size, st.st_mtime_ns)
    if _CHECKED.get(key) != expected:
        if sha256_file(path) != expected:
            raise ZooError(f"shard {path} is damaged (its SHA-256 differs from zoo.json); run `weightspace zoo verify`")
        _CHECKED[key] = expected


class Zoo:
    """A model zoo on disk: a metadata table plus stacked tensors, read lazily shard by shard.

    `zoo.table` is a pandas DataFrame (one row per network x checkpoint); `filter` returns a view of the same
    storage. Tensors come back by row as `Net`s, as stacked {name: [n, ...]} dicts, or as flat [n, P] matrices.
    Damage anywhere is a ZooError naming the file, never data.
    """

    def __init__(self, root: Path, manifest: dict[str, Any], table: pd.DataFrame, verify: bool = True):
        self.root, self.manifest, self.table = Path(root), manifest, table.reset_index(drop=True)
        self.specs = [load_spec(s) for s in manifest["specs"]]
        self.verify = verify
        self._shards = {int(e["id"]): e for e in manifest["shards"]}

    @classmethod
    def open(cls, root: str | Path, verify: bool = True) -> Zoo:
        """Open a complete zoo. With `verify` (the default) models.parquet's hash is checked now and each shard's
        SHA-256 on its first read in this process; `verify=False` skips the hashes (bounds are always checked)."""
        root = Path(root)
        manifest = read_manifest(root)
        if not manifest["complete"]:
            raise ZooError(f"{root} is incomplete; finish it with `weightspace zoo generate ... --resume`")
        path = root / "models.parquet"
        if not path.is_file():
            raise ZooError(f"{path} is missing; run `weightspace zoo verify {root}`")
        data = path.read_bytes()
        if verify and sha256_bytes(data) != manifest["models_sha256"]:
            raise ZooError(
                f"{path} is damaged (its SHA-256 differs from zoo.json); run `weightspace zoo verify {root}`"
            )
        table = read_table(data, path)
        check_table(table, manifest, root)
        return cls(root, manifest, table, verify)

    # -- table --------------------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.table)

    def __repr__(self) -> str:
        return f"Zoo({self.manifest['name']!r}, {len(self)} rows, {len(self.specs)} spec(s), {self.root})"

    def filter(self, query: str | None = None, **equals: Any) -> Zoo:
        """Rows matching a pandas query string and/or column == value conditions (value may be a list).

        Values are compared as the column's type: `task=0` matches the task label "0"; a value the column cannot
        hold (a word for a numeric column) is refused rather than matching nothing."""
        try:
            table = self.table.query(query) if query else self.table
        except Exception as err:  # pandas raises many kinds for a bad expression
            raise ZooError(f"filter {query!r} is not a valid query on this zoo: {err}") from None
        for col, value in equals.items():
            if col not in table.columns:
                raise ZooError(f"no column {col!r}; columns: {', '.join(table.columns)}")
            values = value if isinstance(value, list | tuple | set) else [value]
            table = table[table[col].isin([_as_column_type(self.table[col], col, v) for v in values])]
        return Zoo(self.root, self.manifest, table, self.verify)

    def missing_shards(self) -> list[str]:
        """Shard files zoo.json lists that are not on disk (a cheap check; `verify` checks every byte)."""
        return [e["file"] for e in self.manifest["shards"] if not shard_file(self.root, e).is_file()]

    def spec_of_row(self, row: int) -> Spec:
        return self.specs[int(self.table.iloc[self._row(row)].get("spec", 0))]

    def _row(self, row: int) -> int:
        if not 0 <= int(row) < len(self.table):
            raise ZooError(f"row {row} is outside this zoo's rows 0..{len(self.table) - 1}")
        return int(row)

    # -- tensors ------------------------------------------------------------------------------------------------
    def _read(self, shard: int, indices: Sequence[int]) -> dict[str, torch.Tensor]:
        entry = self._shards[int(shard)]
        path = shard_file(self.root, entry)
        if not path.is_file():
            raise ZooError(f"shard {path} is missing; run `weightspace zoo verify {self.root}`")
        if self.verify:
            _check_once(path, entry["sha256"])
        bad = [i for i in indices if not 0 <= i < entry["rows"]]
        if bad:
            raise ZooError(f"index {bad[0]} is outside shard {path.name}'s {entry['rows']} rows")
        idx = torch.as_tensor(list(indices), dtype=torch.long)
        try:
            with safe_open(path, framework="pt") as f:
                out = {k: f.get_tensor(k)[idx] for k in f.keys()}  # noqa: SIM118 (safe_open has no __iter__)
        except (SafetensorError, OSError, ValueError, IndexError) as err:
            raise ZooError(f"shard {path} is damaged ({err}); run `weightspace zoo verify {self.root}`") from None
        return out

    def batch(self, rows: Sequence[int] | None = None) -> NetBatch:
        """The networks at the given row positions (default all) as one NetBatch; rows must share one spec. Their
        metadata is `table`'s rows. An empty selection gives empty [0, ...] tensors of the spec's shapes."""
        table = self.table if rows is None else self.table.iloc[[self._row(r) for r in rows]]
        spec_ids = table["spec"].unique().tolist() if "spec" in table.columns else [0]
        shapes = {json.dumps(self.specs[int(k)].state_shapes()) for k in spec_ids}
        if len(shapes) > 1:
            raise ZooError("these rows mix architectures of different shapes; filter to one first (filter(spec=k))")
        spec = self.specs[int(spec_ids[0])] if spec_ids else self.specs[0]
        # names in sorted order, as the shard files list them (features built from these tensors keep their order)
        out = {k: torch.empty((len(table), *s)) for k, s in sorted(spec.state_shapes().items())}
        shard_col = table["shard"].to_numpy()
        for shard, group in table.groupby("shard", sort=False):
            where = torch.from_numpy(np.flatnonzero(shard_col == shard))
            tensors = self._read(int(shard), group["index"].tolist())
            _check_shapes(tensors, spec, self._shards[int(shard)]["file"])
            for name in out:
                out[name][where] = tensors[name].to(out[name].dtype)
        return NetBatch(spec, out)

    def flat(self, rows: Sequence[int] | None = None) -> torch.Tensor:
        """[n, P] flat vectors in the spec's layout order ([0, P] for an empty selection)."""
        return self.batch(rows).flat()

    def net(self, row: int) -> Net:
        """One row as a Net; its metadata is the table row."""
        r = self.table.iloc[self._row(row)]
        spec = self.spec_of_row(row)
        tensors = self._read(int(r["shard"]), [int(r["index"])])
        _check_shapes(tensors, spec, self._shards[int(r["shard"])]["file"])
        meta = {k: (v.item() if hasattr(v, "item") else v) for k, v in r.to_dict().items()}
        return Net(spec, {k: v[0] for k, v in tensors.items()}, meta)

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


def read_table(data: bytes, path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(io.BytesIO(data))
    except Exception as err:  # pyarrow raises several kinds for damaged files
        raise ZooError(
            f"{path} cannot be read as Parquet ({type(err).__name__}); run `weightspace zoo verify`"
        ) from None


def check_table(table: pd.DataFrame, manifest: dict[str, Any], root: Path) -> None:
    """Every row points at a listed shard, inside it, at a known spec; the row count is the manifest's."""
    where = f"{root}/models.parquet"
    for col in ("shard", "index"):
        if col not in table.columns or not pd.api.types.is_integer_dtype(table[col]):
            raise ZooError(f"{where} is damaged: no integer {col!r} column")
    if len(table) != manifest["rows"]:
        raise ZooError(f"{where} has {len(table)} rows; zoo.json says {manifest['rows']}")
    rows = {int(e["id"]): int(e["rows"]) for e in manifest["shards"]}
    shard = table["shard"].to_numpy()
    index = table["index"].to_numpy()
    known = np.isin(shard, list(rows))
    if not known.all():
        raise ZooError(f"{where} names shard {int(shard[~known][0])}, which zoo.json does not list")
    limit = np.array([rows[int(s)] for s in shard]) if len(shard) else np.zeros(0)
    if ((index < 0) | (index >= limit)).any():
        raise ZooError(f"{where} points outside a shard's rows (a damaged index)")
    if table.duplicated(["shard", "index"]).any():
        raise ZooError(f"{where} has two rows pointing at the same shard position")
    if "spec" in table.columns and not table["spec"].between(0, len(manifest["specs"]) - 1).all():
        raise ZooError(f"{where} names a spec that zoo.json does not list")


def _check_shapes(tensors: dict[str, torch.Tensor], spec: Spec, file: str) -> None:
    expected = spec.state_shapes()
    got = {k: tuple(v.shape[1:]) for k, v in tensors.items()}
    if got != expected:
        raise ZooError(f"shard {file}: its tensors do not have the shapes of the zoo's spec {spec.name or ''}")


def _as_column_type(column: pd.Series, name: str, value: Any) -> Any:
    """`value` as the type of the column's values, or ZooError when it cannot be one."""
    numeric = pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)
    if numeric:
        if isinstance(value, bool) or not isinstance(value, int | float | np.number):
            raise ZooError(f"column {name!r} holds numbers; {value!r} is not one")
        return value
    if pd.api.types.is_bool_dtype(column):
        if not isinstance(value, bool | np.bool_):
            raise ZooError(f"column {name!r} holds true/false; {value!r} is not one")
        return value
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        return str(value)  # labels such as task "0"
    if not isinstance(value, str):
        raise ZooError(f"column {name!r} holds text; {value!r} is not text")
    return value


def load_net(source: str | Path, row: int | None = None) -> Net:
    """A network from a saved Net file (.safetensors) or, for a zoo directory, its table row `row` (default 0)."""
    source = Path(source)
    if (source / "zoo.json").is_file():
        return Zoo.open(source).net(row or 0)
    if source.is_file():
        if row is not None:
            raise ZooError(f"{source} is one network; a row applies to a zoo directory")
        return Net.load(source)
    raise ZooError(f"{source} is neither a network file (.safetensors) nor a zoo directory")
