"""SWAT-NN on CUDA: the same draws as on the CPU, results returned on the CPU."""

import pytest
import torch

from weightspace.data import load_cornn
from weightspace.swat import (
    AEConfig,
    AETraining,
    BaselineConfig,
    SearchConfig,
    SwatAutoencoder,
    darts_admm,
    dense,
    search,
    train_autoencoder,
)

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]

TASKS = ["cornn:ackley-n2", "cornn:sphere"]


def test_search_on_cuda_matches_the_cpu():
    torch.manual_seed(0)
    ae = SwatAutoencoder(AEConfig(d=32, heads=2, encoder_layers=1, decoder_layers=1))
    tasks = [load_cornn(n) for n in TASKS]
    config = SearchConfig(steps=3, anneal=2)
    cpu = search(ae, tasks, 2, config)
    gpu = search(ae, tasks, 2, config, device="cuda")
    for a, b in zip(cpu, gpu):
        assert b.net.params["0.weight"].device.type == "cpu"
        assert b.train_mse == pytest.approx(a.train_mse, rel=1e-3, abs=1e-5)


def test_baselines_and_autoencoder_train_on_cuda():
    tasks = [load_cornn(n) for n in TASKS]
    config = BaselineConfig(steps=20, admm_every=5)
    cpu, gpu = dense(tasks, 1, "tanh", config), dense(tasks, 1, "tanh", config, device="cuda")
    assert torch.allclose(cpu.weights[0], gpu.weights[0], atol=1e-4)
    pruned = darts_admm(tasks, 1, [5, 5], config, device="cuda")
    assert pruned.act.device.type == "cpu"
    assert all(sum(int((w[i] != 0).sum()) for w in pruned.weights) <= 5 for i in range(2))
    small, recipe = (
        AEConfig(d=32, heads=2, encoder_layers=1, decoder_layers=1),
        AETraining(steps=3, warmup=1, eval_every=3),
    )
    _, cpu_hist = train_autoencoder(small, recipe)
    _, gpu_hist = train_autoencoder(small, recipe, device="cuda")
    assert gpu_hist[0]["train_loss"] == pytest.approx(cpu_hist[0]["train_loss"], rel=1e-3)
