"""`verify`: prove every byte of a zoo, or list each problem in one line. `upgrade`: schema 1 -> 2, after the same
checks schema 1 allowed (shard hashes in zoo.json and rows against the shards' headers)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from weightspace.fileio import sha256_bytes, sha256_file
from weightspace.nets.graph import Spec, load_spec
from weightspace.zoo.lock import zoo_lock
from weightspace.zoo.manifest import SHARD_NAME, ZooError, new_manifest, read_manifest, shard_file
from weightspace.zoo.shards import check_shard, read_header, write_shard
from weightspace.zoo.store import check_table, finalize, read_table, remove_stale_temps

__all__ = ["upgrade", "verify"]


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


def upgrade(root: str | Path) -> dict[str, Any]:
    """Check a schema-1 zoo as schema 1 allows (each shard's SHA-256 in zoo.json, models.parquet against the
    shards' rows), then rewrite it as schema 2: the same tensors and rows, new headers, hashes everywhere."""
    root = Path(root)
    try:
        old = json.loads((root / "zoo.json").read_bytes())
    except (OSError, ValueError) as err:
        raise ZooError(f"{root}/zoo.json cannot be read ({err})") from None
    if not isinstance(old, dict) or old.get("schema") != 1:
        raise ZooError(f"{root} is not a schema-1 zoo; nothing to upgrade")
    if not old.get("complete"):
        raise ZooError(f"{root} is an incomplete schema-1 zoo; finish it with the weightspace that started it")
    with zoo_lock(root):
        remove_stale_temps(root)
        rows, tensors = {}, {}
        for entry in old.get("shards", []):
            name = Path(str(entry.get("file", ""))).name
            path = root / "shards" / name
            if str(entry.get("file")) != f"shards/{name}" or not SHARD_NAME.fullmatch(name) or not path.is_file():
                raise ZooError(f"schema-1 zoo {root}: shard {entry.get('file')!r} is missing or not inside shards/")
            if sha256_file(path) != entry.get("sha256"):
                raise ZooError(f"schema-1 zoo {root}: shard {path.name} is damaged (SHA-256 differs); cannot upgrade")
            from safetensors.torch import load_file

            rows[int(entry["id"])] = read_header(path)["rows"]
            tensors[int(entry["id"])] = load_file(path)
        table = read_table((root / "models.parquet").read_bytes(), root / "models.parquet")
        expected = pd.DataFrame([{"shard": s, "index": i} | r for s in sorted(rows) for i, r in enumerate(rows[s])])
        try:
            pd.testing.assert_frame_equal(table, expected, check_dtype=False)
        except AssertionError:
            raise ZooError(f"schema-1 zoo {root}: models.parquet disagrees with its shards; cannot upgrade") from None
        specs = [load_spec(s) for s in old["specs"]]
        manifest = new_manifest(old["name"], specs, old.get("config") or {})
        for sid in sorted(rows):
            write_shard(root, sid, tensors[sid], rows[sid], manifest["config_sha256"])
        return finalize(root, manifest, sorted(rows))
