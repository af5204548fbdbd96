"""Resumable training state in one safetensors file: model tensors, optimizer state, and a JSON progress record.

No pickle: optimizer state is flattened to named tensors, its scalars and param groups go to the JSON header.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file
from torch import nn

from weightspace.errors import WeightspaceError
from weightspace.fileio import atomic_path, read_safetensors


def save_checkpoint(
    path: str | os.PathLike,
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None,
    progress: dict[str, Any],
    extra: dict[str, torch.Tensor] | None = None,
) -> Path:
    """Write model + optimizer + progress (+ `extra` tensors, e.g. a carried hidden state) atomically; an
    interrupted save leaves the previous checkpoint."""
    path = Path(path)
    tensors = {f"model/{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    tensors |= {f"extra/{k}": v.detach().cpu().contiguous() for k, v in (extra or {}).items()}
    scalars: dict[str, Any] = {}
    groups = []
    if optimizer is not None:
        state = optimizer.state_dict()
        for idx, entry in state["state"].items():
            for key, value in entry.items():
                if torch.is_tensor(value):
                    tensors[f"optim/{idx}/{key}"] = value.detach().cpu().contiguous()
                else:
                    scalars[f"{idx}/{key}"] = value
        groups = state["param_groups"]
    header = {
        "progress": json.dumps(progress),
        "optim_scalars": json.dumps(scalars),
        "param_groups": json.dumps(groups),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        save_file(tensors, tmp, metadata=header)
    return path


def load_checkpoint(
    path: str | os.PathLike, model: nn.Module, optimizer: torch.optim.Optimizer | None = None
) -> dict[str, Any]:
    """Restore model (and optimizer) in place from `save_checkpoint`'s file; returns the progress record, with
    any extra tensors under "extra"."""
    path = Path(path)
    tensors, header = read_safetensors(path)
    if "progress" not in header:
        raise WeightspaceError(f"{path} is not a weightspace training checkpoint")
    state = {k.removeprefix("model/"): v for k, v in tensors.items() if k.startswith("model/")}
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        raise WeightspaceError(f"checkpoint {path} was written by a different model: {err}") from None
    if optimizer is not None and json.loads(header["param_groups"]):
        opt_state: dict[int, dict[str, Any]] = {}
        for k, v in tensors.items():
            if k.startswith("optim/"):
                _, idx, key = k.split("/", 2)
                opt_state.setdefault(int(idx), {})[key] = v
        for k, v in json.loads(header["optim_scalars"]).items():
            idx, key = k.split("/", 1)
            opt_state.setdefault(int(idx), {})[key] = v
        optimizer.load_state_dict({"state": opt_state, "param_groups": json.loads(header["param_groups"])})
    extra = {k.removeprefix("extra/"): v for k, v in tensors.items() if k.startswith("extra/")}
    return json.loads(header["progress"]) | {"extra": extra}
