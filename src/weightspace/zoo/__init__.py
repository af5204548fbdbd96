"""Model zoos: generate (batched, resumable, any executor), store (safetensors + Parquet), load, convert, classify."""

from weightspace.zoo import formats
from weightspace.zoo.classify import ClassifyResult, classify
from weightspace.zoo.config import ZOO_PRESETS, Arch, Varied, ZooConfig, zoo_preset
from weightspace.zoo.generate import generate, run_shard
from weightspace.zoo.image_inrs import decode_inrs, make_image_inr_zoo
from weightspace.zoo.inr import make_sine_inr_zoo
from weightspace.zoo.lock import zoo_lock
from weightspace.zoo.plan import NetPlan, ShardPlan, make_plan
from weightspace.zoo.split import SPLITS, own_split, split_models, zoo_split
from weightspace.zoo.store import Zoo, ZooDataset, ZooError, load_net
from weightspace.zoo.verify import verify
from weightspace.zoo.writer import BESIDE, Pending, beside, write_classify, write_nets, write_networks, write_zoo

__all__ = [
    "BESIDE",
    "beside",
    "write_classify",
    "SPLITS",
    "own_split",
    "Arch",
    "ClassifyResult",
    "NetPlan",
    "ZOO_PRESETS",
    "Pending",
    "ShardPlan",
    "Varied",
    "Zoo",
    "ZooConfig",
    "ZooDataset",
    "ZooError",
    "classify",
    "decode_inrs",
    "formats",
    "generate",
    "load_net",
    "make_image_inr_zoo",
    "make_plan",
    "make_sine_inr_zoo",
    "run_shard",
    "split_models",
    "zoo_split",
    "verify",
    "write_nets",
    "write_networks",
    "write_zoo",
    "zoo_lock",
    "zoo_preset",
]
