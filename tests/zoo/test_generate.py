import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
import yaml

from weightspace.errors import WeightspaceError
from weightspace.fileio import sha256_file
from weightspace.zoo import Zoo, ZooConfig, ZooError, generate, make_plan, verify, zoo_preset
from weightspace.zoo.shards import shard_path


def shard_hashes(root):
    return [sha256_file(p) for p in sorted((root / "shards").glob("*.safetensors"))]


def test_generated_zoo_has_every_planned_row_and_records_seeds(tmp_path, tiny_config):
    zoo = generate(tiny_config, tmp_path / "z")
    t = zoo.table
    assert len(t) == 9 * 2 and sorted(t["model_id"].unique()) == list(range(9))
    assert set(t["epoch"]) == {1, 2} and t["seed"].nunique() == 9 and t["order_seed"].nunique() == 9
    assert set(t["task"]) == {"0", "1", "2"}
    for col in ("train_loss", "test_accuracy", "test_precision", "test_recall", "test_f1", "test_auc"):
        assert t[col].between(0, 10).all()
    assert verify(tmp_path / "z") == []
    manifest = json.loads((tmp_path / "z" / "zoo.json").read_text())
    assert manifest["complete"] and len(manifest["shards"]) == 3 and manifest["config"]["name"] == "tiny"


def test_zoo_reader_views(tmp_path, tiny_config):
    zoo = generate(tiny_config, tmp_path / "z")
    last = zoo.filter(epoch=2)
    assert len(last) == 9 and len(zoo.filter("test_auc > 2")) == 0
    stacked = last.batch().params
    assert stacked["0.weight"].shape == (9, 16, 1, 3, 3)
    flat = last.flat()
    assert flat.shape == (9, zoo.specs[0].num_params())
    net = last.net(4)
    assert torch.equal(net.flat(), flat[4]) and net.meta["model_id"] == last.table.iloc[4]["model_id"]
    x = torch.rand(2, 1, 8, 8)
    assert net(x).shape == (2, 1)
    ds = last.dataset(target="test_accuracy", flat=True)
    vec, acc = ds[0]
    assert torch.equal(vec, flat[0]) and 0 <= acc <= 1
    with pytest.raises(ZooError, match="no column"):
        zoo.filter(colour="red")


def test_same_config_same_zoo_and_every_executor_agrees(tmp_path, tiny_config):
    from dask.distributed import Client, LocalCluster

    serial = generate(tiny_config, tmp_path / "serial")
    generate(tiny_config, tmp_path / "again")
    generate(tiny_config, tmp_path / "pool", workers=2)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster) as client:  # fmt: skip
        generate(tiny_config, tmp_path / "dask", dask=client)
    reference = shard_hashes(serial.root)
    assert len(reference) == 3
    for name in ("again", "pool", "dask"):
        assert shard_hashes(tmp_path / name) == reference, name
    other = generate(tiny_config.model_copy(update={"seed": 1}), tmp_path / "other")
    assert shard_hashes(other.root) != reference


def test_verify_detects_a_flipped_byte_and_a_missing_shard(tmp_path, tiny_config):
    root = tmp_path / "z"
    generate(tiny_config, root)
    path = shard_path(root, 1)
    data = bytearray(path.read_bytes())
    data[-5] ^= 0x01
    path.write_bytes(bytes(data))
    shard_path(root, 2).unlink()
    problems = verify(root)
    assert any("00001.safetensors is damaged" in p for p in problems)
    assert any("00002.safetensors is missing" in p for p in problems)


def test_refuses_to_overwrite_or_resume_a_different_config(tmp_path, tiny_config):
    generate(tiny_config, tmp_path / "z")
    with pytest.raises(ZooError, match="--resume"):
        generate(tiny_config, tmp_path / "z")
    with pytest.raises(ZooError, match="different config"):
        generate(tiny_config.model_copy(update={"per_task": 4}), tmp_path / "z", resume=True)
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "a.txt").write_text("x")
    with pytest.raises(ZooError, match="not a zoo"):
        generate(tiny_config, tmp_path / "junk")


def test_kill_minus_nine_then_resume_completes_exactly_the_plan(tmp_path, tiny_config):
    config = tiny_config.model_copy(update={"per_task": 8, "shard_size": 2})  # 12 shards
    cfg_file = tmp_path / "zoo.yaml"
    cfg_file.write_text(config.to_yaml())
    root = tmp_path / "z"
    cmd = [sys.executable, "-m", "weightspace.cli", "zoo", "generate", "--config", str(cfg_file), "--out", str(root)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and len(list((root / "shards").glob("*.safetensors"))) < 2:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    written = len(list((root / "shards").glob("*.safetensors")))
    assert 2 <= written < 12, "the kill must land mid-generation for this test to mean anything"
    assert not json.loads((root / "zoo.json").read_text())["complete"]
    with pytest.raises(ZooError, match="incomplete"):
        Zoo.open(root)

    resumed = subprocess.run([*cmd, "--resume"], capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    zoo = Zoo.open(root)
    assert verify(root) == []
    planned = sorted(n.model_id for s in make_plan(config, 10) for n in s.nets)
    assert sorted(zoo.filter(epoch=2).table["model_id"]) == planned == list(range(24))
    assert not list((root / "shards").glob(".*.tmp"))
    fresh = generate(config, tmp_path / "fresh")  # the resumed zoo equals an uninterrupted one
    assert shard_hashes(root) == shard_hashes(fresh.root)


def test_config_yaml_round_trip_and_presets(tmp_path, tiny_config):
    path = tmp_path / "c.yaml"
    path.write_text(tiny_config.to_yaml())
    assert ZooConfig.from_yaml(path) == tiny_config
    assert yaml.safe_load(path.read_text())["training"]["epochs"] == 2
    seed = zoo_preset("imagenette-lenet5")
    assert seed.per_task == 1000 and seed.training.epochs == 20 and seed.training.lr == 1e-3
    assert seed.training.batch_size == 128 and seed.init == "glorot_uniform" and seed.spec().num_params() == 91_481
    assert zoo_preset("digits-lenet5", per_task=2).per_task == 2
    with pytest.raises(WeightspaceError, match="unknown zoo preset"):
        zoo_preset("cifar-resnet")
    with pytest.raises(WeightspaceError, match="outside epochs"):
        tiny_config.model_copy(update={"checkpoints": [5]}).check()


def test_varied_plan_draws_hyperparameters_per_shard():
    config = zoo_preset("digits-smallcnn-varied", per_task=40)
    plan = make_plan(config, 10)
    assert len(plan) == 10 and all(n.task == -1 for s in plan for n in s.nets)
    assert len({s.hp["lr"] for s in plan}) == 10 and {s.hp["optimizer"] for s in plan} <= {"adam", "sgd"}
    assert make_plan(config, 10) == plan  # a pure function of the config


def test_a_compiled_cpu_step_trains_networks_of_the_same_outcome(tmp_path, tiny_config):
    eager = generate(tiny_config, tmp_path / "eager")
    compiled_config = tiny_config.model_copy(update={"compile": True})
    compiled = generate(compiled_config, tmp_path / "compiled")
    # different kernels: the outcome agrees, not the last bits of the weights (tests/train/test_batched.py checks
    # the engine's weights exactly, in float64)
    a, b = eager.filter(epoch=2).table, compiled.filter(epoch=2).table
    assert (a["test_auc"] - b["test_auc"]).abs().max() < 0.02 and (a["test_loss"] - b["test_loss"]).abs().max() < 0.02
    assert compiled.manifest["config_sha256"] != eager.manifest["config_sha256"]  # a different zoo, by its config


def test_shared_order_gives_a_shard_one_batch_order_and_records_it(tmp_path, tiny_config):
    from weightspace.data import one_vs_rest
    from weightspace.nets import init_net
    from weightspace.train import fit

    config = tiny_config.model_copy(update={"shared_order": True})
    zoo = generate(config, tmp_path / "shared")
    t = zoo.filter(epoch=2).table
    assert t.groupby(t["model_id"] // 3)["order_seed"].nunique().eq(1).all()  # one order per shard of 3
    assert t["order_seed"].nunique() == 3 and t["seed"].nunique() == 9  # inits stay independent
    i = list(t["model_id"]).index(4)  # the second network of the second shard, trained alone with that order
    row, spec, data = t.iloc[i], config.spec(), config.task_data()
    recipe = config.training.model_copy(update={"seed": int(row["order_seed"])})
    alone = fit(init_net(spec, int(row["seed"]), config.init), one_vs_rest(data, int(row["task_index"])), recipe)
    # the outcome, not the weights: the wide first conv and the network alone are different kernels (the engine's
    # weights are checked exactly, in float64, in tests/train/test_batched.py)
    for key in ("test_auc", "test_accuracy"):
        assert alone.history[-1][key] == pytest.approx(row[key], abs=0.02)


@pytest.mark.parametrize("preset", ["digits-resnet", "digits-vit"])
def test_a_zoo_of_graphs_generates_verifies_resumes_and_loads_its_networks(tmp_path, preset):
    from weightspace.nets import GraphSpec

    config = zoo_preset(preset, per_task=4, shard_size=2, training={"epochs": 1, "batch_size": 128}, checkpoints=[1])
    zoo = generate(config, tmp_path / "z")
    assert len(zoo) == 4 and verify(tmp_path / "z") == []
    net = Zoo.open(tmp_path / "z").net(3)
    assert isinstance(net.spec, GraphSpec) and net.spec == config.spec()
    assert net(torch.rand(2, 1, 8, 8)).shape == (2, 10) and zoo.table["test_accuracy"].between(0, 1).all()
    first = shard_hashes(tmp_path / "z")
    shard_path(tmp_path / "z", 1).unlink()  # a lost shard is made again, the same bytes
    generate(config, tmp_path / "z", resume=True)
    assert shard_hashes(tmp_path / "z") == first


def test_a_mixed_zoo_trains_each_architecture_in_its_own_shards(tmp_path):
    config = zoo_preset("digits-mixed", per_task=6, shard_size=2, training={"epochs": 1, "batch_size": 128},
                        checkpoints=[1])  # fmt: skip
    zoo = generate(config, tmp_path / "z")
    assert verify(tmp_path / "z") == [] and len(zoo.specs) == 3
    t = zoo.table
    assert t.groupby("shard")["arch"].nunique().eq(1).all()  # a shard: one architecture
    assert sorted(t["arch"].unique()) == [0, 1, 2] and (t["spec"] == t["arch"]).all()
    for row in (0, 2, 4):
        assert zoo.net(row).spec == config.spec(int(t["arch"].iloc[row]))
    with pytest.raises(WeightspaceError, match="mix architectures"):
        zoo.batch()


def test_a_varied_zoo_needs_a_preset_that_takes_its_activations():
    with pytest.raises(WeightspaceError, match="preset 'resnet'.*activation"):
        ZooConfig.model_validate(
            zoo_preset("digits-smallcnn-varied").model_dump() | {"arch": {"preset": "resnet"}}
        ).check()


def test_order_groups_give_each_run_of_networks_one_batch_order(tmp_path, tiny_config, monkeypatch):
    """`shared_order: K`: a shard's networks fall into K runs of consecutive networks, each run shuffling as its
    first network; `True` is one run, `False` every network its own order."""
    generating = sys.modules["weightspace.zoo.generate"]  # the module (the package's `generate` is its function)
    seen = []

    def recording(*args, **kwargs):
        seen.append(list(args[6]))
        return real(*args, **kwargs)

    real = generating.fit_stacked
    monkeypatch.setattr(generating, "fit_stacked", recording)
    base = tiny_config.model_copy(update={"per_task": 6, "shard_size": 6, "classes": [0], "checkpoints": [2]})
    for order, root in [(2, "two"), (True, "one"), (False, "own")]:
        generate(base.model_copy(update={"shared_order": order}), tmp_path / root, workers=1)
    two, one, own = seen
    assert two[:3] == [two[0]] * 3 and two[3:] == [two[3]] * 3 and two[0] != two[3]
    assert one == [one[0]] * 6 and len(set(own)) == 6 and own[0] == one[0] == two[0] and own[3] == two[3]
