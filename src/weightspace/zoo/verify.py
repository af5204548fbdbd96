"""`verify`: prove every byte of a zoo, or list each problem in one line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from weightspace.fileio import sha256_bytes
from weightspace.nets.graph import Spec, load_spec
from weightspace.zoo.manifest import ZooError, read_manifest, shard_file
from weightspace.zoo.shards import check_shard
from weightspace.zoo.store import check_table, read_table

__all__ = ["verify"]


def verify(root: str | Path) -> list[str]:
    """Every problem found in a zoo directory, one line each (empty when it is whole).

    Checks zoo.json's own hash, its config hash and shard names; every shard's SHA-256 against zoo.json and its
    content hash, config hash, id, row count and tensor shapes against the spec; no unlisted shard files; and
    models.parquet's SHA-256 and every one of its rows against the rows the shards carry in their headers.
    """
    root = Path(root)
    try:
        manifest = read_manifest(root)
    except ZooError as err:
        return [str(err)]
    problems = [] if manifest["complete"] else ["zoo.json says the zoo is incomplete (finish it: generate --resume)"]
    specs = [load_spec(s) for s in manifest["specs"]]
    expected_rows = []
    for entry in manifest["shards"]:
        path = shard_file(root, entry)
        if not path.is_file():
            problems.append(f"shard {entry['file']} is missing")
            continue
        try:
            shard = check_shard(path, manifest["config_sha256"], entry["id"])
        except ZooError as err:
            problems.append(str(err))
            continue
        rows = shard.rows
        if shard.sha256 != entry["sha256"]:
            problems.append(f"shard {entry['file']} is damaged: its SHA-256 differs from zoo.json")
            continue
        if len(rows) != entry["rows"]:
            problems.append(f"shard {entry['file']} holds {len(rows)} rows; zoo.json says {entry['rows']}")
            continue
        problems += _shape_problems(path, rows, shard.shapes, specs)
        expected_rows += [{"shard": entry["id"], "index": i} | r for i, r in enumerate(rows)]
    listed = {shard_file(root, e).name for e in manifest["shards"]}
    for path in sorted((root / "shards").glob("*")) if (root / "shards").is_dir() else []:
        if path.name not in listed and not path.name.startswith("."):
            problems.append(f"shards/{path.name} is not listed in zoo.json")
    if manifest["complete"]:
        problems += _table_problems(root, manifest, expected_rows, len(problems) == 0)
    return problems


def _shape_problems(path: Path, rows: list[dict[str, Any]], shapes: dict, specs: list[Spec]) -> list[str]:
    ids = {r.get("spec", 0) for r in rows}
    if len(ids) != 1 or not isinstance(next(iter(ids)), int) or not 0 <= next(iter(ids)) < len(specs):
        return [f"{path}: its rows name specs {sorted(map(str, ids))}, not one spec of zoo.json"]
    if shapes != specs[next(iter(ids))].state_shapes():
        return [f"{path}: tensor shapes do not match the zoo's spec"]
    return []


def _table_problems(root: Path, manifest: dict, expected_rows: list[dict], shards_ok: bool) -> list[str]:
    path = root / "models.parquet"
    if not path.is_file():
        return ["models.parquet is missing"]
    data = path.read_bytes()
    problems = []
    if sha256_bytes(data) != manifest["models_sha256"]:
        problems.append("models.parquet is damaged or edited: its SHA-256 differs from zoo.json")
    try:
        table = read_table(data, path)
        check_table(table, manifest, root)
    except ZooError as err:
        return problems + [str(err)]
    if shards_ok:
        expected = pd.DataFrame(expected_rows)
        try:
            pd.testing.assert_frame_equal(
                table.reset_index(drop=True), expected, check_dtype=False, check_column_type=False
            )
        except AssertionError as err:
            detail = " ".join(str(err).split())[:200]
            problems.append(f"models.parquet disagrees with the rows in the shards' headers ({detail})")
    if "model_id" in table.columns and "epoch" in table.columns and table.duplicated(["model_id", "epoch"]).any():
        problems.append("models.parquet lists a (model_id, epoch) pair more than once")
    return problems
