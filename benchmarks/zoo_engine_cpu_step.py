"""One network's training step on one CPU thread, in the variants worth trying, measured in one run.

    python benchmarks/zoo_engine_cpu_step.py --publish

The seed's LeNet-5 (3x32x32, batch 128, Adam, BCE) over 2,000 random images per epoch, best of `--reps` epochs,
one thread (as each `zoo generate` worker runs): the plain nn.Module (contiguous tensors), the same in channels-last
memory format, the engine's CPU path (`StackedModel` with M = 1, channels-last since this change), and the step
compiled with torch.compile (forward and backward), eager Adam. Compile time is the first step's extra time.
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F
from harness import add_output, write_result  # noqa: E402 (benchmarks/ on the path when run as a script)
from yardsticks import lenet5_step_flops, matmul_tflops  # benchmarks/, beside this script

from weightspace.nets import NetBatch, init_net, lenet5_seed
from weightspace.train import StackedModel, logits_of, per_network_loss

IMAGES, BATCH = 2000, 128


def module_step(channels_last: bool, compiled: bool):
    spec = lenet5_seed(input_shape=[3, 32, 32])
    model = logits_of(spec, init_net(spec, 0, "glorot_uniform").as_module())
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), 1e-3)

    def loss_backward(x, y):
        F.binary_cross_entropy_with_logits(model(x)[:, 0], y).backward()

    run = torch.compile(loss_backward) if compiled else loss_backward

    def step(x, y):
        opt.zero_grad(set_to_none=True)
        run(x.contiguous(memory_format=torch.channels_last) if channels_last else x, y)
        opt.step()

    return step


def engine_step():
    spec = lenet5_seed(input_shape=[3, 32, 32])
    model = StackedModel(spec)
    params = {
        k: v.clone().requires_grad_() for k, v in NetBatch.of([init_net(spec, 0, "glorot_uniform")]).params.items()
    }
    opt = torch.optim.Adam(params.values(), 1e-3)

    def step(x, y):
        loss = per_network_loss(model.forward(params, x[None]), y[None].long()).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--reps", type=int, default=5)
    add_output(p, "zoo_engine_cpu_step.json")
    args = p.parse_args()
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(IMAGES, 3, 32, 32, generator=g), (torch.rand(IMAGES, generator=g) > 0.5).float()
    flops = lenet5_step_flops(BATCH) * IMAGES / BATCH
    matmul = matmul_tflops("cpu") * 1e12

    variants = {
        "plain module": lambda: module_step(False, False),
        "plain module, channels-last": lambda: module_step(True, False),
        "engine CPU path (M = 1, channels-last)": engine_step,
        "compiled step (forward + backward)": lambda: module_step(False, True),
        "compiled step, channels-last": lambda: module_step(True, True),
    }
    rows = {}
    for name, make in variants.items():
        step = make()
        start = time.perf_counter()
        step(x[:BATCH], y[:BATCH])
        first = time.perf_counter() - start
        best = float("inf")
        for _ in range(args.reps):
            start = time.perf_counter()
            for i in range(0, IMAGES, BATCH):
                step(x[i : i + BATCH], y[i : i + BATCH])
            best = min(best, time.perf_counter() - start)
        rows[name] = {"epoch_s": best, "gflops": flops / best / 1e9, "first_step_s": first}
    base = rows["plain module"]["epoch_s"]
    print(f"\none thread; matmul {matmul / 1e9:.0f} GFLOP/s; {flops / 1e9:.1f} GFLOP per epoch of {IMAGES} images\n")
    print("| variant | epoch s | vs plain module | GFLOP/s | of matmul | first step s |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, r in rows.items():
        print(f"| {name} | {r['epoch_s']:.3f} | {base / r['epoch_s']:.2f}x | {r['gflops']:.1f} | "
              f"{r['gflops'] * 1e9 / matmul:.0%} | {r['first_step_s']:.1f} |")  # fmt: skip
    write_result(
        args, "zoo_engine_cpu_step.json", {"matmul_flops_1_thread": matmul, "epoch_flops": flops, "variants": rows}
    )


if __name__ == "__main__":
    main()
