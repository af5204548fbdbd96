"""The one shape every labelled dataset takes: in-memory train and test tensors."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class TaskData:
    """A supervised task held in memory. Images are float32 [N, C, H, W] in [0, 1] with labels int64 [N];
    regression tasks (CORNN) hold float32 inputs [N, D] and targets [N, 1], and no classes."""

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    classes: list[str] = field(default_factory=list)
    source: str = ""  # where the data was read from

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def replace(self, **changes) -> TaskData:
        return replace(self, **changes)

    def subset(self, n: int, seed: int) -> TaskData:
        """A seeded random `n` of the training images (all of them when there are no more)."""
        if n >= len(self.x_train):
            return self
        keep = torch.randperm(len(self.x_train), generator=torch.Generator().manual_seed(seed))[:n]
        return self.replace(x_train=self.x_train[keep], y_train=self.y_train[keep])

    def resized(self, size: int) -> TaskData:
        """Images resized to size x size (bilinear, no antialiasing, as Keras' resize does)."""
        return self.replace(x_train=resize(self.x_train, size), x_test=resize(self.x_test, size))

    def summary(self) -> str:
        return (
            f"{self.name}: {len(self.x_train)} train / {len(self.x_test)} test, input {list(self.input_shape)}, "
            f"{self.num_classes} classes"
        )


def resize(images: torch.Tensor, size: int) -> torch.Tensor:
    """Bilinear resize of a [N, C, H, W] batch to [N, C, size, size] (half-pixel centres, no antialias)."""
    if images.shape[-2:] == (size, size):
        return images
    return F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False, antialias=False)


def stratified_split(labels: torch.Tensor, test_fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Train and test indices with each class split in the same proportion; reproducible from `seed`."""
    g = torch.Generator().manual_seed(seed)
    train, test = [], []
    for c in torch.unique(labels):
        idx = torch.nonzero(labels == c).flatten()
        idx = idx[torch.randperm(len(idx), generator=g)]
        n_test = round(len(idx) * test_fraction)
        test.append(idx[:n_test])
        train.append(idx[n_test:])
    return torch.cat(train).sort().values, torch.cat(test).sort().values
