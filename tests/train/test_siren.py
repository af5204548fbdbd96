"""The stacked SIREN fitter against a plain per-network loop (nn.Module, autograd, torch's Adam)."""

import math

import pytest
import torch
from torch import nn

from weightspace.nets.graph import build
from weightspace.train import SirenFit, fit_sirens, fold_sirens, init_sirens, pixel_grid, psnr, siren_spec, siren_values


class LoopSiren(nn.Module):
    """DWSNets' INR written the obvious way: sin(w0 * linear) layers, a linear output, + offset."""

    def __init__(self, params, fit):
        super().__init__()
        self.fit = fit
        self.weights = nn.ParameterList([nn.Parameter(p.clone()) for p in params])

    def forward(self, x):
        h, p = x, list(self.weights)
        for w, b in zip(p[:-2:2], p[1:-2:2]):
            h = torch.sin(self.fit.w0 * (h @ w.T + b))
        return (h @ p[-2].T + p[-1])[:, 0] + self.fit.offset


def loop_fit(target, coords, params, fit):
    model = LoopSiren(params, fit)
    opt = torch.optim.Adam(model.parameters(), lr=fit.lr)
    stop = None if fit.stop_psnr is None else 10 ** (-fit.stop_psnr / 10)
    steps = 0
    for _ in range(fit.steps):
        loss = (model(coords) - target).pow(2).mean()
        if stop is not None and loss.item() <= stop:
            break
        opt.zero_grad()
        loss.backward()
        opt.step()
        steps += 1
    return [p.detach() for p in model.weights], steps


def images(n, seed=0):
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, 8), torch.linspace(0, 1, 8), indexing="ij")
    blobs = [torch.sigmoid(8 * (torch.rand(1, generator=g) - (xx - 0.5) ** 2 - (yy - 0.5) ** 2)) for _ in range(n)]
    return torch.stack(blobs).reshape(n, -1)


@pytest.mark.parametrize("stop_psnr", [None, 28.0])
def test_stacked_fit_equals_a_per_network_loop(stop_psnr):
    torch.set_default_dtype(torch.float64)  # compare the algorithms, not float32 round-off
    try:
        fit = SirenFit(hidden=8, steps=60, lr=1e-3, stop_psnr=stop_psnr)
        targets, coords = images(5), pixel_grid(8, 8)
        params, mse, steps = fit_sirens(targets, coords, range(5), fit, compiled=False)
        init = init_sirens(range(5), 2, fit)
        for i in range(5):
            want, want_steps = loop_fit(targets[i], coords, [p[i] for p in init], fit)
            assert int(steps[i]) == want_steps
            for got, exp in zip(params, want):
                torch.testing.assert_close(got[i], exp, atol=1e-10, rtol=1e-9)
        if stop_psnr is not None:  # the threshold was reached by some networks and not by others
            assert 0 < int((steps < fit.steps).sum()) < 5
    finally:
        torch.set_default_dtype(torch.float32)


@pytest.mark.parametrize("compiled", [True, False])
def test_float32_fit_reaches_the_loops_fit(compiled):
    """In float32 the fitter and the loop are different kernels, whose last bits differ from machine to machine
    and grow over 40 Adam steps: the outcome (each image's PSNR) agrees, the weights are compared in float64 above."""
    fit = SirenFit(steps=40)
    targets, coords = images(3), pixel_grid(8, 8)
    params, mse, _ = fit_sirens(targets, coords, [7, 8, 9], fit, compiled=compiled)
    init = init_sirens([7, 8, 9], 2, fit)
    for i in range(3):
        want, _ = loop_fit(targets[i], coords, [p[i] for p in init], fit)
        with torch.no_grad():
            loop_mse = (LoopSiren(want, fit)(coords) - targets[i]).pow(2).mean()
        assert float(psnr(mse[i])) == pytest.approx(float(psnr(loop_mse)), abs=0.1)


def test_folded_network_computes_the_same_image():
    fit = SirenFit(steps=200)
    targets, coords = images(2), pixel_grid(8, 8)
    params, mse, _ = fit_sirens(targets, coords, [0, 1], fit)
    folded = fold_sirens(params, fit)
    spec = siren_spec()
    net = build(spec)
    for i in range(2):
        net.load_state_dict({k: p[i] for k, p in zip(spec.state_shapes(), folded)})
        with torch.no_grad():
            torch.testing.assert_close(net(coords)[:, 0], siren_values(params, coords, fit)[i], atol=1e-5, rtol=0)
    assert float(psnr(mse).min()) > 25  # 200 steps fit an 8x8 blob well


def test_pixel_grid_is_row_major_in_minus_one_to_one():
    g = pixel_grid(2, 3)
    assert g.tolist() == [[-1, -1], [-1, 0], [-1, 1], [1, -1], [1, 0], [1, 1]]
    assert math.isclose(float(psnr(torch.tensor(1e-4))), 40.0, rel_tol=1e-6)


def test_a_network_depends_on_its_own_seed_only():
    fit = SirenFit(hidden=8)
    whole = init_sirens([5, 6, 7, 8], 2, fit)
    part = init_sirens([7, 8], 2, fit)
    for a, b in zip(whole, part):
        assert torch.equal(a[2:], b)


def test_bad_shapes_are_refused_in_one_line():
    from weightspace.errors import WeightspaceError

    with pytest.raises(WeightspaceError, match="one seed per target"):
        fit_sirens(images(2), pixel_grid(8, 8), [0])
    with pytest.raises(WeightspaceError, match="targets"):
        fit_sirens(images(2), pixel_grid(4, 4), [0, 1])
