"""Fitting M stacked networks of one spec at once: one shared model per (spec, device) — the chain engine
(batched.py) or the graph engine (graph_engine.py) — and the training loop that replays each network's own
training, batch order and checkpoints."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import nullcontext

import torch

from weightspace.errors import WeightspaceError
from weightspace.nets import GraphSpec, NetBatch, Spec
from weightspace.train.batched import BatchedResult, StackedModel, gpu_kernels, on_cuda, per_network_loss
from weightspace.train.graph_engine import GraphStackedModel
from weightspace.train.loop import Training, epoch_order, make_optimizer

_SHARED: dict[tuple, StackedModel] = {}


def order_groups(order_seeds: Sequence[int]) -> int:
    """K when the networks fall into K > 0 equal runs of consecutive networks sharing one order seed (fewer runs
    than networks), else 0: every network gathers its own batches."""
    runs = [1]
    for a, b in zip(order_seeds, order_seeds[1:]):
        if a == b:
            runs[-1] += 1
        else:
            runs.append(1)
    equal = len(set(runs)) == 1 and len(set(order_seeds)) == len(runs)
    return len(runs) if equal and len(runs) < len(order_seeds) else 0


def shared_model(spec: Spec, device: str, compile: bool | None, kernels: str | None = None) -> StackedModel:
    """One StackedModel per (spec, device, compile, kernels) in this process, so a compiled step is compiled once,
    not once per network or shard. A graph gets the vmap engine (graph_engine.py)."""
    key = (spec.model_dump_json(), str(device), compile, kernels)
    if key not in _SHARED:
        if isinstance(spec, GraphSpec):
            if kernels not in (None, "grouped", "unfold"):
                raise WeightspaceError(f"--kernels {kernels} runs chains; a graph trains in the vmap engine")
            _SHARED[key] = GraphStackedModel(spec, device, compile)
        else:
            _SHARED[key] = StackedModel(spec, device, compile, kernels)
    return _SHARED[key]


def fit_stacked(
    init: NetBatch,
    x_train: torch.Tensor,
    y_train: torch.Tensor,
    x_test: torch.Tensor,
    y_test: torch.Tensor,
    training: Training,
    order_seeds: Sequence[int],
    checkpoints: Sequence[int] | None = None,
    device: str = "cpu",
    on_epoch: Callable[[int], None] | None = None,
    deterministic: bool = True,
    group: int | None = None,
    compile: bool | None = None,
    kernels: str | None = None,
) -> BatchedResult:
    """Train the M networks of `init` on shared inputs with per-network labels y_* [M, N].

    Network m shuffles with `training.seed = order_seeds[m]`, exactly as `fit` would. Parameters and metrics are
    recorded after each epoch in `checkpoints` (default: the last). `deterministic=False` trades bit-reproducibility
    on a GPU for speed (see `gpu_kernels`).

    Networks of one group with equal order seeds see the same batches, and the engine then runs their first layer
    as one wide conv or matmul (`zoo generate --shared-order`); K equal runs of consecutive networks sharing an
    order seed (`--order-groups K`) run it as one dense conv per run. On CUDA without `deterministic`, the forward runs
    in bf16 autocast and Adam is fused.

    `group` networks are trained at a time (default: all on CUDA, one on the CPU, where stacking more does not pay:
    the per-network step is already memory-bound at batch 128; benchmarks/zoo_engine.py measures it). `on_epoch`
    is called after each epoch of each group. `compile` (default: on CUDA only) runs the training forward and
    backward through torch.compile: on a CPU 1.2x once warm, about 2 s to compile per process
    (benchmarks/zoo_engine_cpu_step.py). `kernels` picks how convs run (`train.KERNELS`; default grouped convs on
    a CPU, unfold + bmm on CUDA): "triton" is the implicit-GEMM kernels of train/triton_conv.py, whose first conv
    reads each network's batch through the order itself.
    """
    m, spec = len(order_seeds), init.spec
    if len(init) != m:
        raise WeightspaceError(f"{len(init)} networks but {m} order seeds: give one seed per network")
    if y_train.shape != (m, len(x_train)) or y_test.shape != (m, len(x_test)):
        raise WeightspaceError(f"labels must be [M={m}, N]: got {list(y_train.shape)} and {list(y_test.shape)}")
    checkpoints = sorted(set(checkpoints or [training.epochs]))
    group = group or (m if on_cuda(device) else 1)
    parts = [
        _fit_stack(
            spec,
            {k: v[i : i + group] for k, v in init.params.items()},
            x_train,
            y_train[i : i + group],
            x_test,
            y_test[i : i + group],
            training,
            order_seeds[i : i + group],
            checkpoints,
            device,
            on_epoch,
            deterministic,
            compile,
            kernels,
        )  # fmt: skip
        for i in range(0, m, group)
    ]
    return BatchedResult(
        {e: NetBatch.concat([p.checkpoints[e] for p in parts]) for e in checkpoints},
        {e: [row for p in parts for row in p.metrics[e]] for e in checkpoints},
    )


def _fit_stack(
    spec, init, x_train, y_train, x_test, y_test, training, order_seeds, checkpoints, device, on_epoch, deterministic,
    compile, kernels,
) -> BatchedResult:  # fmt: skip
    """`fit_stacked` for one group: all of `init` trained as one stacked model."""
    model = shared_model(spec, device, compile, kernels)
    learnable = spec.state_shapes(buffers=False)  # batchnorm's running statistics are updated in place, not learnt
    params = {k: v.detach().clone().to(device).requires_grad_(k in learnable) for k, v in init.items()}
    # --fast-gpu: bf16 autocast (the seed trained in mixed precision; weights and Adam stay float32) and fused Adam
    fast = on_cuda(device) and not deterministic
    opt = make_optimizer(training, [v for k, v in params.items() if k in learnable], fused=fast)
    per_network = [training.model_copy(update={"seed": s}) for s in order_seeds]
    groups = order_groups(order_seeds)  # networks sharing a batch order: one dense first layer per group
    # autocast casts the images to bf16 before the first conv anyway: holding them so halves every gather and unfold
    x_train_d, y_train_d = x_train.to(device, torch.bfloat16 if fast else x_train.dtype), y_train.to(device)
    result = BatchedResult({}, {})
    n = len(x_train)
    for epoch in range(1, training.epochs + 1):
        leaders = per_network[:: len(per_network) // groups] if groups else per_network  # each group's first network
        orders = torch.stack([epoch_order(n, r, epoch) for r in leaders]).to(device)
        with gpu_kernels(device, deterministic):
            for i in range(0, n, training.batch_size):
                idx = orders[:, i : i + training.batch_size]  # [M, b], or [K, b] for K order groups
                with torch.autocast("cuda", torch.bfloat16) if fast else nullcontext():
                    if model.reads_index and not groups:  # the first conv gathers each network's batch itself
                        logits = model.forward(params, x_train_d, index=idx)
                    else:
                        logits = model.forward(params, x_train_d[idx[0]] if groups == 1 else x_train_d[idx], groups)
                idx = idx.repeat_interleave(len(order_seeds) // len(idx), 0)
                logits = logits.float() if logits.dtype in (torch.float16, torch.bfloat16) else logits  # float64 stays
                loss = per_network_loss(logits, torch.gather(y_train_d, 1, idx)).sum()
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
        if epoch in checkpoints:
            snapshot = {k: v.detach().cpu().clone() for k, v in params.items()}
            train = model.evaluate(params, x_train, y_train)
            test = model.evaluate(params, x_test, y_test)
            result.checkpoints[epoch] = NetBatch(spec, snapshot)
            result.metrics[epoch] = [
                {f"train_{k}": v for k, v in tr.items()} | {f"test_{k}": v for k, v in te.items()}
                for tr, te in zip(train, test)
            ]
        if on_epoch:
            on_epoch(epoch)
    return result
