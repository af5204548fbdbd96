"""Classification metrics computed from network outputs."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def binary_auc(scores: torch.Tensor, labels: torch.Tensor) -> float:
    """Area under the ROC curve (Mann-Whitney U, ties counted half); NaN when only one class is present."""
    pos, neg = scores[labels == 1], scores[labels == 0]
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    order = torch.cat([pos, neg]).double()
    ranks = _average_ranks(order)
    u = ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2
    return float(u / (len(pos) * len(neg)))


def _average_ranks(x: torch.Tensor) -> torch.Tensor:
    """1-based ranks with ties given their average rank."""
    sorted_x, order = torch.sort(x)
    ranks = torch.empty_like(x)
    ranks[order] = torch.arange(1, len(x) + 1, dtype=x.dtype)
    _, inverse, counts = torch.unique_consecutive(sorted_x, return_inverse=True, return_counts=True)
    # average rank of each run of equal values: first rank + (count - 1) / 2
    first = torch.cumsum(counts, 0) - counts + 1
    avg = first.double() + (counts.double() - 1) / 2
    ranks[order] = avg[inverse].to(x.dtype)
    return ranks


def classification_metrics(logits: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
    """Loss and accuracy; for one-logit (binary) outputs also precision, recall, F1 and AUC.

    `logits` are pre-sigmoid / pre-softmax outputs: [N, 1] for binary tasks, [N, C] otherwise.
    """
    logits, labels = logits.detach().float().cpu(), labels.cpu()
    if logits.shape[1] == 1:
        z = logits[:, 0]
        y = labels.float()
        loss = F.binary_cross_entropy_with_logits(z, y).item()
        pred = (z > 0).long()
        tp = int(((pred == 1) & (labels == 1)).sum())
        fp = int(((pred == 1) & (labels == 0)).sum())
        fn = int(((pred == 0) & (labels == 1)).sum())
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return {
            "loss": loss,
            "accuracy": float((pred == labels).float().mean()),
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "auc": binary_auc(z, labels),
        }
    loss = F.cross_entropy(logits, labels).item()
    return {"loss": loss, "accuracy": float((logits.argmax(1) == labels).float().mean())}
