"""`zoo.json`: the zoo's root of trust. It lists every shard with its SHA-256, the SHA-256 of `models.parquet` and
of the config, and a hash of its own canonical content, so any edit to any file of a zoo is detectable.

Schema 2 (docs/zoo-format.md).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

import weightspace
from weightspace.errors import WeightspaceError
from weightspace.fileio import sha256_bytes, write_text_atomic
from weightspace.nets.graph import Spec

SCHEMA_VERSION = 2
SHARD_NAME = re.compile(r"[0-9A-Za-z_-]+\.safetensors")
SHA256 = r"^[0-9a-f]{64}$"


class ZooError(WeightspaceError):
    """A zoo directory is missing, incomplete, corrupt, or in use by another writer."""


def canonical_json(value: Any) -> bytes:
    """One byte string per JSON value: sorted keys, no whitespace (hashes do not depend on formatting)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


def sha256_json(value: Any) -> str:
    return sha256_bytes(canonical_json(value))


class ShardEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    id: int = Field(ge=0)
    file: str
    sha256: str = Field(pattern=SHA256)
    rows: int = Field(ge=1)


class Manifest(BaseModel):
    """The fields of zoo.json, checked strictly: a hostile or damaged file is refused, never half-read."""

    model_config = ConfigDict(extra="forbid", strict=True)
    schema_: int = Field(alias="schema")
    name: str
    weightspace: str
    specs: list[dict[str, Any]] = Field(min_length=1)
    config: dict[str, Any]
    config_sha256: str = Field(pattern=SHA256)
    shards: list[ShardEntry]
    complete: bool
    rows: int | None = None
    models_sha256: str | None = Field(None, pattern=SHA256)
    manifest_sha256: str = Field(pattern=SHA256)


def shard_file(root: Path, entry: dict[str, Any]) -> Path:
    """The path of a listed shard; only plain names inside `shards/` are accepted (no `..`, no absolute paths)."""
    file = entry["file"]
    folder, _, name = file.partition("/")
    if folder != "shards" or not SHARD_NAME.fullmatch(name):
        raise ZooError(f"{root}/zoo.json lists shard file {file!r}, which is not a plain name inside shards/")
    return Path(root) / "shards" / name


def new_manifest(name: str, specs: list[Spec], config: dict[str, Any]) -> dict[str, Any]:
    return {
        "schema": SCHEMA_VERSION,
        "name": name,
        "weightspace": weightspace.__version__,
        "specs": [json.loads(s.to_json()) for s in specs],
        "config": config,
        "config_sha256": sha256_json(config),
        "shards": [],
        "complete": False,
    }


def write_manifest(root: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    body = {k: v for k, v in manifest.items() if k != "manifest_sha256"}
    manifest = body | {"manifest_sha256": sha256_json(body)}
    write_text_atomic(Path(root) / "zoo.json", json.dumps(manifest, indent=1, allow_nan=False))
    return manifest


def read_manifest(root: Path) -> dict[str, Any]:
    """zoo.json, checked: valid JSON, this schema, every field of the right type, its own hash, the config hash
    and every shard name. Raises ZooError naming what is wrong."""
    path = Path(root) / "zoo.json"
    if not path.is_file():
        raise ZooError(f"{root} is not a zoo (no zoo.json); make one with `weightspace zoo generate`")
    try:
        manifest = json.loads(path.read_bytes())
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ZooError(f"{path} is damaged: not valid JSON ({err}); restore it from a copy") from None
    if not isinstance(manifest, dict):
        raise ZooError(f"{path} is damaged: not a JSON object")
    if manifest.get("schema") != SCHEMA_VERSION:
        raise ZooError(
            f"{path}: schema {manifest.get('schema')!r} is not one this weightspace reads ({SCHEMA_VERSION})"
        )
    try:
        Manifest.model_validate(manifest)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(map(str, first["loc"]))
        raise ZooError(f"{path} is damaged: {where}: {first['msg']} ({err.error_count()} problem(s))") from None
    body = {k: v for k, v in manifest.items() if k != "manifest_sha256"}
    try:
        own = sha256_json(body)
    except ValueError:
        own = None  # NaN or infinity in a field: not what we write
    if own != manifest["manifest_sha256"]:
        raise ZooError(f"{path} was edited or damaged: its content no longer matches its manifest_sha256")
    if sha256_json(manifest["config"]) != manifest["config_sha256"]:
        raise ZooError(f"{path} is damaged: its config does not match config_sha256")
    for entry in manifest["shards"]:
        shard_file(root, entry)
    ids = [e["id"] for e in manifest["shards"]]
    if len(set(ids)) != len(ids):
        raise ZooError(f"{path} is damaged: a shard id is listed twice")
    return manifest
