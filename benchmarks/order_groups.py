"""What sharing batch orders costs a zoo: the same config with every network its own batch order, K orders per
shard (`shared_order: K`, one per run of consecutive networks) and one order per shard (`shared_order: true`).

    python benchmarks/order_groups.py [--preset digits-lenet5] [--groups 5] [--publish]

For each variant: the wall time of `zoo generate` (2 workers; on a CPU the engine trains one network at a time, so
sharing orders saves nothing here: the speed-up is the GPU's wide first layer, measured by the lease script), the
mean test accuracy, the diversity of same-task networks (mean pairwise L2 distance of their weights, raw and after
aligning each network's hidden units to the task's first network), and how well `zoo classify` reads each
network's task from its weights (best test accuracy; one fixed split).
"""

from __future__ import annotations

import argparse
import itertools
import shutil
import time
from pathlib import Path

import torch
from harness import add_output, write_result  # noqa: E402 (benchmarks/ on the path when run as a script)

from weightspace.nets import align
from weightspace.zoo import ZooConfig, classify, generate, zoo_preset


def diversity(zoo) -> dict[str, float]:
    """Mean pairwise distance of same-task networks' weights, raw and with units aligned to the task's first."""
    raw, aligned = [], []
    for task in sorted(zoo.table["task"].unique()):
        nets = list(zoo.filter(task=task))
        flats = torch.stack([n.flat() for n in nets])
        matched = torch.stack([nets[0].flat()] + [align(n, nets[0]).flat() for n in nets[1:]])
        for i, j in itertools.combinations(range(len(nets)), 2):
            raw.append((flats[i] - flats[j]).norm().item())
            aligned.append((matched[i] - matched[j]).norm().item())
    return {"pairwise_distance": sum(raw) / len(raw), "pairwise_distance_aligned": sum(aligned) / len(aligned)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="digits-lenet5")
    parser.add_argument("--groups", type=int, default=5, help="K for the middle variant (orders per shard)")
    parser.add_argument("--per-task", type=int, help="networks per task (default: the preset's)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--work", type=Path, default=Path("runs/bench/order-groups"), help="where the zoos go")
    add_output(parser, "order_groups.json")
    args = parser.parse_args()
    base = zoo_preset(args.preset, **({"per_task": args.per_task} if args.per_task else {}))
    variants = {
        "independent orders": False,
        f"{args.groups} orders per shard": args.groups,
        "one order per shard": True,
    }
    result = {"preset": args.preset, "shard_size": base.shard_size, "variants": {}}
    for name, order in variants.items():
        config = ZooConfig.model_validate(base.model_dump() | {"shared_order": order}).check()
        root = args.work / str(order).lower()
        shutil.rmtree(root, ignore_errors=True)
        start = time.perf_counter()
        zoo = generate(config, root, workers=args.workers)
        seconds = time.perf_counter() - start
        final = zoo.filter(epoch=int(zoo.table["epoch"].max()))
        row = {"shared_order": order, "networks": len(final), "seconds": round(seconds, 1)}
        row["test_accuracy"] = float(final.table["test_accuracy"].mean())
        row |= diversity(final)
        found = classify(final)
        row |= {"classify_best": found.scores[found.best], "classify_best_pair": " + ".join(found.best)}
        result["variants"][name] = row
        print(name, {k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}, flush=True)
    print("wrote", write_result(args, "order_groups.json", result))


if __name__ == "__main__":
    main()
