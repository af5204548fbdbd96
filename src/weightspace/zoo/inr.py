"""The sine-INR zoo of the SNE paper: SIREN 1-32-32-1 networks, each fit to sin(a x) on [-pi, pi], a ~ U(0.5, 10).

All networks train at once as batched matrix products (they share one spec). The first layer's SIREN frequency
w0 is folded into its weights, so every network is a plain sine MLP (`train.siren_spec`); the fitting is
`train.fit_sines`.
"""

from __future__ import annotations

from pathlib import Path

import torch

from weightspace.limits import Plan
from weightspace.nets import ArchSpec, NetBatch
from weightspace.train import SINE_W0, fit_sines, siren_spec
from weightspace.zoo.store import Zoo
from weightspace.zoo.writer import write_zoo


def sine_inr_spec() -> ArchSpec:
    """SIREN 1-32-32-1 as a plain sine MLP."""
    return siren_spec(1, 32, 3, name="siren-1-32-32-1")


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
    source = {"kind": "sine-inr", "networks": networks, "seed": seed, "steps": steps, "w0": SINE_W0}
    return write_zoo(out, "sine-inr", NetBatch(spec, dict(zip(names, params))), rows, source=source)
