"""The baselines SWAT-NN is compared with, batched over tasks like the search (one network per task):

- `dense`: fully connected 2-7-...-7-1 MLPs with one activation, trained with Adam (the ceiling sizes);
- `darts_admm`: a DARTS-style relaxation of each neuron's activation (softmax over the three, trained jointly
  with the weights), discretised by argmax, then ADMM magnitude pruning to a given number of non-zero weights
  per task, then retraining with the pruning mask fixed.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict

from weightspace.data import TaskData
from weightspace.swat.mlps import ACTS, INPUTS, WIDTH, MLPBatch, forward, stack_tasks


class BaselineConfig(BaseModel):
    """The baselines beside SWAT-NN: dense MLPs and DARTS + ADMM pruning: steps, learning rate, ADMM's
    rho and interval, seed."""

    model_config = ConfigDict(extra="forbid")
    steps: int = 4000  # full-batch Adam steps per phase
    lr: float = 1e-2
    rho: float = 1e-2  # ADMM penalty
    admm_every: int = 50  # steps between ADMM projections
    seed: int = 0


def init_weights(
    count: int, depth: int, gen: torch.Generator, device: str = "cpu"
) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """PyTorch's default Linear init, U(-1/sqrt(fan_in), 1/sqrt(fan_in)), for `count` networks (drawn on the
    CPU, so every device starts from the same weights)."""
    sizes = [INPUTS] + [WIDTH] * depth + [1]
    weights, biases = [], []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        bound = n_in**-0.5
        w = (torch.rand(count, n_in, n_out, generator=gen) * 2 - 1) * bound
        b = (torch.rand(count, n_out, generator=gen) * 2 - 1) * bound
        weights.append(w.to(device).requires_grad_())
        biases.append(b.to(device).requires_grad_())
    return weights, biases


def _train(params, make, x, y, steps: int, lr: float) -> None:
    """Full-batch Adam on the summed per-task MSE of the network `make()` builds."""
    opt = torch.optim.Adam(params, lr=lr)
    for _ in range(steps):
        loss = (forward(make(), x) - y).pow(2).mean(1).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()


def dense(
    tasks: list[TaskData],
    depth: int,
    activation: str = "tanh",
    config: BaselineConfig | None = None,
    device: str = "cpu",
) -> MLPBatch:
    """Dense MLPs with one activation everywhere; returns the trained networks as an MLPBatch (on the CPU)."""
    config = config or BaselineConfig()
    x, y = (a.to(device) for a in stack_tasks(tasks))
    gen = torch.Generator().manual_seed(config.seed)
    weights, biases = init_weights(len(tasks), depth, gen, device)
    code = torch.full((len(tasks), depth, WIDTH), ACTS.index(activation), device=device)
    act = F.one_hot(code, len(ACTS)).float()
    gate = torch.ones(len(tasks), depth, WIDTH, device=device)
    _train(weights + biases, lambda: MLPBatch(weights, biases, act, gate), x, y, config.steps, config.lr)
    return _frozen(MLPBatch(weights, biases, act, gate))


def darts_admm(
    tasks: list[TaskData], depth: int, budgets: list[int], config: BaselineConfig | None = None, device: str = "cpu"
) -> MLPBatch:
    """Relaxed activation search, then ADMM pruning to `budgets[i]` non-zero weights for task i, then retraining
    under the mask. Neurons left without any non-zero outgoing weight are switched off (they cannot reach the
    output), so `nonzero_parameters` counts only what computes. Returns the networks on the CPU."""
    config = config or BaselineConfig()
    x, y = (a.to(device) for a in stack_tasks(tasks))
    gen = torch.Generator().manual_seed(config.seed)
    weights, biases = init_weights(len(tasks), depth, gen, device)
    alpha = torch.zeros(len(tasks), depth, WIDTH, len(ACTS), device=device, requires_grad=True)
    gate = torch.ones(len(tasks), depth, WIDTH, device=device)
    # 1. weights and activation choice together (DARTS relaxation: softmax over the candidates)
    _train(
        weights + biases + [alpha],
        lambda: MLPBatch(weights, biases, alpha.softmax(-1), gate),
        x,
        y,
        config.steps,
        config.lr,
    )
    act = F.one_hot(alpha.detach().argmax(-1), len(ACTS)).float()
    # 2. ADMM: W stays near Z, the projection of W + U onto the top-`budget` magnitudes
    budget = torch.tensor(budgets, device=device)
    dual = [torch.zeros_like(w) for w in weights]
    target = _project(weights, dual, budget)
    opt = torch.optim.Adam(weights + biases, lr=config.lr)
    for step in range(config.steps):
        net = MLPBatch(weights, biases, act, gate)
        penalty = sum((w - z + u).pow(2).sum((1, 2)) for w, u, z in zip(weights, dual, target))
        loss = ((forward(net, x) - y).pow(2).mean(1) + config.rho / 2 * penalty).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if (step + 1) % config.admm_every == 0:
            with torch.no_grad():
                target = _project(weights, dual, budget)
                for w, u, z in zip(weights, dual, target):
                    u += w - z
    # 3. hard prune to the budget and retrain with the mask fixed
    masks = [(z != 0).float() for z in _project(weights, [torch.zeros_like(w) for w in weights], budget)]
    with torch.no_grad():
        for w, mk in zip(weights, masks):
            w *= mk
    _train(
        weights + biases,
        lambda: MLPBatch([w * mk for w, mk in zip(weights, masks)], biases, act, gate),
        x,
        y,
        config.steps,
        config.lr,
    )
    pruned = [w.detach() * mk for w, mk in zip(weights, masks)]
    reaches = [(pruned[layer + 1] != 0).any(2).float() for layer in range(depth)]  # any outgoing weight
    return _frozen(MLPBatch(pruned, biases, act, torch.stack(reaches, 1)))


def _project(weights, dual, budget: torch.Tensor) -> list[torch.Tensor]:
    """Per task, keep the `budget` largest |W + U| entries over all layers, zero the rest."""
    flat = torch.cat([(w + u).detach().flatten(1) for w, u in zip(weights, dual)], 1)
    order = flat.abs().argsort(1, descending=True)
    keep = torch.zeros_like(flat, dtype=torch.bool)
    rank = torch.arange(flat.shape[1], device=flat.device).expand_as(flat)
    keep.scatter_(1, order, rank < budget[:, None])
    out, start = [], 0
    for w in weights:
        size = w[0].numel()
        out.append((flat[:, start : start + size] * keep[:, start : start + size]).view_as(w))
        start += size
    return out


def _frozen(net: MLPBatch) -> MLPBatch:
    return MLPBatch(
        [w.detach() for w in net.weights], [b.detach() for b in net.biases], net.act.detach(), net.gate.detach()
    ).to("cpu")
