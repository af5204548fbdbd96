"""Shard files: `shards/NNNNN.safetensors`, one tensor per state-dict name stacked [rows, ...].

A shard is self-describing and self-verifying: its header holds its rows, its shard id, the SHA-256 of the config
that made it, and a SHA-256 over all of that plus every tensor's name, dtype, shape and bytes. So a resumed run
can tell a whole shard of its own config from a damaged one or one copied in from another run, without zoo.json.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load, save_file

from weightspace.fileio import atomic_path, sha256_bytes
from weightspace.zoo.manifest import ZooError

HEADER_KEY = "weightspace.shard"  # one key: safetensors writes several metadata keys in no fixed order


def shard_path(root: Path, shard_id: int) -> Path:
    return Path(root) / "shards" / f"{shard_id:05d}.safetensors"


def content_sha256(info: dict[str, Any], tensors: dict[str, torch.Tensor]) -> str:
    """SHA-256 over the header's fields (all but this hash) and every tensor's name, dtype, shape and bytes."""
    fields = {k: v for k, v in info.items() if k != "content_sha256"}
    h = hashlib.sha256(json.dumps(fields, sort_keys=True, separators=(",", ":")).encode())
    for name in sorted(tensors):
        t = tensors[name].contiguous()
        h.update(json.dumps([name, str(t.dtype), list(t.shape)]).encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy())
    return h.hexdigest()


def write_shard(
    root: Path, shard_id: int, tensors: dict[str, torch.Tensor], rows: list[dict[str, Any]], config_sha256: str
) -> Path:
    """Write one shard atomically: tensors stacked [len(rows), ...]; rows, id and hashes in its header."""
    n = len(rows)
    if any(t.shape[0] != n for t in tensors.values()):
        raise ZooError(f"shard {shard_id}: every tensor needs {n} rows")
    tensors = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    info = {"shard": shard_id, "config_sha256": config_sha256, "rows": rows}
    info["content_sha256"] = content_sha256(info, tensors)
    path = shard_path(root, shard_id)
    with atomic_path(path) as tmp:
        save_file(tensors, tmp, metadata={HEADER_KEY: json.dumps(info)})
    return path


def read_header(path: Path) -> dict[str, Any]:
    """A shard's header fields; ZooError if the file is not a readable zoo shard."""
    try:
        with safe_open(path, framework="pt") as f:
            metadata = f.metadata() or {}
    except (SafetensorError, OSError, ValueError) as err:
        raise ZooError(f"{path} is not a readable zoo shard ({err}); run `weightspace zoo verify`") from None
    try:
        if HEADER_KEY in metadata:
            info = json.loads(metadata[HEADER_KEY])
        else:
            raise ZooError(f"{path} is not a zoo shard (no rows in its header)")
    except json.JSONDecodeError:
        info = None
    if not isinstance(info, dict) or not isinstance(info.get("rows"), list):
        raise ZooError(f"{path}: its header is damaged")
    if not all(isinstance(r, dict) for r in info["rows"]):
        raise ZooError(f"{path}: the rows in its header are damaged")
    return info


@dataclass(frozen=True)
class ShardCheck:
    """What reading a whole shard proved: its rows, the SHA-256 of the file, its tensors' per-row shapes."""

    rows: list[dict[str, Any]]
    sha256: str
    shapes: dict[str, tuple[int, ...]]


def check_shard(path: Path, config_sha256: str | None = None, shard_id: int | None = None) -> ShardCheck:
    """Read a whole shard once and prove it intact (content hash), and, when given, made by this config as this
    shard. Raises ZooError saying what is wrong."""
    info = read_header(path)
    if "content_sha256" not in info:
        raise ZooError(f"{path} has no content hash: not a shard of a schema-2 zoo")
    try:
        data = path.read_bytes()
        tensors = load(data)
    except (SafetensorError, OSError, ValueError) as err:
        raise ZooError(f"{path} is damaged ({err})") from None
    if content_sha256(info, tensors) != info["content_sha256"]:
        raise ZooError(f"{path} is damaged: its content does not match the hash in its header")
    if config_sha256 is not None and info.get("config_sha256") != config_sha256:
        raise ZooError(f"{path} was made by another config (another seed or settings), not this zoo's")
    if shard_id is not None and info.get("shard") != shard_id:
        raise ZooError(f"{path} holds shard {info.get('shard')}, not shard {shard_id}")
    if any(t.shape[0] != len(info["rows"]) for t in tensors.values()):
        raise ZooError(f"{path}: its tensors do not have one entry per row")
    shapes = {k: tuple(t.shape[1:]) for k, t in tensors.items()}
    return ShardCheck(info["rows"], sha256_bytes(data), shapes)
