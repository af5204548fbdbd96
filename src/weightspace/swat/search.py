"""Latent search: gradient descent on a latent point z through one frozen depth-L decoder, so a network's
architecture (which neurons exist, which activation each uses, which weights are zero) and its weights change
together; then hard extraction into a pruned `Net`.

Everything the paper fixes is here: z ~ N(0, I) (in standardised latent coordinates, see `latent_statistics`);
a learnable global threshold t (init 0, clamped to [0, 3]);
Adam lr 0.1 for z and 1e-3 for t; soft weight pruning W * sigmoid(200 (|W| - t)); neuron gates
sigmoid(200 (m - 0.5)) with m = sigmoid(logit); activations softmax(alpha / T), T = max(0.01, 1 - step / 3000);
loss = MSE + 1e-4 sum_W [0.01 sigmoid(20 (|W~| - t)) + 0.1 |W~|] - 0.4 mean_l std_j m + 0.001 mean_l mean_j m;
the iterate with the lowest total loss after step 3000 is kept. Several tasks are searched at once (one latent
point each, independent losses, so batching changes nothing but speed).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict

from weightspace.data import TaskData
from weightspace.nets import Net
from weightspace.swat.autoencoder import SwatAutoencoder
from weightspace.swat.mlps import (
    MLPBatch,
    SwatError,
    active_neurons,
    forward,
    mse_on_test,
    nonzero_parameters,
    sample,
    stack_tasks,
    to_net,
)
from weightspace.swat.tokens import parse, tokenise


class SearchConfig(BaseModel):
    """SWAT-NN's latent search: steps, annealing, learning rates, gate sharpness, seed, and an
    optional fixed activation."""

    model_config = ConfigDict(extra="forbid")
    steps: int = 8001
    anneal: int = 3000  # temperature reaches its floor here; selection starts here
    lr_z: float = 0.1
    lr_t: float = 1e-3
    sharpness: float = 200.0
    seed: int = 0
    fixed_activation: int | None = None  # force one activation (index into ACTS): the fixed-activation baseline


@dataclass
class Found:
    """One task's result: the extracted network and its measurements."""

    task: str
    depth: int
    net: Net
    train_mse: float
    test_mse: float
    active_neurons: int
    nonzero_parameters: int
    best_step: int


def relax(raw: MLPBatch, t: torch.Tensor, temperature: float, config: SearchConfig) -> tuple[MLPBatch, torch.Tensor]:
    """The differentiable network of the search and the neurons' keep-probabilities m [T, L, 7]."""
    k = config.sharpness
    weights = [w * torch.sigmoid(k * (w.abs() - t.view(-1, 1, 1))) for w in raw.weights]
    m = torch.sigmoid(raw.gate)
    act = _fixed(raw.act, config) if config.fixed_activation is not None else (raw.act / temperature).softmax(-1)
    return MLPBatch(weights, raw.biases, act, torch.sigmoid(k * (m - 0.5))), m


def extract(raw: MLPBatch, t: torch.Tensor, config: SearchConfig) -> MLPBatch:
    """Hard network: |W| < t zeroed, neurons with m < 0.5 off, each neuron's activation its argmax."""
    weights = [w * (w.abs() >= t.view(-1, 1, 1)) for w in raw.weights]
    gate = (torch.sigmoid(raw.gate) >= 0.5).float()
    act = _fixed(raw.act, config) if config.fixed_activation is not None else F.one_hot(raw.act.argmax(-1), 3).float()
    return MLPBatch(weights, raw.biases, act, gate)


def _fixed(act: torch.Tensor, config: SearchConfig) -> torch.Tensor:
    code = torch.full(act.shape[:-1], config.fixed_activation, device=act.device)
    return F.one_hot(code, act.shape[-1]).float()


@torch.no_grad()
def latent_statistics(ae: SwatAutoencoder, count: int = 1024, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and std [7, d] of the latents of random population networks (all depths).

    The paper draws z ~ N(0, I), which suits GPT-2's latents; our encoder's latents are not standardised, and
    decoding N(0, I) switched nearly every neuron off, where the sharp gates pass no
    gradient and the search ends at a constant. Drawing N(0, I) in standardised latent coordinates,
    z = mean + std * eps, starts the search from networks like the population's.
    """
    gen = torch.Generator().manual_seed(seed)
    device = next(ae.parameters()).device
    z = torch.cat([ae.encode(tokenise(sample(count // 4, depth, gen).to(device))) for depth in range(1, 5)])
    return z.mean(0), z.std(0)


def objective(net: MLPBatch, m: torch.Tensor, t: torch.Tensor, x: torch.Tensor, y: torch.Tensor):
    """Per task [T]: total loss and MSE."""
    mse = (forward(net, x) - y).pow(2).mean(1)
    tt = t.view(-1, 1, 1)
    sparsity = sum((0.01 * torch.sigmoid(20 * (w.abs() - tt)) + 0.1 * w.abs()).sum((1, 2)) for w in net.weights)
    compact = -0.4 * m.std(2, correction=0).mean(1) + 0.001 * m.mean((1, 2))
    return mse + 1e-4 * sparsity + compact, mse


def search(
    ae: SwatAutoencoder,
    tasks: list[TaskData],
    depth: int,
    config: SearchConfig | None = None,
    on_step=None,
    device: str = "cpu",
) -> list[Found]:
    """Search one depth-`depth` network per task (all tasks at once) on `device`; `on_step(step, losses)`
    reports progress. Random draws come from a CPU generator, so every device starts from the same points."""
    config = config or SearchConfig()
    if not tasks:
        raise SwatError("no tasks to search")
    x, y = (a.to(device) for a in stack_tasks(tasks))
    ae.eval().requires_grad_(False).to(device)
    gen = torch.Generator().manual_seed(config.seed)
    mean, std = latent_statistics(ae)
    eps = torch.randn(len(tasks), 7, ae.config.d, generator=gen).to(device)
    z = (mean + std * eps).requires_grad_()
    t = torch.zeros(len(tasks), device=device, requires_grad=True)
    opt = torch.optim.Adam([{"params": [z], "lr": config.lr_z}, {"params": [t], "lr": config.lr_t}])
    best = torch.full((len(tasks),), float("inf"), device=device)
    best_z, best_t = z.detach().clone(), t.detach().clone()
    best_step = torch.zeros(len(tasks), dtype=torch.long, device=device)
    for step in range(config.steps):
        temperature = max(0.01, 1 - step / config.anneal)
        raw = parse(ae.decode(z, depth), depth)
        net, m = relax(raw, t, temperature, config)
        loss, _ = objective(net, m, t, x, y)
        if step >= config.anneal:  # the loss of the current iterate, before this step's update
            better = loss.detach() < best
            best = torch.where(better, loss.detach(), best)
            best_z = torch.where(better[:, None, None], z.detach(), best_z)  # no host sync, unlike masking
            best_t = torch.where(better, t.detach(), best_t)
            best_step = torch.where(better, step, best_step)
        opt.zero_grad(set_to_none=True)
        loss.sum().backward()
        opt.step()
        with torch.no_grad():
            t.clamp_(0, 3)
        if on_step:
            on_step(step, loss.detach())
    if config.steps <= config.anneal:  # too short to select: keep the last iterate
        best_z, best_t = z.detach(), t.detach()
    with torch.no_grad():
        hard = extract(parse(ae.decode(best_z, depth), depth), best_t, config)
        train_mse = (forward(hard, x) - y).pow(2).mean(1).cpu()
        hard = hard.to("cpu")
    active, nonzero = active_neurons(hard).tolist(), nonzero_parameters(hard).tolist()
    return [
        Found(
            task.name,
            depth,
            to_net(hard, i, task=task.name, method="swat", depth=depth),
            train_mse[i].item(),
            test_mse,
            active[i],
            nonzero[i],
            int(best_step[i]),
        )
        for i, (task, test_mse) in enumerate(zip(tasks, mse_on_test(hard, tasks)))
    ]
