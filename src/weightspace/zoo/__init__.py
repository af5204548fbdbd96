"""Model zoos: generate (batched, resumable, any executor), store (safetensors + Parquet), load, convert, classify."""

from weightspace.zoo.config import PRESETS, Arch, Varied, ZooConfig, zoo_preset
from weightspace.zoo.generate import generate, run_shard
from weightspace.zoo.plan import NetPlan, ShardPlan, make_plan
from weightspace.zoo.store import Zoo, ZooDataset, ZooError, verify

__all__ = [
    "PRESETS",
    "Arch",
    "NetPlan",
    "ShardPlan",
    "Varied",
    "Zoo",
    "ZooConfig",
    "ZooDataset",
    "ZooError",
    "generate",
    "make_plan",
    "run_shard",
    "verify",
    "zoo_preset",
]
