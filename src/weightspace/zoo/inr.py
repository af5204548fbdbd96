"""The sine-INR zoo of the SNE paper: SIREN 1-32-32-1 networks, each fit to sin(a x) on [-pi, pi], a ~ U(0.5, 10).

All networks train at once as batched matrix products (they share one spec). The first layer's SIREN frequency
w0 is folded into its weights, so every network is a plain `mlp(1, [32, 32], 1, activation="sin")`.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch

from weightspace.limits import Plan
from weightspace.nets import ArchSpec, mlp
from weightspace.progress import progress_bar
from weightspace.zoo.store import Zoo
from weightspace.zoo.writer import write_zoo

W0 = 3.0  # first-layer frequency: low, so fitting a high a must move the weights (and they record it)


def sine_inr_spec() -> ArchSpec:
    return mlp(1, [32, 32], 1, activation="sin").model_copy(update={"name": "siren-1-32-32-1"})


def siren_init(n: int, generator: torch.Generator) -> list[torch.Tensor]:
    """[W1, b1, W2, b2, W3, b3] for n networks, SIREN's initialisation (Sitzmann et al. 2020)."""

    def uniform(shape, bound):
        return (torch.rand(shape, generator=generator) * 2 - 1) * bound

    hidden = math.sqrt(6 / 32)
    return [
        uniform((n, 32, 1), W0),
        uniform((n, 32), W0),
        uniform((n, 32, 32), hidden),
        uniform((n, 32), 1 / math.sqrt(32)),
        uniform((n, 1, 32), hidden),
        uniform((n, 1), 1 / math.sqrt(32)),
    ]


def siren_forward(params: list[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """[n, points] outputs of n SIRENs at the points x [points]."""
    w1, b1, w2, b2, w3, b3 = params
    h = torch.sin(w1[:, :, 0, None] * x + b1[..., None])  # [n, 32, points]
    h = torch.sin(w2 @ h + b2[..., None])
    return (w3 @ h + b3[..., None])[:, 0]


def fit_sines(
    frequencies: torch.Tensor, seed: int, steps: int = 1000, points: int = 256, lr: float = 1e-3, device: str = "cpu"
):
    """Fit one SIREN per frequency on `device` (initialised on the CPU: the same start on any device); returns the
    parameters (on the CPU) and each network's final MSE."""
    gen = torch.Generator().manual_seed(seed)
    params = [p.to(device).requires_grad_() for p in siren_init(len(frequencies), gen)]
    x = torch.linspace(-math.pi, math.pi, points, device=device)
    target = torch.sin(frequencies.to(device)[:, None] * x)
    opt = torch.optim.Adam(params, lr=lr)
    with progress_bar(transient=True) as bar:
        task = bar.add_task(f"fitting {len(frequencies)} SIRENs", total=steps)
        for _ in range(steps):
            err = (siren_forward(params, x) - target).pow(2).mean(1)
            opt.zero_grad()
            err.sum().backward()
            opt.step()
            bar.advance(task)
    with torch.no_grad():
        err = (siren_forward(params, x) - target).pow(2).mean(1)
    return [p.detach().cpu() for p in params], err.cpu()


def make_sine_inr_zoo(
    out: str | Path, networks: int = 2000, seed: int = 0, steps: int = 1000, device: str = "cpu"
) -> Zoo:
    """Write the sine-INR zoo (fitted on `device`); its table holds `frequency` (the target) and `fit_mse`."""
    params = sine_inr_spec().num_params()
    # every SIREN trains at once: weights, gradients and Adam's two moments, and [n, 32, 256] activations a layer
    memory = networks * (params * 4 * 4 + 256 * 32 * 4 * 6)
    Plan("zoo sine-inr", networks, params, networks * params * 4, memory).check(out)
    gen = torch.Generator().manual_seed(seed)
    frequencies = 0.5 + 9.5 * torch.rand(networks, generator=gen)
    params, err = fit_sines(frequencies, seed + 1, steps, device=device)
    spec = sine_inr_spec()
    names = list(spec.state_shapes())  # 0.weight, 0.bias, 2.weight, 2.bias, 4.weight, 4.bias
    rows = [
        {"model_id": i, "frequency": float(a), "fit_mse": float(e), "seed": seed}
        for i, (a, e) in enumerate(zip(frequencies, err))
    ]
    source = {"kind": "sine-inr", "networks": networks, "seed": seed, "steps": steps, "w0": W0}
    return write_zoo(out, "sine-inr", spec, dict(zip(names, params)), rows, source=source)
