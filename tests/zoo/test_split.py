"""One split rule: a zoo's own split where it has one (every row train, val or test), else by model id; the
encoders, the generator and `zoo classify` all follow it."""

import numpy as np
import pandas as pd

from weightspace.nets import Net, mlp
from weightspace.zoo import classify, own_split, write_nets, zoo_split


def test_a_zoos_own_split_is_kept_and_a_partial_one_is_not():
    table = pd.DataFrame({"model_id": range(10), "split": ["train"] * 6 + ["val"] * 2 + ["test"] * 2})
    assert own_split(table) and zoo_split(table, seed=3).tolist() == table["split"].tolist()
    table.loc[0, "split"] = "unassigned"
    drawn = zoo_split(table, seed=3)
    assert not own_split(table) and drawn.isin(["train", "val", "test"]).all()
    assert (drawn == "train").sum() == 8  # by model id, 80 %


def test_a_split_by_model_id_keeps_each_networks_checkpoints_together():
    table = pd.DataFrame({"model_id": np.repeat(np.arange(20), 3), "epoch": np.tile([1, 2, 3], 20)})
    split = zoo_split(table, seed=0)
    assert (split.groupby(table["model_id"]).nunique() == 1).all()


def test_zoo_classify_uses_the_zoos_own_test_networks(tmp_path):
    spec = mlp(4, [6], 2)
    nets = []
    for i in range(24):
        net = Net.init(spec, seed=i)
        task = i % 2
        net.params["0.bias"] = net.params["0.bias"] + 3.0 * task  # the class is readable from the weights
        net.meta.update(model_id=i, task=str(task), split="test" if i >= 18 else "train")
        nets.append(net)
    zoo = write_nets(tmp_path / "zoo", nets)
    result = classify(zoo, "task")
    assert (result.n_train, result.n_test) == (18, 6)
