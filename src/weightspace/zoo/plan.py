"""The shard plan: which networks, with which seeds and hyperparameters, go into which shard.

The plan is a pure function of the config (and the number of classes), so any process can recompute it and
resuming only needs to know which shard files exist.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from weightspace.errors import WeightspaceError
from weightspace.zoo.config import ZooConfig


@dataclass(frozen=True)
class NetPlan:
    model_id: int
    task: int  # the one-vs-rest class, or -1 for a multi-class network
    init_seed: int
    order_seed: int


@dataclass(frozen=True)
class ShardPlan:
    id: int
    nets: tuple[NetPlan, ...]
    hp: dict[str, Any] = field(default_factory=dict)  # hyperparameters shared by the shard's networks


def derive_seeds(base: int, *key: int) -> tuple[int, int]:
    a, b = np.random.SeedSequence([base, *key]).generate_state(2)
    return int(a) & 0x7FFFFFFF, int(b) & 0x7FFFFFFF


def _varied_hp(config: ZooConfig, shard_id: int) -> dict[str, Any]:
    v = config.varied
    rng = np.random.default_rng([config.seed, shard_id, 1])
    lr = math.exp(rng.uniform(*np.log(v.lr)))
    wd = 0.0 if rng.random() < 0.25 else math.exp(rng.uniform(*np.log(v.weight_decay)))
    return {
        "activation": str(rng.choice(v.activation)),
        "init": str(rng.choice(v.init)),
        "optimizer": str(rng.choice(v.optimizer)),
        "lr": float(lr),
        "weight_decay": float(wd),
        "dropout": float(rng.choice(v.dropout)),
        "train_fraction": float(rng.choice(v.train_fraction)),
    }


def make_plan(config: ZooConfig, num_classes: int) -> list[ShardPlan]:
    """Networks in task-major order, cut into shards of `shard_size`; each network gets its own two seeds."""
    if config.tasks == "multiclass":
        tasks = [-1]
    else:
        tasks = config.classes if config.classes is not None else list(range(num_classes))
        bad = [k for k in tasks if not 0 <= k < num_classes]
        if bad:
            raise WeightspaceError(f"classes {bad} do not exist; the dataset has classes 0..{num_classes - 1}")
    nets = []
    for task in tasks:
        for _ in range(config.per_task):
            model_id = len(nets)
            nets.append(NetPlan(model_id, task, *derive_seeds(config.seed, model_id)))
    shards = []
    for sid, start in enumerate(range(0, len(nets), config.shard_size)):
        if config.varied:
            hp = _varied_hp(config, sid)
        else:
            r = config.training
            hp = {"init": config.init, "optimizer": r.optimizer, "lr": r.lr, "weight_decay": r.weight_decay,
                  "train_fraction": config.train_fraction}  # fmt: skip
        if len(config.archs) > 1:
            hp["arch"] = sid % len(config.archs)
        if config.wild:  # the draw sets the activations; dropout has no place in a wild-cnn
            draw = config.wild.draw(np.random.default_rng([config.seed, sid, 2]))
            hp = {k: v for k, v in hp.items() if k not in ("activation", "dropout")} | draw
        shards.append(ShardPlan(sid, tuple(nets[start : start + config.shard_size]), hp))
    return shards
