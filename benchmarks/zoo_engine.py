"""Batched zoo engine vs the plain per-network loop, measured in the same run.

    python benchmarks/zoo_engine.py                           # CPU: digits, M = 1, 8, 32, 128
    python benchmarks/zoo_engine.py --device cuda --data seed --sizes 128,512,1000 --project 10000

Throughput is networks x epochs per second of training (evaluation excluded). The loop trains networks one after
another, so its throughput does not depend on M: it is measured once, on `--loop-nets` networks, and each batched M
is reported as a ratio against it. Achieved FLOP/s counts the training step's FLOPs (torch's FLOP counter on one
forward + backward) and divides by this device's measured dense-matmul FLOP/s, measured in the same run.
`--data seed` uses random tensors in the seed protocol's shape (9,469 train images of 3x32x32): speed does not
depend on pixel values. `--project N` prints the time for an N-network, 20-epoch seed zoo at the best M.
`--fast-gpu` times the non-deterministic GPU kernels.
"""

from __future__ import annotations

import argparse
import time

import torch
from harness import add_output, write_result  # noqa: E402 (benchmarks/ on the path when run as a script)
from torch.utils.flop_counter import FlopCounterMode

from weightspace.data import TaskData, load
from weightspace.nets import Net, NetBatch, init_net, lenet5_seed
from weightspace.train import StackedModel, Training, fit, fit_stacked, per_network_loss  # noqa: E402


def seed_shaped(n_train: int = 9469, n_test: int = 3925) -> TaskData:
    g = torch.Generator().manual_seed(0)
    return TaskData(
        "seed-shaped",
        torch.rand(n_train, 3, 32, 32, generator=g),
        torch.randint(0, 10, (n_train,), generator=g),
        torch.rand(n_test, 3, 32, 32, generator=g),
        torch.randint(0, 10, (n_test,), generator=g),
        classes=[str(i) for i in range(10)],
    )


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def matmul_flops(device: str, n: int) -> float:
    """Dense fp32 matmul FLOP/s on this device: the roofline we compare against."""
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    for _ in range(3):
        a @ b
    sync(device)
    reps, start = 10, time.perf_counter()
    for _ in range(reps):
        a @ b
    sync(device)
    return 2 * n**3 * reps / (time.perf_counter() - start)


def step_flops(spec, m: int, batch: int) -> float:
    """FLOPs of one training step (forward + backward) of M stacked networks on CPU-shaped dummies."""
    model = StackedModel(spec)
    params = {k: v.requires_grad_() for k, v in NetBatch.of([init_net(spec, i) for i in range(m)]).params.items()}
    x = torch.rand(m, batch, *spec.input_shape)
    with FlopCounterMode(display=False) as counter:
        per_network_loss(model.forward(params, x), torch.zeros(m, batch, dtype=torch.long)).sum().backward()
    return counter.get_total_flops()


def time_batched(spec, data: TaskData, m: int, recipe: Training, device: str, deterministic: bool = True) -> float:
    """Seconds per epoch of training M networks (one warm-up epoch, then `recipe.epochs` timed, eval excluded)."""
    init = NetBatch.of([init_net(spec, i, "glorot_uniform") for i in range(m)])
    ytr = torch.stack([(data.y_train == i % 10).long() for i in range(m)])
    yte = torch.stack([(data.y_test == i % 10).long() for i in range(m)])
    warm = recipe.model_copy(update={"epochs": 1})
    fit_stacked(
        init, data.x_train, ytr, data.x_test[:1], yte[:, :1], warm, list(range(m)), device=device,
        deterministic=deterministic, group=m,
    )  # fmt: skip
    marks = []
    sync(device)

    def on_epoch(_: int) -> None:
        sync(device)
        marks.append(time.perf_counter())

    start = time.perf_counter()
    # checkpoints=[] still evaluates the last epoch; give it a one-image test set so eval costs nothing.
    fit_stacked(
        init, data.x_train, ytr, data.x_test[:1], yte[:, :1], recipe, list(range(m)), device=device,
        on_epoch=on_epoch, deterministic=deterministic, group=m,
    )  # fmt: skip
    return (marks[-1] - start) / recipe.epochs


def time_loop(spec, data: TaskData, nets: int, recipe: Training, device: str) -> float:
    """Seconds per network-epoch of the plain loop (train-set evaluation excluded by a tiny eval set)."""
    small = data.replace(x_test=data.x_test[:1], y_test=data.y_test[:1])
    fit(Net(spec, init_net(spec, 0).params), small.replace(y_train=(data.y_train == 0).long()), recipe, device)
    total = 0.0
    for i in range(nets):
        task = small.replace(y_train=(data.y_train == i % 10).long(), y_test=(small.y_test == i % 10).long())
        sync(device)
        start = time.perf_counter()
        fit(init_net(spec, i, "glorot_uniform"), task, recipe.model_copy(update={"seed": i}), device)
        sync(device)
        total += time.perf_counter() - start
    return total / (nets * recipe.epochs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--data", default="digits", help="digits | mnist5k | fashion-mnist | seed (random, seed shape)")
    parser.add_argument("--sizes", default="1,8,32,128")
    parser.add_argument("--epochs", type=int, default=1, help="timed epochs per measurement")
    parser.add_argument("--loop-nets", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--project", type=int, default=0, help="project an N-network 20-epoch zoo at the best M")
    parser.add_argument("--fast-gpu", action="store_true", help="non-deterministic TF32 kernels (see gpu_kernels)")
    add_output(parser, "zoo_engine_DEVICE_DATA.json")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    data = seed_shaped() if args.data == "seed" else load(args.data, size=28 if args.data == "digits" else None)
    spec = lenet5_seed(input_shape=data.input_shape)
    recipe = Training(epochs=args.epochs, batch_size=128)
    steps = -(-len(data.x_train) // recipe.batch_size)
    peak = matmul_flops(args.device, 8192 if args.device.startswith("cuda") else 1024)
    per_net_step = step_flops(spec, 1, recipe.batch_size)

    loop_s = time_loop(spec, data, args.loop_nets, recipe, args.device)
    loop_rate = 1 / loop_s
    rows = []
    for m in [int(s) for s in args.sizes.split(",")]:
        epoch_s = time_batched(spec, data, m, recipe, args.device, not args.fast_gpu)
        rate = m / epoch_s
        achieved = per_net_step * m * steps / epoch_s
        rows.append(
            {
                "M": m,
                "batched_net_epochs_per_s": rate,
                "loop_net_epochs_per_s": loop_rate,
                "speedup": rate / loop_rate,
                "achieved_flops": achieved,
                "fraction_of_matmul": achieved / peak,
            }
        )

    name = torch.cuda.get_device_name() if args.device.startswith("cuda") else f"CPU, {args.threads} threads"
    print(f"\n{data.summary()} | LeNet-5 seed ({spec.num_params():,} params) | batch 128 | {name}")
    print(f"matmul peak {peak / 1e9:,.1f} GFLOP/s; one network's training step {per_net_step / 1e6:,.1f} MFLOP\n")
    print("| M | batched net-epochs/s | loop net-epochs/s | batched / loop | achieved GFLOP/s | of matmul peak |")
    print("|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['M']} | {r['batched_net_epochs_per_s']:.2f} | {r['loop_net_epochs_per_s']:.2f} | "
              f"{r['speedup']:.1f}x | {r['achieved_flops'] / 1e9:,.1f} | {r['fraction_of_matmul']:.1%} |")  # fmt: skip
    report = {"device": name, "data": data.summary(), "peak_flops": peak, "rows": rows}
    if args.project:
        best = max(rows, key=lambda r: r["batched_net_epochs_per_s"])
        hours = args.project * 20 / best["batched_net_epochs_per_s"] / 3600
        report["projection"] = {"networks": args.project, "epochs": 20, "M": best["M"], "hours": hours}
        print(f"\nprojected {args.project:,} networks x 20 epochs at M={best['M']}: {hours * 60:,.1f} minutes "
              f"(training only; evaluation adds one forward pass per checkpoint)")  # fmt: skip
    print("wrote", write_result(args, f"zoo_engine_{args.device.split(':')[0]}_{args.data}.json", report))


if __name__ == "__main__":
    main()
