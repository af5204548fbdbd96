import pytest

from weightspace.train import Recipe
from weightspace.zoo import Arch, ZooConfig


def make_tiny_config() -> ZooConfig:
    """9 small-CNN one-vs-rest networks on digits in 3 shards, two checkpoints each: a few seconds."""
    return ZooConfig(
        name="tiny",
        dataset="digits",
        arch=Arch(preset="small-cnn", kwargs={"input_shape": [1, 8, 8], "padding": 1, "classes": 1}),
        classes=[0, 1, 2],
        per_task=3,
        recipe=Recipe(epochs=2, batch_size=64, lr=1e-2),
        checkpoints=[1, 2],
        init="glorot_uniform",
        shard_size=3,
    )


@pytest.fixture
def tiny_config() -> ZooConfig:
    return make_tiny_config()
