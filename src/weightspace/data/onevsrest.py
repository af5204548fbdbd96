"""One-vs-rest views: the binary task "is this class k?" over a multi-class dataset."""

from __future__ import annotations

import torch

from weightspace.data.base import TaskData
from weightspace.errors import WeightspaceError


def one_vs_rest(data: TaskData, k: int, balance: bool = False, seed: int = 0) -> TaskData:
    """Labels 1 for class k and 0 otherwise. Negatives are kept as they are (about 90 % for ten balanced classes),
    as the seed zoo does; `balance=True` subsamples training negatives to the number of positives."""
    if not 0 <= k < data.num_classes:
        raise WeightspaceError(f"{data.name} has classes 0..{data.num_classes - 1}; there is no class {k}")
    x_tr, y_tr = data.x_train, (data.y_train == k).long()
    if balance:
        g = torch.Generator().manual_seed(seed)
        pos, neg = torch.nonzero(y_tr == 1).flatten(), torch.nonzero(y_tr == 0).flatten()
        neg = neg[torch.randperm(len(neg), generator=g)[: len(pos)]]
        keep = torch.cat([pos, neg]).sort().values
        x_tr, y_tr = x_tr[keep], y_tr[keep]
    name = data.classes[k] if data.classes else str(k)
    return data.replace(
        name=f"{data.name}:{name}-vs-rest",
        x_train=x_tr,
        y_train=y_tr,
        y_test=(data.y_test == k).long(),
        classes=["rest", name],
    )
