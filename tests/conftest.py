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


def _repository_state() -> str | None:
    """`git status` of the checkout, or None outside a git checkout."""
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    try:
        done = subprocess.run(["git", "status", "--porcelain", "--ignored=traditional"], cwd=root,
                              capture_output=True, text=True, timeout=60)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return None
    caches = ("__pycache__", ".hypothesis", ".pytest_cache", ".ruff_cache")
    lines = [line for line in done.stdout.splitlines() if not any(c in line for c in caches)]
    return "\n".join(lines) if done.returncode == 0 else None


@pytest.fixture(scope="session", autouse=True)
def nothing_written_into_the_repository():
    """The suite writes only into temporary folders: the checkout's git status is the same after it."""
    before = _repository_state()
    yield
    after = _repository_state()
    if before is not None and after is not None and after != before:
        new = sorted(set(after.splitlines()) - set(before.splitlines()))
        pytest.fail(f"the test suite changed the repository: {new[:10]}")
