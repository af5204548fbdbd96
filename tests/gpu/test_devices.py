"""`device=` paths added for the hypernetworks, the INR fitter and the encoder: CUDA computes what the CPU does.
Skipped cleanly without a GPU."""

import pytest
import torch

from weightspace.hyper import LMConfig, LMTraining, train_lm
from weightspace.train import fit_sines

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


def test_language_model_on_cuda_matches_the_cpu(monkeypatch):
    monkeypatch.setattr(torch.backends.cuda.matmul, "allow_tf32", False)
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)
    ids = torch.arange(2000) % 11
    config = LMConfig(kind="hyper-lstm", vocab="abcdefghijk", hidden=16, hyper_hidden=8)
    recipe = LMTraining(steps=5, batch=4, seq_len=20, eval_every=5)
    cpu, h_cpu = train_lm(config, ids, ids[:300], recipe)
    gpu, h_gpu = train_lm(config, ids, ids[:300], recipe, device="cuda")
    for k, v in cpu.state_dict().items():
        torch.testing.assert_close(gpu.state_dict()[k], v, rtol=1e-3, atol=1e-4)
    assert abs(h_cpu[-1]["valid_bpc"] - h_gpu[-1]["valid_bpc"]) < 1e-3


def test_sine_fits_on_cuda_match_the_cpu(monkeypatch):
    monkeypatch.setattr(torch.backends.cuda.matmul, "allow_tf32", False)
    freqs = torch.tensor([1.0, 4.0, 8.0])
    p_cpu, e_cpu = fit_sines(freqs, 0, steps=50)
    p_gpu, e_gpu = fit_sines(freqs, 0, steps=50, device="cuda")
    for a, b in zip(p_cpu, p_gpu):
        torch.testing.assert_close(a, b, rtol=1e-3, atol=1e-4)
    torch.testing.assert_close(e_cpu, e_gpu, rtol=1e-2, atol=1e-5)


@pytest.mark.parametrize("compiled", [False, True])
def test_siren_fits_on_cuda_match_the_cpu(monkeypatch, compiled):
    from weightspace.train import SirenFit, fit_sirens, pixel_grid

    monkeypatch.setattr(torch.backends.cuda.matmul, "allow_tf32", False)
    targets = torch.rand(5, 49, generator=torch.Generator().manual_seed(0))
    fit = SirenFit(steps=60)
    p_cpu, mse_cpu, steps_cpu = fit_sirens(targets, pixel_grid(7, 7), range(5), fit, compiled=False)
    p_gpu, mse_gpu, steps_gpu = fit_sirens(targets, pixel_grid(7, 7), range(5), fit, compiled, device="cuda")
    assert all(p.device.type == "cpu" for p in p_gpu)  # results come back to the CPU
    for a, b in zip(p_cpu, p_gpu):
        torch.testing.assert_close(a, b, rtol=1e-3, atol=1e-4)
    torch.testing.assert_close(mse_cpu, mse_gpu, rtol=1e-3, atol=1e-6)
    assert torch.equal(steps_cpu, steps_gpu)
