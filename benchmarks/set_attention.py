"""SNE's training step with its attention blocks (`encode.sets.MAB`) against the same blocks run through
nn.MultiheadAttention's own forward, in one process on the same weights (the ratio is what counts).

    python benchmarks/set_attention.py --publish
    python benchmarks/set_attention.py --train-epochs 3 --seed 2   # both forwards train SNE on the seed task

Timing: a training step on seed LeNet-5s (3x32x32), SNE as the encode benchmarks size it. `--train-epochs` instead
trains SNE on the seed task (runs/encode-zoos/digits-lenet5, `encode_bench.py seed-task`'s settings) from the same
init and split with each forward, and prints each run's test accuracy and per-epoch train and val loss (the best
val epoch is the one kept).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from encode_bench import SNE  # benchmarks/, beside this script: SNE as the encode benchmarks size it
from harness import add_output, write_result  # noqa: E402 (benchmarks/ on the path when run as a script)

from weightspace.encode import MAB, EncoderConfig, FitConfig, Predictor, WeightBatch
from weightspace.nets import Net, lenet5_seed
from weightspace.recipes import train_on_zoo
from weightspace.zoo import Zoo


def torch_forward(self: MAB, x, y, y_mask=None):
    """The block as nn.MultiheadAttention's forward computes it (the baseline)."""
    pad = None if y_mask is None else ~y_mask
    h = self.ln1(x + self.attn(x, y, y, key_padding_mask=pad, need_weights=False)[0])
    return self.ln2(h + self.ff(h))


def train_both(zoo_dir: Path, epochs: int, seed: int) -> None:
    """The seed task trained with each forward from one init and split: the faster block must train alike."""
    ours = MAB.forward
    for name, forward in (("torch MultiheadAttention forward", torch_forward), ("weightspace MAB forward", ours)):
        MAB.forward = forward
        config = EncoderConfig(kind="sne", target="task", **SNE)
        fit = FitConfig(epochs=epochs, li_weight=0.0, seed=seed)
        _, report = train_on_zoo(Zoo.open(zoo_dir), config, fit, task="classes", split_seed=seed)
        losses = {k: [round(h[k], 4) for h in report["history"]] for k in ("train_loss", "val_loss")}
        print(f"{name}: test {report['test']}; by epoch {losses}", flush=True)
    MAB.forward = ours


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--networks", type=int, default=8, help="networks per training step")
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    add_output(p, "set_attention_cpu.json")
    p.add_argument("--train-epochs", type=int, help="train SNE on the seed task with each forward instead of timing")
    p.add_argument("--seed", type=int, default=0, help="--train-epochs: init, batch order and split")
    p.add_argument("--zoo", type=Path, default=Path("runs/encode-zoos/digits-lenet5"))
    args = p.parse_args()
    if args.threads < 1:
        p.error(f"--threads must be at least 1, not {args.threads}")
    torch.set_num_threads(args.threads)
    if args.train_epochs:
        return train_both(args.zoo, args.train_epochs, args.seed)
    torch.manual_seed(0)
    spec = lenet5_seed(input_shape=[3, 32, 32])
    batch = WeightBatch.of([Net.init(spec, i) for i in range(args.networks)])
    config = EncoderConfig(kind="sne", **SNE).with_example(batch)
    model = Predictor(config)
    ours = MAB.forward

    def step() -> float:
        start = time.perf_counter()
        model.zero_grad()
        model(batch).square().mean().backward()
        return time.perf_counter() - start

    times = {"torch MultiheadAttention forward": [], "weightspace MAB forward": []}
    for _ in range(args.reps + 1):  # alternate, so load on the machine falls on both; the first round warms up
        for name, forward in zip(times, (torch_forward, ours)):
            MAB.forward = forward
            times[name].append(step())
    MAB.forward = ours
    best = {name: min(t[1:]) for name, t in times.items()}
    base = best["torch MultiheadAttention forward"]
    report = {
        "networks": args.networks,
        "threads": args.threads,
        "seconds_per_step": best,
        "speedup": {name: base / s for name, s in best.items()},
    }
    print("| attention forward | s per SNE training step | vs torch's forward |\n|---|---:|---:|")
    for name, s in best.items():
        print(f"| {name} | {s:.2f} | {base / s:.2f}x |")
    write_result(args, "set_attention_cpu.json", report)


if __name__ == "__main__":
    main()
