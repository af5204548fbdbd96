"""A wild zoo: every network its own drawn CNN, the draw in its rows, and encoders that read them all at once."""

from __future__ import annotations

import pytest

from weightspace.encode import EncoderConfig, FitConfig
from weightspace.errors import WeightspaceError
from weightspace.nets import wild_cnn
from weightspace.recipes import train_on_zoo
from weightspace.zoo import generate, make_plan
from weightspace.zoo.config import Arch, Wild, ZooConfig, wild_kwargs, zoo_preset


@pytest.fixture(scope="module")
def wild(tmp_path_factory):
    config = zoo_preset("digits-wild", per_task=24, training={"epochs": 1, "batch_size": 256}, checkpoints=[1])
    return config, generate(config, tmp_path_factory.mktemp("wild") / "zoo", workers=1)


def test_every_network_draws_its_own_architecture_and_its_rows_say_which(wild):
    config, zoo = wild
    assert len(zoo) == 24 and len(zoo.specs) == 24
    for _, row in zoo.table.iterrows():
        spec = wild_cnn(**wild_kwargs(row.to_dict()), input_shape=(1, 8, 8))
        assert zoo.specs[int(row["spec"])] == spec
        assert sum(n.op.kind == "conv2d" for n in spec.nodes) == row["layers"]
    drawn = zoo.table.drop_duplicates("model_id")
    assert drawn["channels"].nunique() > 5 and drawn["kernels"].nunique() > 3
    assert set(drawn["layers"]) <= {2, 3, 4, 5} and drawn["batchnorm"].any() and not drawn["batchnorm"].all()


def test_the_draws_are_a_function_of_the_seed():
    config = zoo_preset("digits-wild", per_task=50)
    again = [s.hp for s in make_plan(config, 10)]
    assert again == [s.hp for s in make_plan(config, 10)]
    other = [s.hp for s in make_plan(config.model_copy(update={"seed": 1}), 10)]
    assert other != again
    skips = [int(r) for s in make_plan(config, 10) for r in s.hp["residual"].split(",")]
    assert any(r >= 0 for r in skips)
    for s in make_plan(config, 10):  # a skip never comes from the layer just before
        assert all(r == -1 or r < i - 1 for i, r in enumerate(int(v) for v in s.hp["residual"].split(",")))


def test_a_wild_config_names_the_wild_preset():
    with pytest.raises(WeightspaceError, match="preset wild-cnn"):
        ZooConfig(name="x", dataset="digits", arch=Arch(preset="small-cnn"), wild=Wild()).check()
    with pytest.raises(WeightspaceError, match="wild activations"):
        ZooConfig(name="x", dataset="digits", arch=Arch(preset="wild-cnn", kwargs={"input_shape": [1, 8, 8]}),
                  wild=Wild(activations=["swish"])).check()  # fmt: skip


@pytest.mark.parametrize("kind", ["sne", "probe"])
def test_encoders_read_a_population_of_different_architectures(wild, kind):
    _, zoo = wild
    config = EncoderConfig(kind=kind, target="test_accuracy", width=8, dim=4, depth=1, head_width=16, probes=8)
    _, report = train_on_zoo(zoo, config, FitConfig(epochs=2, batch_size=8))
    assert len(report["history"]) == 2 and all(h["train_loss"] > 0 for h in report["history"])
    assert report["permutation_gap"] < (1e-5 if kind == "probe" else 1.0)


def test_the_fashion_wild_preset_plans_its_draws_on_shares_of_fashion_mnist():
    config = zoo_preset("fashion-wild")
    plan = make_plan(config, 10)
    assert config.dataset == "fashion-mnist" and sum(len(s.nets) for s in plan) == 1000
    assert all(0.02 <= s.hp["train_fraction"] <= 0.05 for s in plan[:50]) and len({s.hp["lr"] for s in plan}) == 1000
    assert config.varied.train_fraction == [0.02, 0.05] and config.checkpoints == [1, 2, 4]


@pytest.mark.slow  # 15 s: Fashion-MNIST loaded and two drawn CNNs trained (`make bench`)
def test_the_fashion_wild_preset_trains_each_draw_on_its_own_share_of_fashion_mnist(tmp_path):
    config = zoo_preset("fashion-wild", per_task=2, training={"epochs": 1, "batch_size": 128}, checkpoints=[1])
    zoo = generate(config, tmp_path / "zoo", workers=1)
    rows = zoo.table
    assert len(zoo) == 2 and len(zoo.specs) == 2 and rows["dataset"].eq("fashion-mnist").all()
    assert rows["train_fraction"].between(0.02, 0.05).all() and rows["lr"].nunique() == 2
    assert (rows["test_accuracy"] > 0.1).all()  # above chance after one epoch on 1,200-3,000 images
