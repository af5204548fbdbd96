"""How many images to evaluate at once: the zoo engine's chunk rule (about 2**17 input values for all networks
together) against the rule it replaced (32,768 // M images, whatever their size), in the same run.

    python benchmarks/eval_chunks.py --publish

Each row: a zoo preset's first architecture, M stacked networks, `--images` random images of its input shape;
best of `--reps` seconds for each rule, interleaved, and the ratio old / new. Outputs are compared too: the chunks
change how the work is split, never the answer.
"""

from __future__ import annotations

import argparse
import time

import torch
from harness import add_output, write_result  # noqa: E402 (benchmarks/ on the path when run as a script)

from weightspace.nets import Net, NetBatch
from weightspace.train import shared_model
from weightspace.zoo import zoo_preset

CASES = (("fashion-lenet5", 16), ("fashion-smallcnn-varied", 16), ("fashion-wild", 1), ("digits-wild", 1))
OLD_ROWS = 32768


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=4000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="as a zoo worker runs (one thread each)")
    add_output(parser, "eval_chunks.json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    rows = []
    for preset, m in CASES:
        spec = zoo_preset(preset, per_task=1).spec(0)
        model = shared_model(spec, "cpu", False)
        params = NetBatch.of([Net.init(spec, seed=i) for i in range(m)]).params
        x = torch.randn(args.images, *spec.input_shape)
        y = torch.randint(0, 2, (m, args.images))
        old_values = max(1, OLD_ROWS // m) * m * x[0].numel()  # the old rule, written in the new unit
        best = {"old": float("inf"), "new": float("inf")}
        for _ in range(args.reps):
            for rule, values in (("old", old_values), ("new", 2**17)):
                start = time.perf_counter()
                metrics = model.evaluate(params, x, y, values=values)
                best[rule] = min(best[rule], time.perf_counter() - start)
                if rule == "old":
                    want = metrics
                elif any(
                    abs(a["loss"] - b["loss"]) > 1e-5 or a["accuracy"] != b["accuracy"] for a, b in zip(want, metrics)
                ):
                    raise SystemExit(f"{preset}: the chunk rules disagree")
        rows.append({"preset": preset, "networks": m, "input": list(spec.input_shape),
                     "old_s": round(best["old"], 3), "new_s": round(best["new"], 3),
                     "speedup": round(best["old"] / best["new"], 2)})  # fmt: skip
        print(rows[-1], flush=True)
    result = {"images": args.images, "threads": args.threads, "torch": torch.__version__, "rows": rows}
    write_result(args, "eval_chunks.json", result)


if __name__ == "__main__":
    main()
