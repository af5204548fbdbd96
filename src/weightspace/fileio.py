"""File I/O every area shares: atomic writes (a file is whole or absent), hashes, safetensors reads."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it is fsynced and renamed over `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def sha256_file(path: str | os.PathLike, block: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(block):
            h.update(chunk)
    return h.hexdigest()


def read_safetensors(path: str | os.PathLike) -> tuple[dict[str, Any], dict[str, str]]:
    """(tensors, header metadata) of a safetensors file; one clear error when it is not one (never unpickles)."""
    from safetensors import SafetensorError, safe_open
    from safetensors.torch import load_file

    from weightspace.errors import WeightspaceError

    try:
        with safe_open(path, framework="pt") as f:
            header = f.metadata() or {}
        return load_file(path), header
    except (SafetensorError, OSError) as err:
        raise WeightspaceError(f"{path} is not a readable safetensors file: {err}") from None
