"""Readers answer in the column's terms and say when a selection is empty; `zoo info` reads every kind of zoo."""

import json

import pytest
import torch

from weightspace.cli import main
from weightspace.fileio import write_json
from weightspace.nets import NetBatch, mlp
from weightspace.zoo import ZooError, generate, write_nets, write_zoo


def test_filter_compares_as_the_columns_type(tmp_path, tiny_config):
    zoo = generate(tiny_config, tmp_path / "z")
    assert len(zoo.filter(task=0)) == len(zoo.filter(task="0")) == 6
    assert len(zoo.filter(task=[0, 1])) == 12
    with pytest.raises(ZooError, match="holds numbers"):
        zoo.filter(epoch="two")
    with pytest.raises(ZooError, match="not a valid query"):
        zoo.filter("epoch >")
    empty = zoo.filter(epoch=5)
    assert len(empty) == 0 and empty.flat().shape == (0, zoo.specs[0].num_params())
    assert empty.batch().params["0.weight"].shape == (0, 16, 1, 3, 3)


def imported(root, rows):
    spec = mlp(3, [4], 2, activation="relu")
    stacked = {k: torch.randn(len(rows), *s) for k, s in spec.state_shapes().items()}
    return write_zoo(root, "imported", NetBatch(spec, stacked), rows, source={"format": "test"})


@pytest.mark.parametrize(
    "rows",
    [
        [{"file": "a.h5"}, {"file": "b.h5"}],  # no task, epoch or metric
        [{"model_id": 0, "task": "cat", "fit_mse": 0.1}],  # one network, an INR-style metric
        [{"model_id": i, "task": "dog", "epoch": 3, "test_accuracy": float("nan")} for i in range(3)],
    ],
)
def test_zoo_info_reads_zoos_without_some_columns(tmp_path, rows, capsys):
    root = imported(tmp_path / "z", rows).root
    with pytest.raises(SystemExit) as exit_:
        main(["zoo", "info", str(root)])
    out = capsys.readouterr().out
    assert exit_.value.code == 0 and "imported" in out


def test_write_zoo_refuses_nothing_and_nonempty_folders(tmp_path):
    with pytest.raises(ZooError, match="at least one"):
        imported(tmp_path / "z", [])
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x.txt").write_text("mine")
    with pytest.raises(ZooError, match="already holds files"):
        imported(tmp_path / "full", [{"file": "a"}])
    assert sorted(p.name for p in (tmp_path / "full").iterdir()) == ["x.txt"]


def test_json_reports_stay_json(tmp_path):
    write_json(tmp_path / "r.json", {"tau": float("nan"), "rows": [1.0, float("inf")]})
    assert json.loads((tmp_path / "r.json").read_text()) == {"tau": None, "rows": [1.0, None]}


def test_encode_train_on_a_zoo_too_small_to_score_says_why(tmp_path, tiny_config, capsys):
    root = generate(tiny_config.model_copy(update={"per_task": 1}), tmp_path / "z").root
    with pytest.raises(SystemExit) as exit_:
        main(["encode", "train", "--zoo", str(root), "--epochs", "1"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "at least 2 train and 2 test networks" in err and len(err.splitlines()) == 1
    assert not (root / "encoders").exists()


def test_zoo_info_names_a_missing_shard(tmp_path, tiny_config, capsys):
    root = generate(tiny_config, tmp_path / "z").root
    (root / "shards" / "00001.safetensors").unlink()
    with pytest.raises(SystemExit):
        main(["zoo", "info", str(root)])
    assert "missing shard files: shards/00001.safetensors" in capsys.readouterr().out


def test_nets_go_back_into_a_zoo(tmp_path, tiny_config):

    zoo = generate(tiny_config, tmp_path / "z").filter(epoch=2)
    nets = [zoo.net(i) for i in range(3)]
    back = write_nets(tmp_path / "back", nets, "three")
    assert torch.equal(back.flat(), zoo.flat(range(3))) and list(back.table["task"]) == list(zoo.table["task"][:3])
    with pytest.raises(ZooError, match="one spec"):
        write_nets(tmp_path / "mixed", [nets[0], imported(tmp_path / "i", [{"file": "a"}]).net(0)])
