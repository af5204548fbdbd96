"""The batched engine: train M networks of one spec at once.

Parameters are stacked along a leading model axis (the `torch.func.stack_module_state` layout) and one
`vmap`-ed functional forward runs all M networks on their own minibatches. The loss is the sum of the per-network
mean losses, so each network's gradient is exactly its own; Adam and SGD act element-wise, so the stock optimiser
on the stacked tensors is M independent optimisers. With the same seeds it computes what `fit` computes, network by
network (up to float round-off from a different summation order).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch.func import functional_call

from weightspace.errors import WeightspaceError
from weightspace.nets.build import build
from weightspace.nets.net import Net
from weightspace.nets.spec import ArchSpec, BatchNorm
from weightspace.train.loop import Recipe, epoch_order, logits_of, make_optimizer
from weightspace.train.metrics import classification_metrics


def stack(nets: Sequence[Net]) -> dict[str, torch.Tensor]:
    """{name: [M, ...]} from M nets of one spec."""
    spec = nets[0].spec
    if any(n.spec != spec for n in nets):
        raise WeightspaceError("stack: all networks must share one ArchSpec")
    return {k: torch.stack([n.params[k] for n in nets]) for k in nets[0].params}


def unstack(spec: ArchSpec, stacked: dict[str, torch.Tensor], metas: Sequence[dict] | None = None) -> list[Net]:
    m = next(iter(stacked.values())).shape[0]
    metas = metas or [{} for _ in range(m)]
    return [Net(spec, {k: v[i].detach().clone() for k, v in stacked.items()}, dict(metas[i])) for i in range(m)]


def _per_network_loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """[M, b, out] logits, [M, b] labels -> [M] mean losses."""
    if logits.shape[-1] == 1:
        return F.binary_cross_entropy_with_logits(logits[..., 0], y.float(), reduction="none").mean(1)
    m, b, c = logits.shape
    return F.cross_entropy(logits.reshape(m * b, c), y.reshape(m * b), reduction="none").view(m, b).mean(1)


@dataclass
class BatchedResult:
    checkpoints: dict[int, dict[str, torch.Tensor]]  # epoch -> stacked parameters
    metrics: dict[int, list[dict[str, float]]]  # epoch -> one row per network (train_* and test_*)


class StackedModel:
    """A functional, vmapped view of one spec: forward(params [M, ...], x) -> logits [M, b, out]."""

    def __init__(self, spec: ArchSpec, device: str = "cpu"):
        if any(isinstance(layer, BatchNorm) for layer in spec.layers):
            raise WeightspaceError("the batched engine does not train batchnorm networks; use train.fit per network")
        self.spec = spec
        self.module = logits_of(spec, build(spec)).to(device)

    def _call(self, params: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        return functional_call(self.module, params, (x,))

    def forward(self, params: dict[str, torch.Tensor], x: torch.Tensor, shared_input: bool = False) -> torch.Tensor:
        in_dims = (0, None) if shared_input else (0, 0)
        return torch.vmap(self._call, in_dims=in_dims, randomness="different")(params, x)

    @torch.no_grad()
    def evaluate(
        self, params: dict[str, torch.Tensor], x: torch.Tensor, y: torch.Tensor, chunk: int = 1024
    ) -> list[dict[str, float]]:
        """Metrics of every network on shared inputs x [N, ...] with per-network labels y [M, N]."""
        self.module.eval()
        device = next(iter(params.values())).device
        logits = torch.cat(
            [
                self.forward(params, x[i : i + chunk].to(device), shared_input=True).cpu()
                for i in range(0, len(x), chunk)
            ],
            dim=1,
        )
        self.module.train()
        return [classification_metrics(logits[m], y[m]) for m in range(len(logits))]


def fit_stacked(
    spec: ArchSpec,
    init: dict[str, torch.Tensor],
    x_train: torch.Tensor,
    y_train: torch.Tensor,
    x_test: torch.Tensor,
    y_test: torch.Tensor,
    recipe: Recipe,
    order_seeds: Sequence[int],
    checkpoints: Sequence[int] | None = None,
    device: str = "cpu",
    on_epoch: Callable[[int], None] | None = None,
) -> BatchedResult:
    """Train M networks (stacked `init`) on shared inputs with per-network labels y_* [M, N].

    Network m shuffles with `recipe.seed = order_seeds[m]`, exactly as `fit` would. Parameters and metrics are
    recorded after each epoch in `checkpoints` (default: the last).
    """
    m = len(order_seeds)
    if y_train.shape != (m, len(x_train)) or y_test.shape != (m, len(x_test)):
        raise WeightspaceError(f"labels must be [M={m}, N]: got {list(y_train.shape)} and {list(y_test.shape)}")
    checkpoints = sorted(set(checkpoints or [recipe.epochs]))
    model = StackedModel(spec, device)
    params = {k: v.detach().clone().to(device).requires_grad_() for k, v in init.items()}
    opt = make_optimizer(recipe, params.values())
    recipes = [recipe.model_copy(update={"seed": s}) for s in order_seeds]
    x_train_d, y_train_d = x_train.to(device), y_train.to(device)
    result = BatchedResult({}, {})
    n = len(x_train)
    for epoch in range(1, recipe.epochs + 1):
        orders = torch.stack([epoch_order(n, r, epoch) for r in recipes]).to(device)  # [M, N]
        for i in range(0, n, recipe.batch_size):
            idx = orders[:, i : i + recipe.batch_size]
            logits = model.forward(params, x_train_d[idx])
            loss = _per_network_loss(logits, torch.gather(y_train_d, 1, idx)).sum()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        if epoch in checkpoints:
            snapshot = {k: v.detach().cpu().clone() for k, v in params.items()}
            train = model.evaluate(params, x_train, y_train)
            test = model.evaluate(params, x_test, y_test)
            result.checkpoints[epoch] = snapshot
            result.metrics[epoch] = [
                {f"train_{k}": v for k, v in tr.items()} | {f"test_{k}": v for k, v in te.items()}
                for tr, te in zip(train, test)
            ]
        if on_epoch:
            on_epoch(epoch)
    return result
