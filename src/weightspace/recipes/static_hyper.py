"""Ha et al.'s static-hypernetwork experiments: the same network with ordinary weights, and with kernels generated.

- `ha-mnist-cnn` (their MNIST table): the second conv kernel of a small CNN generated.
- `wrn` (their CIFAR-10 table, at our scale): every 3x3 kernel of a wide residual network generated, one
  embedding per 16 x 16 kernel slice (N_z = 64), the stem (one input channel) and the 1x1 shortcuts ordinary.
With several seeds each model's rows are followed by a mean row with the standard deviation.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field, PositiveInt

from weightspace.data import load
from weightspace.errors import WeightspaceError
from weightspace.fileio import write_json
from weightspace.hyper import ha_mnist_cnn, static_model
from weightspace.nets import Spec, count_parameters, wrn
from weightspace.recipes.base import RecipeConfig
from weightspace.train import Training, train_module

DATASETS = ("mnist5k", "fashion-mnist", "digits")


Z_DIM = {"ha-mnist-cnn": 4, "wrn": 64}  # the papers' N_z
BLOCK = 16  # Ha et al.'s WRN kernel slice: 16 x 16 x 3 x 3


class StaticHyperConfig(RecipeConfig):
    dataset: str = "mnist5k"
    model: Literal["ha-mnist-cnn", "wrn"] = "ha-mnist-cnn"
    depth: PositiveInt = 10  # wrn only: depth 6n + 4 (Ha et al.: 40)
    widen: PositiveInt = 2  # wrn only (Ha et al.: 2)
    train_size: PositiveInt | None = None  # a seeded subset of the training images; None: all
    epochs: PositiveInt = 10
    batch_size: PositiveInt = 64
    z_dim: PositiveInt | None = None  # N_z = d of the kernel generator; None: the paper's for the model
    seed: int = Field(0, ge=0)
    seeds: PositiveInt = 1  # seeds seed, seed + 1, ...


def run(config: StaticHyperConfig, out: str | Path, device: str = "cpu", on_epoch=None) -> list[dict]:
    """Both models trained per seed (checkpointed every epoch in OUT, so a rerun resumes); rows to
    OUT/results.json."""
    if config.dataset not in DATASETS:
        raise WeightspaceError(f"dataset {config.dataset!r}: the static hypernetwork runs on {', '.join(DATASETS)}")
    rows = []
    for seed in range(config.seed, config.seed + config.seeds):
        where = Path(out) / f"seed{seed}" if config.seeds > 1 else Path(out)
        rows += run_static(config.model_copy(update={"seed": seed}), str(where), on_epoch, device)
    if config.seeds > 1:
        rows += summary_rows(rows)
    write_json(Path(out) / "results.json", {"kind": "static-hyper", "rows": rows})
    return rows


def summary_rows(rows: list[dict]) -> list[dict]:
    """One row per model: the mean test error over seeds, with its standard deviation."""
    out = []
    for model in dict.fromkeys(r["model"] for r in rows):
        mine = [r for r in rows if r["model"] == model]
        errors = np.array([r["test_error"] for r in mine])
        out.append(mine[0] | {"seed": "mean", "test_error": float(errors.mean()), "test_error_std": float(errors.std()),
                              "best_test_error": float(np.mean([r["best_test_error"] for r in mine])),
                              "seeds": len(mine)})  # fmt: skip
    return out


def target_and_generated(config: StaticHyperConfig, input_shape, classes: int) -> tuple[Spec, list[str]]:
    """The network and the names of the kernels the hypernetwork writes."""
    if config.model == "ha-mnist-cnn":
        spec = ha_mnist_cnn(input_shape, classes)
        return spec, [[n for n, s in spec.state_shapes().items() if len(s) == 4][1]]
    spec = wrn(config.depth, config.widen, input_shape, classes)
    kernels = [n for n, s in spec.state_shapes().items() if len(s) == 4 and s[2:] == (3, 3)]
    return spec, [
        n for n in kernels if spec.state_shapes()[n][0] % BLOCK == 0 and spec.state_shapes()[n][1] % BLOCK == 0
    ]


def run_static(config: StaticHyperConfig, out: str | None = None, on_epoch=None, device: str = "cpu") -> list[dict]:
    """One seed of the experiment: the network with ordinary weights, then with its kernels generated.

    One row per model: parameters (whole network, and the generated kernels' own or the hypernetwork's), test
    error, epochs. With `out`, each model checkpoints every epoch to OUT/<model>.ckpt.safetensors and a rerun
    resumes.
    """
    data = load(config.dataset)
    if config.train_size:
        data = data.subset(config.train_size, config.seed)
    spec, generated = target_and_generated(config, data.input_shape, data.num_classes)
    z_dim = config.z_dim or Z_DIM[config.model]
    recipe = Training(epochs=config.epochs, lr=1e-3, batch_size=config.batch_size, seed=config.seed)
    rows = []
    for label, names in (("ordinary", []), ("hypernetwork", generated)):
        model = static_model(spec, names, z_dim, config.seed, block=(BLOCK, BLOCK) if config.model == "wrn" else None)
        kernels = count_parameters(model.hyper) if names else sum(math.prod(spec.state_shapes()[n]) for n in generated)
        ckpt = Path(out) / f"{label}.ckpt.safetensors" if out else None

        def report(row, label=label):
            if on_epoch:
                on_epoch(label, row)

        history = train_module(model, data, recipe, device, checkpoint=ckpt, on_epoch=report)
        rows.append(
            {
                "model": label,
                "network": spec.name,
                "dataset": config.dataset,
                "train_size": len(data.x_train),
                "seed": config.seed,
                "parameters": count_parameters(model),
                "generated_parameters": kernels,  # the kernels' own, or the hypernetwork writing them
                "generated_kernels": len(generated),
                "test_error": 1 - history[-1]["test_accuracy"],
                "best_test_error": 1 - max(h["test_accuracy"] for h in history),
                "epochs": config.epochs,
            }
        )
    return rows
