"""A zoo as a Hugging Face `datasets` Parquet folder: one row per network x checkpoint, its metadata columns and
the flat weight vector as a fixed-size list of float32 (the spec's layout order, `spec.json` beside it).

    OUT/data/train-00000-of-00001.parquet
    OUT/spec.json, OUT/README.md (a dataset card naming the files)

`datasets.load_dataset("parquet", data_files=...)` or `load_dataset(OUT)` reads it; so does pyarrow alone.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from weightspace.fileio import atomic_path, write_text_atomic
from weightspace.zoo.store import Zoo

CARD = """---
configs:
- config_name: default
  data_files:
  - split: train
    path: data/train-*.parquet
---
# {name}

A weightspace model zoo: {rows} rows (network x checkpoint) of `{spec}` ({params:,} parameters each).
Column `weights` holds each network's parameters flattened in the order of `spec.json`'s layout;
the other columns are the zoo table (seeds, task, epoch, metrics).
"""


def export_hf_parquet(zoo: Zoo, out: str | Path, chunk: int = 1024) -> Path:
    out = Path(out)
    spec = zoo.specs[0]
    params = spec.num_params()
    table = zoo.table.drop(columns=["shard", "index"])
    path = out / "data" / "train-00000-of-00001.parquet"
    with atomic_path(path) as tmp:
        writer = None
        for start in range(0, len(zoo), chunk):
            rows = range(start, min(start + chunk, len(zoo)))
            flat = zoo.flat(rows).numpy().reshape(-1)
            weights = pa.FixedSizeListArray.from_arrays(pa.array(flat, type=pa.float32()), params)
            batch = pa.Table.from_pandas(table.iloc[list(rows)], preserve_index=False).append_column("weights", weights)
            if writer is None:
                writer = pq.ParquetWriter(tmp, batch.schema)
            writer.write_table(batch)
        writer.close()
    write_text_atomic(out / "spec.json", spec.to_json(indent=1))
    card = CARD.format(name=zoo.manifest["name"], rows=len(zoo), spec=spec.name or "network", params=params)
    write_text_atomic(out / "README.md", card)
    return out
