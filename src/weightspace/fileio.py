"""File I/O every area shares: atomic writes (a file is whole or absent), hashes, safetensors reads, and the
saved-model pair NAME.safetensors + NAME.json."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import math
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = [
    "atomic_path",
    "current_umask",
    "disk_full",
    "json_safe",
    "read_model",
    "read_config",
    "read_safetensors",
    "SavedModel",
    "read_yaml_mapping",
    "save_model",
    "sha256_bytes",
    "sha256_file",
    "write_json",
    "write_text_atomic",
]


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it is fsynced and renamed over `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp makes 0600; a finished file gets the user's usual mode
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except Exception as err:
        if disk_full(err):
            from weightspace.errors import WeightspaceError

            raise WeightspaceError(
                f"no space left on the device writing {path}; nothing half-written was kept: free some space and "
                "rerun with --resume"
            ) from None
        raise
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def disk_full(err: BaseException) -> bool:
    """Whether `err` is the disk (or quota) running out, as an OSError or as a library's own error text."""
    if isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    return "No space left on device" in str(err) or "os error 28" in str(err)


def current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def json_safe(value: Any) -> Any:
    """`value` with every NaN or infinite float replaced by None: JSON has no NaN, and readers choke on it."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def write_json(path: str | os.PathLike, data: Any) -> None:
    """Atomic, valid JSON (undefined numbers become null)."""
    write_text_atomic(path, json.dumps(json_safe(data), indent=2, allow_nan=False))


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


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
    from weightspace.limits import check_bytes

    try:
        check_bytes(os.path.getsize(path), str(path))  # it is read whole
        with safe_open(path, framework="pt") as f:
            header = f.metadata() or {}
        return load_file(path), header
    except (SafetensorError, OSError) as err:
        raise WeightspaceError(f"{path} is not a readable safetensors file: {err}") from None


def save_model(path: str | os.PathLike, module, record: dict, header: dict[str, str] | None = None) -> Path:
    """NAME.safetensors (the module's state, `header` as its metadata) + NAME.json (`record`), each atomic."""
    from safetensors.torch import save_file

    path = Path(path).with_suffix(".safetensors")
    state = {k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}
    with atomic_path(path) as tmp:
        save_file(state, tmp, metadata=header)
    write_text_atomic(path.with_suffix(".json"), json.dumps(record, indent=1))
    return path


def read_config(path: str | os.PathLike, key: str, kind: str, hint: str, error: type[Exception]):
    """(tensors, config dict) of a pair `save_model` wrote: the config JSON under `key` in the header, or (files
    written before configs moved into headers) the config in the JSON record beside it. Otherwise `error` says that
    no `kind` is there and to make one with `hint`."""
    path = Path(path).with_suffix(".safetensors")
    if not path.is_file():
        raise error(f"no {kind} at {path}; make one with `{hint}`")
    tensors, header = read_safetensors(path)
    if key in header:
        return tensors, json.loads(header[key])
    record_path = path.with_suffix(".json")
    if not record_path.is_file():
        raise error(f"{path} holds no {kind} (no config in its header or beside it)")
    record = json.loads(record_path.read_text())
    return tensors, record.get("config", record) if isinstance(record, dict) else record


def read_model(path: str | os.PathLike, key: str, kind: str, hint: str, error: type[Exception]):
    """(tensors, header) of a file `save_model` wrote with `key` in its header; otherwise `error` says that no
    trained `kind` is there (train one with `hint`) or that the file holds none."""
    path = Path(path).with_suffix(".safetensors")
    if not path.is_file():
        raise error(f"no trained {kind} at {path}; train one with `{hint}`")
    tensors, header = read_safetensors(path)
    if key not in header:
        raise error(f"{path} holds no {kind} (no config in its header)")
    return tensors, header


def read_yaml_mapping(path: str | Path, what: str = "config") -> dict:
    """A YAML file's top-level mapping; one error naming the line for a syntax error."""
    import yaml

    from weightspace.errors import WeightspaceError

    path = Path(path)
    if not path.is_file():
        raise WeightspaceError(f"{what} {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", err)
        raise WeightspaceError(f"{what} {path}{where}: not valid YAML ({problem})") from None
    except UnicodeDecodeError:
        raise WeightspaceError(f"{what} {path} is not UTF-8 text") from None
    if data is not None and not isinstance(data, dict):
        raise WeightspaceError(f"{what} {path} must be a mapping of fields")
    return data or {}


class SavedModel:
    """The save/load convention of every trained model (mix into an nn.Module with a pydantic `config`):
    `X.save(path, **record)` writes NAME.safetensors (weights, the config in the header) and NAME.json (the config and
    `record`, e.g. the training history, for people); `X.load(path)` rebuilds the model from the header alone.
    A class sets HEADER (its header key), CONFIG (its config class), KIND and HINT (for the error when there is
    none) and ERROR (the error class)."""

    HEADER: str
    CONFIG: type
    KIND: str
    HINT: str
    ERROR: type[Exception]

    def save(self, path: str | os.PathLike, **record: Any) -> Path:
        config = self.config  # type: ignore[attr-defined]
        body = {"config": config.model_dump(mode="json")} | record
        return save_model(path, self, body, {self.HEADER: config.model_dump_json()})

    @classmethod
    def load(cls, path: str | os.PathLike):
        tensors, config = read_config(path, cls.HEADER, cls.KIND, cls.HINT, cls.ERROR)
        model = cls(cls.CONFIG.model_validate(config))
        model.load_state_dict(tensors)
        return model.eval()
