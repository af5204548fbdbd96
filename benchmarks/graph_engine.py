"""The batched engine on graphs against the chain path and against the plain loop, measured in one run.

    python benchmarks/graph_engine.py --publish

(1) The seed's LeNet-5 (3x32x32, one-vs-rest BCE, batch 128, Adam) trained by `fit_stacked` as its chain spec and
    as the same network written as a graph (`as_graph`, run by vmap over functional_call): seconds per
    network-epoch, M networks, on the CPU's default grouping (one network at a time) and with all M stacked.
(2) A `resnet` (depth 8, 28x28, batchnorm) zoo step: M networks stacked in one vmap against the plain loop
    (`fit`, one network after another).
Every variant trains the same networks on the same 2,000 random images; the best of `--reps` runs is kept, variants
interleaved so that load on the shared machine falls on all of them alike.
"""

from __future__ import annotations

import argparse
import json
import time

import torch
from harness import add_output, write_result  # noqa: E402 (benchmarks/ on the path when run as a script)

from weightspace.data import TaskData
from weightspace.nets import NetBatch, as_graph, init_net, lenet5_seed, resnet
from weightspace.train import Training, fit, fit_stacked


def seconds(run, reps: int) -> float:
    best = float("inf")
    for _ in range(reps):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--networks", type=int, default=4)
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    add_output(parser, "graph_engine.json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(0)
    m, recipe = args.networks, Training(epochs=1, batch_size=128)
    results: dict = {"networks": m, "images": args.images, "threads": args.threads, "torch": torch.__version__}

    chain = lenet5_seed(input_shape=[3, 32, 32])
    x = torch.rand(args.images, 3, 32, 32, generator=g)
    y = torch.randint(0, 2, (m, args.images), generator=g)
    variants = {}
    for name, spec in (("chain", chain), ("graph", as_graph(chain))):
        init = NetBatch.of([init_net(spec, s, "glorot_uniform") for s in range(m)])
        for group in (1, m):
            variants[f"lenet5 {name}, group {group}"] = lambda init=init, group=group: fit_stacked(
                init, x, y, x[:256], y[:, :256], recipe, list(range(m)), group=group)  # fmt: skip

    res = resnet(8, (1, 28, 28))
    xr = torch.rand(args.images, 1, 28, 28, generator=g)
    yr = torch.randint(0, 10, (m, args.images), generator=g)
    nets = [init_net(res, s) for s in range(m)]
    variants[f"resnet8 batched, group {m}"] = lambda: fit_stacked(
        NetBatch.of(nets), xr, yr, xr[:256], yr[:, :256], recipe, list(range(m)), group=m)  # fmt: skip
    variants["resnet8 plain loop"] = lambda: [
        fit(n, TaskData("random", xr, yr[i], xr[:256], yr[i, :256]), recipe.model_copy(update={"seed": i}))
        for i, n in enumerate(nets)
    ]
    best = {k: float("inf") for k in variants}
    for _ in range(args.reps):
        for name, run in variants.items():
            best[name] = min(best[name], seconds(run, 1))
    results["seconds_per_network_epoch"] = {k: v / m for k, v in best.items()}
    results["graph_over_chain"] = {
        f"group {k}": best[f"lenet5 graph, group {k}"] / best[f"lenet5 chain, group {k}"] for k in (1, m)
    }
    results["resnet8_loop_over_batched"] = best["resnet8 plain loop"] / best[f"resnet8 batched, group {m}"]
    write_result(args, "graph_engine.json", results)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
