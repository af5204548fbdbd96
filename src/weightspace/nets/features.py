"""Fixed-size summaries of a network's weights (the STATNN features of Unterthiner et al.)."""

from __future__ import annotations

import torch

STAT_NAMES = ("mean", "std", "min", "q25", "median", "q75", "max")


def layer_statistics(stacked: dict[str, torch.Tensor]) -> torch.Tensor:
    """[n, 7 * tensors]: mean, std and five quantiles of every named tensor of n stacked networks."""
    feats = []
    for name in stacked:
        t = stacked[name].reshape(stacked[name].shape[0], -1).float()
        q = torch.quantile(t, torch.tensor([0.0, 0.25, 0.5, 0.75, 1.0]), dim=1).T
        feats += [t.mean(1, keepdim=True), t.std(1, keepdim=True, unbiased=False), q]
    return torch.cat(feats, 1)
