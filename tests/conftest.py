import pytest

from weightspace.train import Training
from weightspace.zoo import Arch, ZooConfig


def make_tiny_config() -> ZooConfig:
    """9 small-CNN one-vs-rest networks on digits in 3 shards, two checkpoints each: a few seconds."""
    return ZooConfig(
        name="tiny",
        dataset="digits",
        arch=Arch(preset="small-cnn", kwargs={"input_shape": [1, 8, 8], "padding": 1, "classes": 1}),
        classes=[0, 1, 2],
        per_task=3,
        training=Training(epochs=2, batch_size=64, lr=1e-2),
        checkpoints=[1, 2],
        init="glorot_uniform",
        shard_size=3,
    )


@pytest.fixture
def tiny_config() -> ZooConfig:
    return make_tiny_config()


def _repository_files() -> set[str]:
    """Every file and folder of the checkout, but for the environment, git's own and the caches tools keep."""
    import os
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    skip = {".git", ".venv", "__pycache__", ".hypothesis", ".pytest_cache", ".ruff_cache", "site"}
    found = set()
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in skip and not d.endswith(".egg-info")]
        found.update(os.path.join(folder, name) for name in dirs + files)
    return found


@pytest.fixture(scope="session", autouse=True)
def nothing_written_into_the_repository():
    """The suite writes only into temporary folders: no file or folder appears in the checkout while it runs."""
    before = _repository_files()
    yield
    new = sorted(_repository_files() - before)
    if new:
        pytest.fail(f"the test suite wrote into the repository: {new[:10]}")
