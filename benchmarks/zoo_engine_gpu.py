"""The zoo engine as `zoo generate` runs it, on one GPU: network-epochs/s of `fit_stacked` in each mode, against a
plain per-network PyTorch loop on the same card in the same run, and the share of the card's measured matmul rate.

    python benchmarks/zoo_engine_gpu.py --m 512 [--out OUT.json | --publish] [--quick]

Seed shape: LeNet-5 on 3x32x32, batch 128, Adam 1e-3, BCE, one-vs-rest labels at the seed's 1:9 rate, an epoch of
74 full batches (ImageNette's 9,469 training images rounded up to 9,472, so one compiled shape). Each mode trains 3
epochs; the second (compiled and warm) is timed, the third ends with the evaluation `zoo generate` runs.
`--quick` runs a small version on any device (the test of this script).
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F
from harness import add_output, write_result  # noqa: E402 (benchmarks/ on the path when run as a script)
from yardsticks import lenet5_step_flops, matmul_tflops  # benchmarks/, beside this script

from weightspace.nets import NetBatch, build, init_net, lenet5_seed
from weightspace.train import Training, fit_stacked, logits_of

MODES = {  # name -> (deterministic, batch orders per M networks: 0 = each its own, 1 = --shared-order, K, kernels)
    "--fast-gpu (TF32, bf16 autocast, fused Adam)": (False, 0, None),
    "--fast-gpu --shared-order": (False, 1, None),
    "deterministic (the default)": (True, 0, None),
    "deterministic, --shared-order": (True, 1, None),
    "--fast-gpu --order-groups 8": (False, 8, None),
    "--fast-gpu --order-groups 64": (False, 64, None),
    "--fast-gpu --kernels grouped (cuDNN grouped convs, benchmark, channels-last, bf16)": (False, 0, "grouped"),
    "--fast-gpu --kernels inductor (max-autotune, Triton conv templates fwd + both bwd)": (False, 0, "inductor"),
    "--fast-gpu --kernels triton (implicit GEMM, fused epilogue, indexed first conv)": (False, 0, "triton"),
    "deterministic --kernels triton": (True, 0, "triton"),
}
NEEDS_CUDA = ("inductor", "triton")  # on a CPU: Triton has no target (its interpreter is for tests)


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def engine_rate(m, x, y, x_test, y_test, recipe, device, deterministic, orders, kernels=None) -> dict:
    """Network-epochs/s of the second epoch of `fit_stacked`, and the whole call's seconds. `orders` batch orders
    for the M networks (0: each its own), one per run of consecutive networks."""
    spec = lenet5_seed()
    init = NetBatch.of([init_net(spec, i, "glorot_uniform") for i in range(m)])
    k = min(orders, max(1, m // 2))  # a small --quick M still has runs of two
    seeds = [j * k // m for j in range(m)] if k else list(range(m))
    stamps = []

    def on_epoch(epoch: int) -> None:
        sync(device)
        stamps.append(time.perf_counter())

    start = time.perf_counter()
    result = fit_stacked(
        init, x, y, x_test, y_test, recipe, seeds, None, device, on_epoch, deterministic, m, kernels=kernels
    )
    epoch_s = stamps[1] - stamps[0]
    accuracy = sum(r["test_accuracy"] for r in result.metrics[recipe.epochs]) / m
    return {"epoch_s": epoch_s, "network_epochs_per_s": m / epoch_s, "call_s": time.perf_counter() - start,
            "mean_test_accuracy": accuracy}  # fmt: skip


def loop_rate(x, y, recipe, device) -> dict:
    """One network, the plain way: nn.Module, torch Adam, a batch gathered from device-resident data each step."""
    spec = lenet5_seed()
    model = logits_of(spec, build(spec)).to(device)
    opt = torch.optim.Adam(model.parameters(), recipe.lr)
    xd, yd = x.to(device), y[0].float().to(device)

    def epoch() -> float:
        sync(device)
        start = time.perf_counter()
        order = torch.randperm(len(xd), device=device)
        for i in range(0, len(xd), recipe.batch_size):
            idx = order[i : i + recipe.batch_size]
            loss = F.binary_cross_entropy_with_logits(model(xd[idx])[:, 0], yd[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        sync(device)
        return time.perf_counter() - start

    epoch()  # warm-up: cuDNN handles, allocator
    seconds = min(epoch() for _ in range(2))
    return {"epoch_s": seconds, "network_epochs_per_s": 1 / seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--m", type=int, default=512, help="networks trained at once")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--modes", default=",".join(str(i) for i in range(len(MODES))), help="indices into MODES")
    add_output(parser, "zoo_engine_gpu.json")
    parser.add_argument("--quick", action="store_true", help="8 networks, 2 batches an epoch: a smoke test")
    args = parser.parse_args()
    torch.manual_seed(0)
    steps, m = (2, min(args.m, 8)) if args.quick else (74, args.m)
    n = 128 * steps
    x, x_test = torch.rand(n, 3, 32, 32), torch.rand(1000 if not args.quick else 64, 3, 32, 32)
    y = (torch.rand(m, n) < 0.1).long()
    y_test = (torch.rand(m, len(x_test)) < 0.1).long()
    recipe = Training(epochs=3, batch_size=128, lr=1e-3)
    flops = lenet5_step_flops(128)
    rates = {
        "float32": matmul_tflops(args.device, torch.float32),
        "tf32": matmul_tflops(args.device, torch.float32, "high"),
        "bfloat16": matmul_tflops(args.device, torch.bfloat16),
    }
    name = torch.cuda.get_device_name(0) if args.device.startswith("cuda") else "cpu"
    report = {"device": name, "m": m, "steps_per_epoch": steps, "flops_per_network_step": flops,
              "matmul_tflops": rates, "modes": {}}  # fmt: skip
    loop = loop_rate(x, y, recipe, args.device)
    report["plain loop"] = loop
    print(f"{name}, M = {m}, {steps} steps of 128 per epoch; step FLOPs {flops / 1e6:.1f} M per network")
    print("| mode | network-epochs/s | x plain loop | useful TFLOP/s | of matmul rate | call s | test acc |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    useful = flops * steps / 1e12
    print(f"| plain per-network loop | {loop['network_epochs_per_s']:.2f} | 1.0 | "
          f"{useful * loop['network_epochs_per_s']:.2f} | | | |", flush=True)  # fmt: skip
    for i in (int(k) for k in args.modes.split(",")):
        label, (deterministic, orders, kernels) = list(MODES.items())[i]
        if kernels in NEEDS_CUDA and not args.device.startswith("cuda"):
            report["modes"][label] = {"skipped": "needs CUDA"}
            print(f"| {label} | skipped: needs CUDA |", flush=True)
            continue
        try:
            r = engine_rate(m, x, y, x_test, y_test, recipe, args.device, deterministic, orders, kernels)
        except Exception as err:  # one failing mode (compiler, memory) is reported, not fatal to the others
            report["modes"][label] = {"error": f"{type(err).__name__}: {err}"[:500]}
            print(f"| {label} | failed: {type(err).__name__}: {str(err).splitlines()[0][:100]} |", flush=True)
            continue
        r.update(deterministic=deterministic, orders=orders, kernels=kernels)  # what the lease script reads back
        yardstick = rates["float32"] if deterministic else rates["bfloat16"]
        r["x_loop"] = r["network_epochs_per_s"] / loop["network_epochs_per_s"]
        r["useful_tflops"] = useful * r["network_epochs_per_s"]
        r["of_matmul_percent"] = 100 * r["useful_tflops"] / yardstick
        report["modes"][label] = r
        print(f"| {label} | {r['network_epochs_per_s']:.1f} | {r['x_loop']:.1f} | {r['useful_tflops']:.2f} | "
              f"{r['of_matmul_percent']:.1f} % | {r['call_s']:.0f} | {r['mean_test_accuracy']:.3f} |",
              flush=True)  # fmt: skip
        write_result(args, "zoo_engine_gpu.json", report)  # after every mode: a run cut short keeps what it measured
    print(f"measured matmul TFLOP/s: { {k: round(v, 1) for k, v in rates.items()} }")
    write_result(args, "zoo_engine_gpu.json", report)


if __name__ == "__main__":
    main()
