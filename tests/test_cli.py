"""End-to-end: the installed `weightspace` command, run as a user runs it."""

import os
import re
import subprocess
import sys

import pytest


def run(*args, check=True):
    proc = subprocess.run(
        [sys.executable, "-m", "weightspace.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=os.environ | {"COLUMNS": "200"},
    )
    if check:
        assert proc.returncode == 0, proc.stderr + proc.stdout
    return proc


def test_help_lists_every_command():
    out = run("--help").stdout
    for command in ("info", "demo", "nets", "zoo", "grow", "encode", "hyper", "swat"):
        assert command in out
    assert "show" in run("nets", "--help").stdout
    assert all(c in run("grow", "--help").stdout for c in ("wider", "deeper", "experiment"))


def test_info_reports_datasets():
    out = run("info").stdout
    assert "digits" in out and "mnist5k" in out and "imagenette" in out and "torch" in out


def test_nets_presets_and_show():
    out = run("nets", "presets").stdout
    assert "91,481" in out and "4,970" in out
    assert "conv2d" in run("nets", "show", "lenet5-seed").stdout
    assert "s0b0_sum" in run("nets", "show", "resnet").stdout  # a graph preset, node by node


def test_user_errors_are_one_line_not_a_traceback(tmp_path):
    proc = run("nets", "show", "resnet152", check=False)
    assert proc.returncode == 2 and "unknown preset" in proc.stderr and "Traceback" not in proc.stderr
    bad = tmp_path / "spec.json"
    bad.write_text('{"input_shape": [3], "layers": [{"kind": "linear"}]}')
    proc = run("nets", "show", str(bad), check=False)
    assert proc.returncode == 2 and "out_features" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.slow
def test_demo_end_to_end(tmp_path):
    out = run("demo", "--per-task", "3", "--epochs", "1", "--workers", "1", "--out", str(tmp_path)).stdout
    assert "30 networks" in out and "which task?" in out and "chance" in out
    assert (tmp_path / "classify.png").stat().st_size > 1000
    assert (tmp_path / "zoo" / "models.parquet").is_file()


@pytest.mark.slow
def test_zoo_commands_end_to_end(tmp_path):
    from weightspace.train import Training
    from weightspace.zoo import Arch, ZooConfig

    config = ZooConfig(
        name="cli",
        dataset="digits",
        classes=[0, 1, 2],
        per_task=3,
        shard_size=5,
        arch=Arch(preset="small-cnn", kwargs={"input_shape": [1, 8, 8], "padding": 1, "classes": 1}),
        training=Training(epochs=1, lr=1e-2, batch_size=64),
    )
    (tmp_path / "c.yaml").write_text(config.to_yaml())
    root = tmp_path / "zoo"
    assert "9 networks" in run("zoo", "generate", "--config", str(tmp_path / "c.yaml"), "--out", str(root)).stdout
    info = run("zoo", "info", str(root)).stdout
    assert "mean test metrics per task" in info and "auc" in info and (root / "metrics.png").is_file()
    assert "ok" in run("zoo", "verify", str(root)).stdout
    shared = tmp_path / "shared"
    run("zoo", "generate", "--config", str(tmp_path / "c.yaml"), "--shared-order", "--per-task", "2", "--out", shared)
    assert '"shared_order": true' in (shared / "zoo.json").read_text()
    assert "which task?" in run("zoo", "classify", str(root)).stdout and (root / "classify.png").is_file()
    assert "exported 9 rows" in run("zoo", "export", "small-cnn", str(root), "--out", str(tmp_path / "e")).stdout
    assert "imported 9" in run("zoo", "import", "small-cnn", str(tmp_path / "e"), "--out", str(tmp_path / "i")).stdout
    assert "imagenette-lenet5" in run("zoo", "presets").stdout
    (root / "shards" / "00001.safetensors").unlink()
    proc = run("zoo", "verify", str(root), check=False)
    assert proc.returncode == 1 and "00001.safetensors is missing" in proc.stdout
    proc = run("zoo", "generate", "--out", str(tmp_path / "x"), check=False)
    assert proc.returncode == 2 and "--preset" in proc.stderr


@pytest.mark.slow
def test_grow_commands_end_to_end(tmp_path):
    import torch

    from weightspace.nets import Net, lenet5_seed, mlp

    Net.init(mlp(6, [5, 4], 3, activation="relu"), 0).save(tmp_path / "net.safetensors")
    out = run("grow", "wider", str(tmp_path / "net.safetensors"), "--layer", "0", "--width", "9", "--noise", "0",
              "--out", str(tmp_path / "wide.safetensors")).stdout  # fmt: skip
    assert float(re.search(r"relative output change (\S+);?", out).group(1).rstrip(";")) < 1e-5
    wide = Net.load(tmp_path / "wide.safetensors")
    assert wide.params["0.weight"].shape == (9, 6)
    run("grow", "deeper", str(tmp_path / "wide.safetensors"), "--after", "2", "--out", str(tmp_path / "deep.st"))
    deep, x = Net.load(tmp_path / "deep.st"), torch.rand(10, 6)
    assert torch.allclose(deep(x), Net.load(tmp_path / "net.safetensors")(x), atol=1e-5)

    Net.init(lenet5_seed(), 0).save(tmp_path / "lenet.safetensors")
    proc = run("grow", "deeper", str(tmp_path / "lenet.safetensors"), "--after", "9", "--out", str(tmp_path / "d"),
               check=False)  # fmt: skip
    assert proc.returncode == 2 and "not idempotent" in proc.stderr and "Traceback" not in proc.stderr
    out = run("grow", "deeper", str(tmp_path / "lenet.safetensors"), "--after", "9", "--approximate", "--out",
              str(tmp_path / "d.safetensors")).stdout  # fmt: skip
    assert "relative output change" in out

    out = run("grow", "experiment", "--dataset", "digits", "--train-size", "400", "--teacher-epochs", "1",
              "--student-epochs", "1", "--out", str(tmp_path / "n2n")).stdout  # fmt: skip
    assert "| wider | Net2Net |" in out and "| deeper | random pad |" in out
    assert (tmp_path / "n2n" / "net2net.png").stat().st_size > 1000
