"""Everything SIREN in one place: the spec a fitted SIREN is stored as (`siren_spec`: w0 folded into the weights),
the folding itself, and fitting thousands of SIRENs at once: one small sine network per signal, full batch, all
stacked.

The protocol is DWSNets' image INR (Navon et al. 2023, data generation as its authors describe it): `layers - 1`
sine layers sin(w0 (W x + b)) then a linear output plus 0.5; sine weights U(+-sqrt(6 / fan_in) / w0) (the first
layer too), zero sine biases, PyTorch's default Linear init for the output; Adam, MSE over every point, and a
network stops at the first step whose PSNR reaches `stop_psnr`.

The step is written out by hand — forward, backward and Adam over [n, ...] tensors — rather than built by autograd:
that keeps every intermediate in one [n, hidden, points] layout, computes sin and cos of each pre-activation once,
and lets stopped networks leave the batch. The forward/backward is compiled (torch.compile fuses the sines, cosines
and products into vectorised loops: 2.3x on a CPU core, benchmarks/inr_fit.py); without a working compiler it runs
eagerly. Either way it computes what a per-network loop with autograd and torch's Adam computes
(tests/train/test_siren.py, to float round-off; compiled and eager differ in the last bits only).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from weightspace.device import compiler_works
from weightspace.errors import WeightspaceError
from weightspace.nets import Activation, ArchSpec, Linear
from weightspace.progress import progress_bar


@dataclass(frozen=True)
class SirenFit:
    hidden: int = 32
    layers: int = 3  # linear layers: layers - 1 sine layers, then the linear output
    w0: float = 30.0
    offset: float = 0.5  # added to the output (DWSNets' INR)
    steps: int = 1000
    lr: float = 5e-4
    stop_psnr: float | None = 40.0  # on signals in [0, 1]; None: always `steps`
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8


def init_sirens(seeds: Sequence[int], in_dim: int, fit: SirenFit) -> list[torch.Tensor]:
    """[W1, b1, ..., WL, bL] of one SIREN per seed (w0 not folded in: these are the parameters Adam trains).
    Network i depends on seeds[i] only, so any chunking of a zoo gives the same networks."""
    shapes, bounds, fan_in = [], [], in_dim
    for _ in range(fit.layers - 1):
        shapes += [(fit.hidden, fan_in), (fit.hidden,)]
        bounds += [math.sqrt(6 / fan_in) / fit.w0, 0.0]  # sine biases start at zero
        fan_in = fit.hidden
    shapes += [(1, fan_in), (1,)]
    bounds += [1 / math.sqrt(fan_in)] * 2  # nn.Linear's default for the output layer
    per_net = []
    for seed in seeds:
        g = torch.Generator().manual_seed(int(seed))
        per_net.append([(torch.rand(shape, generator=g) * 2 - 1) * b for shape, b in zip(shapes, bounds)])
    return [torch.stack(ps) for ps in zip(*per_net)]


def fold_sirens(params: list[torch.Tensor], fit: SirenFit) -> list[torch.Tensor]:
    """The same functions as plain sine MLPs: w0 folded into every sine layer, the offset into the output bias."""
    return _fold(params, fit.w0, fit.offset)


def _fold(params: list[torch.Tensor], w0: float, offset: float) -> list[torch.Tensor]:
    """[W1, b1, ..., WL, bL]: sin(w0 (W x + b)) is sin((w0 W) x + w0 b) in every sine layer; the offset joins bL."""
    return [*(p * w0 for p in params[:-2]), params[-2], params[-1] + offset]


def siren_values(params: list[torch.Tensor], coords: torch.Tensor, fit: SirenFit) -> torch.Tensor:
    """[n, points] outputs of n SIRENs (unfolded parameters) at coords [points, in_dim]."""
    h = coords.T.expand(len(params[0]), -1, -1)
    for w, b in zip(params[:-2:2], params[1:-2:2]):
        h = torch.sin(fit.w0 * torch.baddbmm(b[..., None], w, h))
    return torch.baddbmm(params[-1][..., None], params[-2], h)[:, 0] + fit.offset


def _loss_and_grads(params, coords_t, target, w0, offset):
    """Per-network mean squared error [n] and its gradients, by hand: one forward, one backward."""
    n, points = target.shape
    h, hs, coses = coords_t.expand(n, -1, -1), [], []
    for w, b in zip(params[:-2:2], params[1:-2:2]):
        hs.append(h)
        z = w0 * torch.baddbmm(b[..., None], w, h)
        coses.append(torch.cos(z).mul_(w0))
        h = torch.sin(z)
    err = torch.baddbmm(params[-1][..., None], params[-2], h)[:, 0] + (offset - target)  # [n, points]
    loss = err.pow(2).mean(1)
    d = (2 / points) * err[:, None]  # d loss / d output, [n, 1, points]
    grads = [torch.bmm(d, h.transpose(1, 2)), d.sum(2)]
    delta = torch.bmm(params[-2].transpose(1, 2), d)  # d loss / d h, [n, hidden, points]
    for i in range(len(hs) - 1, -1, -1):
        delta.mul_(coses[i])  # now d loss / d (W h + b)
        grads = [torch.bmm(delta, hs[i].transpose(1, 2)), delta.sum(2), *grads]
        if i:
            delta = torch.bmm(params[2 * i].transpose(1, 2), delta)
    return loss, grads


_COMPILED: list = []  # the compiled step, made once per process


def step_function(compiled: bool = True):
    """The forward/backward: compiled when asked and a compiler works here, else eager."""
    if not compiled or not compiler_works():
        return _loss_and_grads
    if not _COMPILED:
        _COMPILED.append(torch.compile(_loss_and_grads))
    return _COMPILED[0]


def fit_sirens(
    targets: torch.Tensor,
    coords: torch.Tensor,
    seeds: Sequence[int],
    fit: SirenFit = SirenFit(),
    compiled: bool = True,
    device: str = "cpu",
) -> tuple[list[torch.Tensor], torch.Tensor, torch.Tensor]:
    """Fit one SIREN per row of targets [n, points] (values in [0, 1]) at coords [points, in_dim].

    Returns the unfolded parameters, each network's final MSE [n] and the steps it took [n], on the CPU. Network i
    starts from `init_sirens` of seeds[i]. `compiled=False` runs the step eagerly (see `step_function`); `device`
    is where the fitting runs."""
    if targets.dim() != 2 or coords.dim() != 2 or targets.shape[1] != coords.shape[0]:
        shapes = f"{list(targets.shape)} and {list(coords.shape)}"
        raise WeightspaceError(f"targets [n, points] and coords [points, d] expected, not {shapes}")
    if len(seeds) != len(targets):
        raise WeightspaceError(f"one seed per target: {len(seeds)} seeds, {len(targets)} targets")
    params = [p.to(device) for p in init_sirens(seeds, coords.shape[1], fit)]
    result = [p.clone() for p in params]  # stopped networks are written here; the rest at the end
    moments = [torch.zeros_like(p) for p in params] + [torch.zeros_like(p) for p in params]
    ids, work_targets = torch.arange(len(targets), device=device), targets.to(device)
    coords_t = coords.T.contiguous().to(device)
    steps = torch.zeros(len(targets), dtype=torch.long, device=device)
    stop_mse = None if fit.stop_psnr is None else 10 ** (-fit.stop_psnr / 10)
    (b1, b2), k = fit.betas, len(params)
    step = step_function(compiled)
    for t in range(1, fit.steps + 1):
        loss, grads = step(params, coords_t, work_targets, fit.w0, fit.offset)
        if stop_mse is not None and bool((loss <= stop_mse).any()):  # these stop before this update
            done, keep = (loss <= stop_mse).nonzero()[:, 0], (loss > stop_mse).nonzero()[:, 0]
            for out, p in zip(result, params):
                out[ids[done]] = p[done]
            params, moments, grads = ([x[keep] for x in xs] for xs in (params, moments, grads))
            ids, work_targets = ids[keep], work_targets[keep]
            if not len(ids):
                break
        steps[ids] = t
        step_size, root = fit.lr / (1 - b1**t), math.sqrt(1 - b2**t)
        for p, g, m, v in zip(params, grads, moments[:k], moments[k:]):
            m.mul_(b1).add_(g, alpha=1 - b1)
            v.mul_(b2).addcmul_(g, g, value=1 - b2)
            p.addcdiv_(m, v.sqrt().div_(root).add_(fit.eps), value=-step_size)
    for out, p in zip(result, params):
        out[ids] = p
    with torch.no_grad():
        mse = (siren_values(result, coords_t.T, fit) - targets.to(device)).pow(2).mean(1)
    return [p.cpu() for p in result], mse.cpu(), steps.cpu()


def pixel_grid(height: int, width: int) -> torch.Tensor:
    """[height * width, 2] pixel centres in [-1, 1] (row, column), row-major like the image's flattening."""
    rows, cols = torch.linspace(-1, 1, height), torch.linspace(-1, 1, width)
    return torch.stack(torch.meshgrid(rows, cols, indexing="ij"), -1).reshape(-1, 2)


def psnr(mse: torch.Tensor) -> torch.Tensor:
    """Peak signal-to-noise ratio in dB of signals in [0, 1]."""
    return -10 * torch.log10(mse.clamp_min(1e-12))


# -- the stored form --------------------------------------------------------------------------------------------------
def siren_spec(in_dim: int = 2, hidden: int = 32, layers: int = 3, out: int = 1, name: str | None = None) -> ArchSpec:
    """A SIREN as a plain sine MLP: `layers - 1` sine layers of `hidden` units, then a linear output (w0 and any
    output offset folded into the weights)."""
    body = []
    for _ in range(layers - 1):
        body += [Linear(out_features=hidden), Activation(fn="sin")]
    return ArchSpec(
        input_shape=(in_dim,), layers=[*body, Linear(out_features=out)], name=name or f"siren-{in_dim}-{hidden}"
    )


def fold_siren_params(spec: ArchSpec, params: dict[str, torch.Tensor], w0: float, offset: float = 0.0):
    """A SIREN's state dict as its `siren_spec` computes it (`fold_sirens` on the named tensors)."""
    linear = [i for i, layer in enumerate(spec.layers) if isinstance(layer, Linear)]
    names = [f"{i}.{kind}" for i in linear for kind in ("weight", "bias")]
    return dict(params) | dict(zip(names, _fold([params[n] for n in names], w0, offset)))


# -- the SNE paper's 1-D sine SIRENs (w0 in the first layer only, folded at initialisation) --------------------------
SINE_W0 = 3.0  # first-layer frequency: low, so fitting a high a must move the weights (and they record it)


def init_sine_sirens(n: int, generator: torch.Generator, w0: float) -> list[torch.Tensor]:
    """[W1, b1, W2, b2, W3, b3] for n SIRENs 1-32-32-1, SIREN's initialisation (Sitzmann et al. 2020), the first
    layer's w0 folded in."""

    def uniform(shape, bound):
        return (torch.rand(shape, generator=generator) * 2 - 1) * bound

    hidden = math.sqrt(6 / 32)
    return [
        uniform((n, 32, 1), w0),
        uniform((n, 32), w0),
        uniform((n, 32, 32), hidden),
        uniform((n, 32), 1 / math.sqrt(32)),
        uniform((n, 1, 32), hidden),
        uniform((n, 1), 1 / math.sqrt(32)),
    ]


def sine_siren_values(params: list[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """[n, points] outputs of n 1-D SIRENs at the points x [points]."""
    w1, b1, w2, b2, w3, b3 = params
    h = torch.sin(w1[:, :, 0, None] * x + b1[..., None])  # [n, 32, points]
    h = torch.sin(w2 @ h + b2[..., None])
    return (w3 @ h + b3[..., None])[:, 0]


def fit_sines(
    frequencies: torch.Tensor,
    seed: int,
    steps: int = 1000,
    points: int = 256,
    lr: float = 1e-3,
    device: str = "cpu",
    w0: float = SINE_W0,
):
    """Fit one 1-D SIREN to sin(a x) on [-pi, pi] per frequency a, on `device` (initialised on the CPU: the same
    start on any device); returns the parameters (on the CPU) and each network's final MSE."""
    gen = torch.Generator().manual_seed(seed)
    params = [p.to(device).requires_grad_() for p in init_sine_sirens(len(frequencies), gen, w0)]
    x = torch.linspace(-math.pi, math.pi, points, device=device)
    target = torch.sin(frequencies.to(device)[:, None] * x)
    opt = torch.optim.Adam(params, lr=lr)
    with progress_bar(transient=True) as bar:
        task = bar.add_task(f"fitting {len(frequencies)} SIRENs", total=steps)
        for _ in range(steps):
            err = (sine_siren_values(params, x) - target).pow(2).mean(1)
            opt.zero_grad()
            err.sum().backward()
            opt.step()
            bar.advance(task)
    with torch.no_grad():
        err = (sine_siren_values(params, x) - target).pow(2).mean(1)
    return [p.detach().cpu() for p in params], err.cpu()
