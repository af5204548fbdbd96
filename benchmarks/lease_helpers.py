"""Small steps of the GPU lease script (gpu_session.sh) between its stages.

python benchmarks/lease_helpers.py zoo-size ENGINE.json SECONDS IMAGES EPOCHS   # prints "PER_TASK KERNELS"
python benchmarks/lease_helpers.py per-class ZOO                                # JSON: per-class means
python benchmarks/lease_helpers.py inr-summary ZOO                              # JSON: the INR zoo's fits
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

BATCH = 128  # zoo_engine_gpu.py's batch: an epoch there is steps_per_epoch x 128 images


def zoo_size(engine: str, seconds: str, images: str, epochs: str) -> str:
    """Networks per task (10 tasks) that the engine's fastest --fast-gpu mode trains in `seconds` (90 % of it),
    and that mode's --kernels (empty for the default)."""
    path = Path(engine)
    report = json.loads(path.read_text()) if path.is_file() else {"modes": {}, "steps_per_epoch": 1}
    modes = report["modes"]
    # the zoo keeps every network's own batch order (orders 0) under --fast-gpu: only those modes count
    rated = [m for m in modes.values() if "network_epochs_per_s" in m and not m["deterministic"] and not m["orders"]]
    best = max(rated, key=lambda m: m["network_epochs_per_s"], default={"network_epochs_per_s": 1.0, "kernels": None})
    rate = best["network_epochs_per_s"] * report["steps_per_epoch"] * BATCH / float(images)
    return f"{max(1, int(0.9 * float(seconds) * rate / float(epochs)) // 10)} {best['kernels'] or ''}".strip()


def per_class(root: str) -> str:
    from weightspace.zoo import Zoo, ZooError

    try:
        t = Zoo.open(root).table
    except ZooError as err:  # the stage's time box cut the zoo: say so in the results
        return json.dumps({"complete": False, "error": str(err)})
    means = t.groupby("task")[["test_accuracy", "test_auc"]].mean().to_dict("index")
    return json.dumps({"networks": int(t["model_id"].nunique()), "per_class": means}, indent=1)


def inr_summary(root: str) -> str:
    from weightspace.zoo import Zoo

    t = Zoo.open(root).table
    return json.dumps(
        {"inrs": len(t), "splits": t["split"].value_counts().to_dict(), "psnr_mean": t["psnr"].mean(),
         "psnr_min": t["psnr"].min(), "stopped_early": float((t["steps"] < t["steps"].max()).mean()),
         "fitter": t["fitter"].iloc[0]},
        indent=1,
    )  # fmt: skip


STEPS = {"zoo-size": zoo_size, "per-class": per_class, "inr-summary": inr_summary}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in STEPS:
        sys.exit(__doc__)
    print(STEPS[sys.argv[1]](*sys.argv[2:]))
