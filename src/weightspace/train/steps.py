"""The step loop the step-based trainers share (language models, the SWAT autoencoder, the zoo generator):
optimisation, gradient clipping, a history row every `log_every` steps, checkpoints through `train/checkpoint.py`,
and resuming exactly where a checkpoint left off (carried tensors such as a recurrent state included).

Randomness is the caller's: a step draws from generators it seeds from (seed, step), so a resumed run repeats an
uninterrupted one.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from weightspace.errors import WeightspaceError
from weightspace.train.checkpoint import load_checkpoint, save_checkpoint

__all__ = ["run_steps"]

StepFn = Callable[[int, dict[str, torch.Tensor]], tuple[torch.Tensor, dict[str, float]]]


def run_steps(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    steps: int,
    step: StepFn,
    log_every: int = 1,
    summarise: Callable[[int, list[dict[str, float]]], dict] | None = None,
    checkpoint: str | os.PathLike | None = None,
    save_every: int | None = None,
    on_log: Callable[[dict], None] | None = None,
    clip: float | None = None,
) -> list[dict]:
    """Run `step(i, carried)` for i in [start, steps): it returns (loss, values) and may update `carried` (tensors
    kept across steps and checkpoints). The loop does zero_grad, backward, clipping and the optimiser step.

    Every `log_every` steps (and at the last) the values since the last row are averaged into a row with "step";
    `summarise(step, rows)` replaces that average (to add an evaluation, say). Rows go to `on_log` and the returned
    history. With `checkpoint`, state is saved every `save_every` steps (default: at every row) and a rerun resumes.
    """
    history: list[dict] = []
    carried: dict[str, torch.Tensor] = {}
    start = 0
    if checkpoint is not None and Path(checkpoint).is_file():
        progress = load_checkpoint(checkpoint, model, optimizer)
        history, start, carried = progress["history"], progress["step"], dict(progress["extra"])
        device = next(model.parameters()).device
        carried = {k: v.to(device) for k, v in carried.items()}
    save_every = save_every or log_every
    pending: list[dict[str, float]] = []
    for i in range(start, steps):
        loss, values = step(i, carried)
        if not torch.isfinite(loss):
            raise WeightspaceError(f"the loss became {loss.item()} at step {i}; lower the learning rate")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if clip is not None:
            nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        pending.append(values)
        done = i + 1
        if done % log_every == 0 or done == steps:
            row = summarise(done, pending) if summarise else {"step": done} | _mean(pending)
            history.append(row)
            pending = []
            if on_log:
                on_log(row)
        if checkpoint is not None and (done % save_every == 0 or done == steps):
            save_checkpoint(checkpoint, model, optimizer, {"step": done, "history": history}, carried)
    return history


def _mean(rows: list[dict[str, float]]) -> dict[str, float]:
    keys = dict.fromkeys(k for r in rows for k in r)
    return {k: sum(r[k] for r in rows if k in r) / sum(1 for r in rows if k in r) for k in keys}
