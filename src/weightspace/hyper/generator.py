"""A generator trained on a zoo: (task, noise) -> a complete network for that task.

1. Align: every zoo member's hidden units are matched to a template (weight matching, `nets.align`; the template
   is the mean of the members aligned to the first one), so members of one task become comparable point by point.
2. Span: the aligned train members' principal components; a member is mean + a @ basis with `a` of unit
   variance per component.
3. Generator: class embedding + noise -> MLP -> a -> the full parameter vector. Loss: maximum mean discrepancy
   between generated and real coordinates of each task (a moment-matching generator, which keeps samples diverse
   without a discriminator) + the generated networks' task loss on real task data (functional).
Generated networks are plain `Net`s, written as a Zoo by `write_generated`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict
from torch import nn

from weightspace.fileio import read_model, save_model
from weightspace.hyper.api import HyperError
from weightspace.nets import Net, Spec, align, load_spec
from weightspace.zoo import Zoo, zoo_split


class GeneratorConfig(BaseModel):
    """The zoo-trained generator: principal components, noise size, width, steps, loss weights and
    seeds."""

    model_config = ConfigDict(extra="forbid")
    components: int = 256  # principal components of the aligned zoo the generator writes in (at most N - 1)
    noise: int = 16
    hidden: int = 256
    steps: int = 600
    lr: float = 1e-3
    per_class: int = 4  # generated networks per task per step
    images: int = 64  # task images per step for the functional loss
    functional_weight: float = 1.0  # 0: weight-space moments only
    mmd_weight: float = 1.0
    seed: int = 0
    split_seed: int = 0
    checkpoint_every: int = 100


@dataclass
class AlignedZoo:
    """A one-vs-rest zoo's final networks, aligned to one template; flat [N, P] in the spec's layout."""

    spec: Spec
    template: torch.Tensor  # [P]
    flat: torch.Tensor  # [N, P]
    label: torch.Tensor  # [N] index into `classes`
    classes: list[int]  # the dataset class each task detects
    split: np.ndarray  # "train" / "test" per network


def final_rows(zoo: Zoo) -> np.ndarray:
    """Row positions of each model's last checkpoint."""
    table = zoo.table
    if "epoch" not in table.columns:
        return np.arange(len(table))
    last = table.groupby("model_id")["epoch"].transform("max") == table["epoch"]
    return np.flatnonzero(last.to_numpy())


def align_zoo(zoo: Zoo, split_seed: int = 0, rounds: int = 2) -> AlignedZoo:
    """Align a one-vs-rest zoo's final networks (one spec) to a template built from its train split."""
    table = zoo.table
    if "task_index" not in table.columns or (table["task_index"] < 0).any():
        raise HyperError("the generator needs a one-vs-rest zoo (a task_index per network), e.g. preset digits-lenet5")
    rows = final_rows(zoo)
    if "spec" in table.columns and table["spec"].iloc[rows].nunique() > 1:
        raise HyperError("the zoo mixes architectures; filter it to one spec first")
    spec = zoo.spec_of_row(int(rows[0]))
    nets = [zoo.net(int(r)) for r in rows]
    split = zoo_split(table.iloc[rows], split_seed, (0.8, 0.0)).to_numpy()  # the zoo's own split where it has one
    train = [n for n, s in zip(nets, split) if s == "train"]
    template = train[0]
    for _ in range(rounds):  # align to the current template, then average into the next one
        mean = torch.stack([align(n, template).flat() for n in train]).mean(0)
        template = Net.from_flat(spec, mean)
    flat = torch.stack([align(n, template).flat() for n in nets])
    tasks = table["task_index"].to_numpy()[rows]
    classes = sorted({int(t) for t in tasks})
    label = torch.tensor([classes.index(int(t)) for t in tasks])
    return AlignedZoo(spec, template.flat(), flat, label, classes, split)


def principal_span(flat: torch.Tensor, components: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """mean [P], basis [K, P] scaled so that coordinates have unit variance, and the members' coordinates [N, K]."""
    mean = flat.mean(0)
    u, s, vt = torch.linalg.svd(flat - mean, full_matrices=False)
    k = min(components, len(s) - 1)
    scale = s[:k] / math.sqrt(len(flat) - 1)
    return mean, scale[:, None] * vt[:k], u[:, :k] * math.sqrt(len(flat) - 1)


class ZooGenerator(nn.Module):
    """A generator of whole networks for a task, trained on a zoo's aligned members."""

    HEADER = "weightspace.zoo_generator"

    def save(self, path: str | Path, report: dict | None = None) -> Path:
        """NAME.safetensors (weights, span; spec, tasks and config in the header) + NAME.json (config, report)."""
        header = {
            self.HEADER: self.config.model_dump_json(),
            "spec": self.spec.model_dump_json(),
            "classes": json.dumps(self.classes),
            "zoo_config": json.dumps(self.zoo_config),
        }
        record = {
            "kind": "generator",
            "config": self.config.model_dump(),
            "classes": self.classes,
            "report": report or {},
        }
        return save_model(path, self, record, header)

    @classmethod
    def load(cls, path: str | Path) -> ZooGenerator:
        hint = "weightspace hyper train generator"
        tensors, header = read_model(path, cls.HEADER, "zoo generator", hint, HyperError)
        model = cls(
            load_spec(header["spec"]),
            json.loads(header["classes"]),
            GeneratorConfig.model_validate_json(header[cls.HEADER]),
            json.loads(header["zoo_config"]),
            tensors["mean"],
            tensors["basis"],
            tensors["template"],
        )
        model.load_state_dict(tensors)
        return model.eval()

    def __init__(
        self,
        spec: Spec,
        classes: list[int],
        config: GeneratorConfig,
        zoo_config: dict,
        mean: torch.Tensor,
        basis: torch.Tensor,
        template: torch.Tensor,
        task_means: torch.Tensor | None = None,
    ):
        super().__init__()
        self.spec, self.classes, self.config = spec, list(classes), config
        self.zoo_config = zoo_config  # the zoo's config: which data its tasks come from
        self.register_buffer("mean", mean)
        self.register_buffer("basis", basis)
        self.register_buffer("template", template)
        # each task starts at its members' mean coordinates; the network learns the spread around it
        self.task_mean = nn.Parameter(torch.zeros(len(classes), basis.shape[0]) if task_means is None else task_means)
        self.embed = nn.Embedding(len(classes), 32)
        self.body = nn.Sequential(
            nn.Linear(32 + config.noise, config.hidden),
            nn.ReLU(),
            nn.Linear(config.hidden, config.hidden),
            nn.ReLU(),
            nn.Linear(config.hidden, basis.shape[0]),
        )
        nn.init.zeros_(self.body[-1].weight)  # start exactly at the task means: a perturbed mean may not work
        nn.init.zeros_(self.body[-1].bias)

    def coordinates(self, label: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        return self.task_mean[label] + self.body(torch.cat([self.embed(label), noise], 1))

    def forward(self, label: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """Flat parameter vectors [G, P] for task indices `label` [G]."""
        return self.mean + self.coordinates(label, noise) @ self.basis

    @torch.no_grad()
    def sample(self, task: int, count: int, seed: int = 0) -> list[Net]:
        """`count` networks detecting dataset class `task`."""
        if task not in self.classes:
            raise HyperError(f"this generator knows tasks {self.classes}, not {task}")
        gen = torch.Generator().manual_seed(seed)
        label = torch.full((count,), self.classes.index(task))
        flat = self(label, torch.randn(count, self.config.noise, generator=gen))
        return [Net.from_flat(self.spec, v, task_index=task, source="generator", sample=i) for i, v in enumerate(flat)]


def mmd(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Unbiased squared maximum mean discrepancy between samples x [n, K] and y [m, K] (n, m >= 2), RBF
    kernels at several widths relative to sqrt(K) (coordinates have unit variance)."""
    k = x.shape[1]

    def kernel(a, b):
        d = (a[:, None] - b[None]).pow(2).sum(-1)  # cdist's gradient is undefined at a zero distance
        return sum(torch.exp(-d / (2 * s * s * k)) for s in (0.5, 1.0, 2.0, 4.0))

    def within(a):
        n, same = len(a), kernel(a, a)
        return (same.sum() - same.diagonal().sum()) / (n * (n - 1))

    return within(x) + within(y) - 2 * kernel(x, y).mean()
