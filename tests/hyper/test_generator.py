"""The zoo-trained generator: alignment, training (resumable), evaluation, files, generated zoos, CLI."""

import math

import pytest
import torch

from tests.conftest import make_tiny_config
from weightspace.hyper import GeneratorConfig, HyperError, ZooGenerator, align_zoo, mmd
from weightspace.nets import Net
from weightspace.recipes.zoo_generator import evaluate_generator, train_generator, write_generated
from weightspace.zoo import Zoo, generate

CONFIG = GeneratorConfig(steps=4, per_class=2, images=16, checkpoint_every=2)


@pytest.fixture(scope="module")
def zoo(tmp_path_factory):
    config = make_tiny_config().model_copy(update={"per_task": 5, "checkpoints": None})
    return generate(config, tmp_path_factory.mktemp("zoo") / "z")


def test_alignment_keeps_every_network_s_function(zoo):
    aligned = align_zoo(zoo)
    assert aligned.flat.shape == (15, zoo.specs[0].num_params()) and aligned.classes == [0, 1, 2]
    x = torch.rand(4, 1, 8, 8)
    for i in (0, 7):
        net = zoo.net(i)
        moved = Net.from_flat(aligned.spec, aligned.flat[i])
        assert torch.allclose(net(x), moved(x), atol=1e-5)


def test_mmd_is_zero_in_expectation_for_one_distribution_and_large_for_two():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(200, 8, generator=g), torch.randn(200, 8, generator=g)
    assert abs(mmd(a, b).item()) < 0.02 and mmd(a, b + 3).item() > 0.5


def test_training_moves_the_generator_and_resumes_exactly(zoo, tmp_path):
    model, aligned, history = train_generator(zoo, CONFIG)
    assert len(history) == 4 and all(torch.isfinite(torch.tensor(list(r.values()))).all() for r in history)
    assert model.body[-1].weight.abs().sum() > 0  # zero-initialised: gradients reached it
    first, _, _ = train_generator(zoo, CONFIG.model_copy(update={"steps": 2}), tmp_path / "ck.safetensors")
    resumed, _, _ = train_generator(zoo, CONFIG, tmp_path / "ck.safetensors")
    for k, v in model.state_dict().items():
        assert torch.allclose(v, resumed.state_dict()[k], atol=1e-6), k
    report = evaluate_generator(model, aligned, per_class=3)
    assert report["generated"]["networks"] == 9 and math.isfinite(report["generated"]["auc"])
    assert report["zoo members (held out)"]["auc"] > report["random init"]["auc"]  # trained members beat noise
    assert report["random init"]["distance_to_nearest_train_member"] > 0


def test_saved_generator_samples_the_same_networks_and_writes_a_zoo(zoo, tmp_path):
    model, _, _ = train_generator(zoo, CONFIG)
    path = model.save(tmp_path / "gen")
    again = ZooGenerator.load(path)
    assert torch.allclose(model.sample(1, 2, seed=5)[1].flat(), again.sample(1, 2, seed=5)[1].flat(), atol=1e-6)
    with pytest.raises(HyperError, match="knows tasks"):
        again.sample(7, 1)
    written = write_generated(again, tmp_path / "generated", per_class=2)
    reopened = Zoo.open(tmp_path / "generated")
    assert len(reopened) == 6 == len(written) and set(reopened.table["task"]) == {"0", "1", "2"}
    assert reopened.table["test_auc"].between(0, 1).all()
    assert torch.allclose(reopened.net(0).flat(), again.sample(0, 2, seed=0)[0].flat(), atol=1e-6)


@pytest.mark.slow
def test_cli_train_generator_and_generate(zoo, tmp_path):
    from tests.test_cli import run

    out = run(
        "hyper", "train", "generator", "--zoo", str(zoo.root), "--steps", "2", "--per-class", "2",
        "--out", str(tmp_path / "g"),
    ).stdout  # fmt: skip
    assert "generated" in out and "random init" in out
    out = run("hyper", "generate", str(tmp_path / "g"), "--out", str(tmp_path / "z2"), "--per-class", "2").stdout
    assert "mean test accuracy" in out and Zoo.open(tmp_path / "z2").table["task_index"].tolist() == [0, 0, 1, 1, 2, 2]
