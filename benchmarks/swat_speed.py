"""SWAT-NN speed: latent search batched over tasks vs one task at a time, and autoencoder training throughput.

    python benchmarks/swat_speed.py                    # CPU
    python benchmarks/swat_speed.py --device cuda      # on a GPU; also times the CPU in the same run

Search: `--tasks` CORNN tasks searched at depth `--depth` for `--steps` steps, once as one batched run and once as
a loop of single-task runs; reported per task and extrapolated to the paper's 8,001-step schedule. Autoencoder:
networks per second of training (batches of 64 random MLPs, 256 probes, forward + backward + Adam), on each device.
Needs a trained autoencoder (`weightspace swat train autoencoder`); results go to runs/bench/swat_speed_DEVICE.json
(`--publish`: benchmarks/results/).
"""

from __future__ import annotations

import argparse
import json
import time

import torch
from harness import add_output, write_result  # noqa: E402 (benchmarks/ on the path when run as a script)

from weightspace.data import NAMES, load_cornn
from weightspace.swat import AETraining, SearchConfig, SwatAutoencoder, search, train_autoencoder

PAPER_STEPS = 8001


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def timed(fn, device: str) -> float:
    sync(device)
    start = time.perf_counter()
    fn()
    sync(device)
    return time.perf_counter() - start


def search_seconds(ae, tasks, depth: int, steps: int, device: str) -> dict:
    config = SearchConfig(steps=steps, anneal=steps // 2)
    search(ae, tasks[:1], depth, config.model_copy(update={"steps": 5}), device=device)  # warm-up
    batched = timed(lambda: search(ae, tasks, depth, config, device=device), device)
    loop = timed(lambda: [search(ae, [t], depth, config, device=device) for t in tasks], device)
    per_task = batched / len(tasks)
    return {
        "tasks": len(tasks),
        "steps": steps,
        "batched_s_per_task": per_task,
        "loop_s_per_task": loop / len(tasks),
        "speedup": loop / batched,
        "batched_s_per_task_8001_steps": per_task * PAPER_STEPS / steps,
        "batched_s_all_54_tasks_8001_steps": per_task * PAPER_STEPS / steps * 54,
    }


def ae_networks_per_s(ae_config, steps: int, device: str) -> float:
    """Training throughput as the training loop logs it (the held-out evaluation excluded)."""
    recipe = AETraining(steps=steps, warmup=1, eval_every=steps, eval_networks=4)
    train_autoencoder(ae_config, recipe.model_copy(update={"steps": 3, "eval_every": 3}), device=device)  # warm-up
    _, history = train_autoencoder(ae_config, recipe, device=device)
    return history[-1]["networks_per_s"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ae", default="runs/swat/ae")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--tasks", type=int, default=8)
    parser.add_argument("--depth", type=int, default=2)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--ae-steps", type=int, default=30)
    add_output(parser, "swat_speed_DEVICE.json")
    args = parser.parse_args()
    torch.manual_seed(0)
    ae = SwatAutoencoder.load(args.ae)
    tasks = [load_cornn(n) for n in list(NAMES)[: args.tasks]]
    devices = ["cpu"] + ([args.device] if args.device != "cpu" else [])
    result = {"search_depth": args.depth, "autoencoder": ae.config.model_dump()}
    for device in devices:
        row = search_seconds(ae, tasks, args.depth, args.steps, device)
        row["ae_networks_per_s"] = ae_networks_per_s(ae.config, args.ae_steps, device)
        result[device] = row
        print(device, json.dumps(row, indent=1))
    if len(devices) == 2:
        cpu, other = result["cpu"], result[args.device]
        result["device_vs_cpu"] = {
            "search_batched": cpu["batched_s_per_task"] / other["batched_s_per_task"],
            "ae_training": other["ae_networks_per_s"] / cpu["ae_networks_per_s"],
        }
        print("device vs cpu", result["device_vs_cpu"])
    print("wrote", write_result(args, f"swat_speed_{args.device.split(':')[0]}.json", result))


if __name__ == "__main__":
    main()
