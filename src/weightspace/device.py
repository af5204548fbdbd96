"""Which compute device a run uses: checked once, before anything is written."""

from __future__ import annotations

import re

from weightspace.errors import WeightspaceError

__all__ = [
    "check_device",
]


def check_device(device: str) -> str:
    """`device` if this machine has it ("cpu", "cuda", "cuda:N"); otherwise one error that says what is available."""
    import torch

    device = str(device)
    match = re.fullmatch(r"cuda(?::(\d+))?", device)
    if device == "cpu":
        return device
    if match is None:
        raise WeightspaceError(f"device {device!r} is not one weightspace runs on; use cpu, cuda or cuda:N")
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if count == 0:
        raise WeightspaceError(f"device {device!r} asked for, but this machine has no CUDA GPU; use --device cpu")
    if match.group(1) is not None and int(match.group(1)) >= count:
        raise WeightspaceError(f"device {device!r}: this machine has {count} CUDA GPU(s), cuda:0..cuda:{count - 1}")
    return device
