"""How long `weightspace report` takes, and how big the page is, for a 10,000-network zoo.

    python benchmarks/report_scale.py [--networks 10000] [--out runs/report-scale]

The zoo is synthetic (small-CNN weights drawn at random, metrics drawn per task) and written with the streaming
writer; the report reads every shard once. Results go to OUT/report_scale.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from harness import add_output, write_result  # noqa: E402 (benchmarks/ on the path when run as a script)

from weightspace.nets import small_cnn
from weightspace.report import write_report
from weightspace.zoo import Pending, write_networks


def make_zoo(root: Path, networks: int) -> None:
    spec = small_cnn()
    rng = np.random.default_rng(0)

    def load(item: Pending):
        g = torch.Generator().manual_seed(item.model_id)
        task = item.model_id % 10
        rows = []
        for epoch in (5, 10):
            params = {k: torch.randn(s, generator=g) * 0.1 for k, s in spec.state_shapes().items()}
            acc = float(np.clip(0.5 + 0.04 * task + 0.02 * epoch + rng.normal(0, 0.05), 0, 1))
            rows.append((params, {"task": str(task), "epoch": epoch, "test_accuracy": acc, "test_loss": 1 - acc}))
        return rows

    write_networks(root, "synthetic", spec, [Pending(i, 2) for i in range(networks)], load, {"format": "synthetic"})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--networks", type=int, default=10_000)
    parser.add_argument("--work", type=Path, default=Path("runs/report-scale"), help="where the synthetic zoo goes")
    add_output(parser, "report_scale.json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    root = args.work / "zoo"
    if not (root / "zoo.json").is_file():
        make_zoo(root, args.networks)
    result = {"networks": args.networks, "rows": 2 * args.networks}
    for check in (False, True):
        start = time.perf_counter()
        path = write_report(root, args.work / f"report-verify-{check}.html", check=check)
        result[f"seconds_verify_{check}"] = round(time.perf_counter() - start, 2)
        result[f"megabytes_verify_{check}"] = round(path.stat().st_size / 1e6, 2)
    write_result(args, "report_scale.json", result)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
