"""Which compute device a run uses: checked once, before anything is written."""

from __future__ import annotations

import os
import re

from weightspace.errors import WeightspaceError

__all__ = [
    "check_device",
    "compiler_works",
    "usable_cores",
]

_COMPILER: list[bool] = []  # checked once per process


def compiler_works() -> bool:
    """Whether torch.compile can build CPU kernels here (it needs a C++ compiler): tried once on a tiny function."""
    if not _COMPILER:
        import torch

        try:
            torch.compile(lambda x: x.sin() + 1)(torch.zeros(4))
            _COMPILER.append(True)
        except Exception:  # noqa: BLE001 - any failure of the toolchain means: no
            _COMPILER.append(False)
    return _COMPILER[0]


def usable_cores() -> int:
    """The CPU cores this process may run on (its affinity mask where the OS has one)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


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
