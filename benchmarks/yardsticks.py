"""What the engine benchmarks measure against: the machine's dense matmul rate and the seed LeNet-5's step FLOPs."""

from __future__ import annotations

import time

import torch


def matmul_tflops(device: str, dtype=torch.float32, precision: str = "highest") -> float:
    """The card's (or CPU's) measured dense matmul rate, the yardstick for the engine's useful work; float32 at
    `precision` ("high": TF32), set for the measurement only."""
    n = 8192 if device.startswith("cuda") else 2048
    before = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision(precision)
    a, b = torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype)
    for _ in range(3):
        a @ b
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    start, reps = time.perf_counter(), 10
    for _ in range(reps):
        a @ b
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    torch.set_float32_matmul_precision(before)
    return 2 * n**3 * reps / (time.perf_counter() - start) / 1e12


def lenet5_step_flops(batch: int = 128) -> int:
    """Forward + backward FLOPs of one seed LeNet-5 (3x32x32) training step on `batch` images: the work every engine
    must do, counted by torch's FLOP counter."""
    from torch.utils.flop_counter import FlopCounterMode

    from weightspace.nets import init_net, lenet5_seed
    from weightspace.train import logits_of

    spec = lenet5_seed(input_shape=[3, 32, 32])
    module = logits_of(spec, init_net(spec, 0).as_module())
    with FlopCounterMode(display=False) as counter:
        module(torch.rand(batch, 3, 32, 32)).sum().backward()
    return counter.get_total_flops()
