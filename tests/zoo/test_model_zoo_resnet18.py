"""Schürholt et al.'s ResNet-18 zoos in their Ray Tune layout, checked against their own model code
(scripts/fixtures/model_zoo_resnet18.py recorded its state-dict names and its logits)."""

import json
from pathlib import Path

import torch
from safetensors.torch import load_file

from tests.strategies import named_weights
from weightspace.nets import resnet18
from weightspace.zoo.formats import detect_format, import_zoo

FIXTURE = Path(__file__).parents[1] / "data" / "model_zoo_resnet18"
# the model settings of their generator script (train_zoo_cifar10_resnet18_kaiming_uniform.py)
PARAMS = {"model::type": "Resnet18", "model::channels_in": 3, "model::o_dim": 10, "model::nlin": "relu",
          "model::dropout": 0.0, "model::init_type": "kaiming_uniform", "model::use_bias": False,
          "optim::optimizer": "sgd", "optim::lr": 0.05, "optim::wd": 5e-4, "seed": 1}  # fmt: skip


def test_a_resnet18_trial_imports_and_computes_what_their_model_computed(tmp_path):
    shapes = json.loads((FIXTURE / "state_shapes.json").read_text())
    trial = tmp_path / "tune_zoo_cifar10_resnet18_kaiming_uniform" / "NN_tune_trainable_00000"
    (trial / "checkpoint_000001").mkdir(parents=True)
    (trial / "params.json").write_text(json.dumps(PARAMS))
    (trial / "result.json").write_text(json.dumps({"training_iteration": 1, "test_acc": 0.42}) + "\n")
    torch.save(named_weights(shapes), trial / "checkpoint_000001" / "checkpoints")  # their model.state_dict() names
    assert detect_format(tmp_path) == "model-zoo"
    zoo = import_zoo("auto", tmp_path, tmp_path / "zoo")
    net = zoo.net(0)
    assert net.spec == resnet18() and net.spec.num_params() == 11_173_962 and zoo.table["test_acc"][0] == 0.42
    expected = load_file(FIXTURE / "logits.safetensors")
    module = net.as_module().eval()
    with torch.no_grad():
        torch.testing.assert_close(module(expected["input"]), expected["logits"], rtol=0, atol=1e-5)
