"""The INR encoders' training step, today's against the dense one, and what ScaleGMN-B's budget would cost on a GPU.

    python benchmarks/inr_encoders_dense.py [--networks 2048] [--encoders graph,nfn-hnp] [--device cpu]
                                            [--out OUT.json | --publish]

Sine SIRENs of the Fashion-MNIST INR zoo's shape (2-32-32-1), 10 classes, each encoder at ScaleGMN-B's width (128).
Each variant trains `encode.fit_predictor` for 2 epochs; the second is timed (INRs/s). Variants: today's
(batch 64, eager), batch 512, and batch 512 through torch.compile (`FitConfig(compile=True)`; bf16 autocast joins it
on CUDA). The training step's FLOPs per INR come from torch's FLOP counter; the projection puts ScaleGMN-B's budget
(55,000 training INRs x 200 epochs) on the H200's measured bf16 matmul rate (benchmarks/results/
zoo_engine_gpu_h200.json) at the share of the matmul rate the dense step reaches here, and says what share fits 8
minutes. Ratios, not times, carry across machines.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from harness import add_output, write_result  # noqa: E402 (benchmarks/ on the path when run as a script)
from torch.utils.flop_counter import FlopCounterMode
from yardsticks import matmul_tflops  # benchmarks/, beside this script

from weightspace.encode import EncoderConfig, FitConfig, Part, Predictor, WeightBatch, fit_predictor
from weightspace.nets import Net, NetBatch
from weightspace.train import siren_spec

BUDGET = {"inrs": 55_000, "epochs": 200, "minutes": 8}  # ScaleGMN-B's training set and epochs; the lease's share
H200 = Path(__file__).parent / "results" / "zoo_engine_gpu_h200.json"
VARIANTS = {  # label -> FitConfig settings
    "today (batch 64, eager)": {"batch_size": 64},
    "dense (batch 512, eager)": {"batch_size": 512},
    "dense (batch 512, compiled)": {"batch_size": 512, "compile": True, "bf16": True},
}


def sirens(n: int, seed: int = 0) -> WeightBatch:
    """n sine SIRENs at PyTorch's default init, scaled up the way a fitted SIREN's first layer is (w0 = 30)."""
    spec = siren_spec()
    nets = NetBatch.of([Net.init(spec, seed + i) for i in range(n)])
    nets.params["0.weight"].mul_(30.0)
    return WeightBatch.of(nets)


def predictor(kind: str, batch: WeightBatch) -> Predictor:
    config = EncoderConfig(
        kind=kind, width=128, dim=128, depth=2, target="label", task="classes", classes=list(range(10))
    )
    return Predictor(config.with_example(batch))


def step_flops(kind: str, batch: WeightBatch, target: torch.Tensor, size: int) -> float:
    """Forward + backward FLOPs of one training step, per INR."""
    model = predictor(kind, batch)
    part = batch.index(slice(0, size))
    with FlopCounterMode(display=False) as counter:
        torch.nn.functional.cross_entropy(model(part), target[:size]).backward()  # the classes loss
    return counter.get_total_flops() / size


def epoch_rate(kind: str, batch: WeightBatch, target: torch.Tensor, settings: dict, device: str) -> dict:
    torch.manual_seed(0)
    model = predictor(kind, batch)
    stamps = []
    config = FitConfig(epochs=2, seed=0, li_weight=0.0, **settings)
    part = Part(batch, target, np.arange(len(target)))
    start = time.perf_counter()
    fit_predictor(model, [part], None, config, lambda *_: stamps.append(time.perf_counter()), device)
    seconds = stamps[1] - stamps[0]
    return {"inrs_per_s": len(target) / seconds, "epoch_s": seconds, "call_s": time.perf_counter() - start}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--networks", type=int, default=2048)
    parser.add_argument("--encoders", default="graph,nfn-hnp")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=2)
    add_output(parser, "inr_encoders_dense.json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    batch = sirens(args.networks)
    target = torch.randint(0, 10, (args.networks,), generator=torch.Generator().manual_seed(0))
    h200 = json.loads(H200.read_text())["matmul_tflops"]["bfloat16"]
    here = matmul_tflops(args.device, torch.float32)
    report = {"device": args.device, "networks": args.networks, "threads": args.threads, "budget": BUDGET,
              "h200_bf16_tflops": h200, "matmul_tflops_here": here, "encoders": {}}  # fmt: skip
    print(f"{args.networks} SIRENs, width 128, {args.device}; matmul here {here:.2f} TFLOP/s, H200 bf16 {h200:.0f}")
    print("| encoder | variant | INRs/s | x today | step GFLOP/INR | share of matmul rate |")
    print("|---|---|---:|---:|---:|---:|")
    for kind in args.encoders.split(","):
        flops = step_flops(kind, batch, target, 64)
        rows = {}
        for label, settings in VARIANTS.items():
            r = epoch_rate(kind, batch, target, settings, args.device)
            r["x_today"] = r["inrs_per_s"] / next(iter(rows.values()))["inrs_per_s"] if rows else 1.0
            r["share_of_matmul"] = r["inrs_per_s"] * flops / 1e12 / here
            r["step_gflop_per_inr"] = flops / 1e9
            rows[label] = r
            print(f"| {kind} | {label} | {r['inrs_per_s']:.0f} | {r['x_today']:.2f} | {flops / 1e9:.3f} | "
                  f"{100 * r['share_of_matmul']:.1f} % |", flush=True)  # fmt: skip
        total = flops * BUDGET["inrs"] * BUDGET["epochs"]
        best = max(rows.values(), key=lambda r: r["inrs_per_s"])
        projection = {
            "total_pflop": total / 1e15,
            "share_here": best["share_of_matmul"],
            "h200_minutes_at_share_here": total / (best["share_of_matmul"] * h200 * 1e12) / 60,
            "share_needed_for_budget_minutes": total / (BUDGET["minutes"] * 60 * h200 * 1e12),
        }
        report["encoders"][kind] = {"step_flops_per_inr": flops, "variants": rows, "projection": projection}
        print(f"  {kind}: ScaleGMN-B budget {projection['total_pflop']:.0f} PFLOP; on an H200 at this share "
              f"{projection['h200_minutes_at_share_here']:.1f} min; 8 min needs "
              f"{100 * projection['share_needed_for_budget_minutes']:.1f} % of its bf16 rate", flush=True)  # fmt: skip
        write_result(args, "inr_encoders_dense.json", report)
    write_result(args, "inr_encoders_dense.json", report)


if __name__ == "__main__":
    main()
