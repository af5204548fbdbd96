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
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict
from torch import nn

from weightspace.fileio import read_model, save_model
from weightspace.hyper.api import HyperError
from weightspace.nets import ArchSpec, Layout, Net, align
from weightspace.nets.init import init_net
from weightspace.seeding import seeded
from weightspace.train import StackedModel, run_steps
from weightspace.zoo import Zoo, ZooConfig, split_models, write_zoo


class GeneratorConfig(BaseModel):
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

    spec: ArchSpec
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
    split = split_models(table.iloc[rows], split_seed, (0.8, 0.0)).to_numpy()
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
    HEADER = "weightspace.zoo_generator"

    def save(self, path: str | Path, report: dict | None = None) -> Path:
        """NAME.safetensors (weights, span; spec, tasks and config in the header) + NAME.json (config, report)."""
        header = {
            self.HEADER: self.config.model_dump_json(),
            "spec": self.spec.model_dump_json(),
            "classes": json.dumps(self.classes),
            "zoo_config": json.dumps(self.zoo_config),
        }
        record = {"config": self.config.model_dump(), "classes": self.classes, "report": report or {}}
        return save_model(path, self, record, header)

    @classmethod
    def load(cls, path: str | Path) -> ZooGenerator:
        hint = "weightspace hyper train generator"
        tensors, header = read_model(path, cls.HEADER, "zoo generator", hint, HyperError)
        model = cls(
            ArchSpec.model_validate_json(header["spec"]),
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
        spec: ArchSpec,
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
        self.zoo_config = zoo_config  # the zoo's recipe: which data its tasks come from
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


def zoo_data(zoo_config: dict):
    """The task data a zoo was trained on, from its recorded config."""
    return ZooConfig.model_validate(zoo_config).task_data()


def train_generator(
    zoo: Zoo,
    config: GeneratorConfig,
    checkpoint: str | Path | None = None,
    on_step: Callable[[int, dict], None] | None = None,
    device: str = "cpu",
) -> tuple[ZooGenerator, AlignedZoo, list[dict]]:
    """Align the zoo, fit the generator (Adam) on `device`; with `checkpoint`, progress is saved and a rerun resumes.
    Random draws come from CPU generators, so both devices see the same noise and images."""
    aligned = align_zoo(zoo, config.split_seed)
    train = torch.from_numpy(aligned.split == "train")
    mean, basis, coords = principal_span(aligned.flat[train], config.components)
    labels = aligned.label[train]
    with seeded(config.seed, device):  # the caller's random state is left alone
        zoo_config = zoo.manifest["config"]
        task_means = torch.stack([coords[labels == c].mean(0) for c in range(len(aligned.classes))])
        gen_model = ZooGenerator(
            aligned.spec, aligned.classes, config, zoo_config, mean, basis, aligned.template, task_means
        ).to(device)
        coords, labels = coords.to(device), labels.to(device)
        opt = torch.optim.Adam(gen_model.parameters(), lr=config.lr)
        data = zoo_data(zoo_config)
        x_train, y_train = data.x_train.to(device), data.y_train.to(device)
        engine, layout = StackedModel(aligned.spec, device, compile=False), Layout.of(aligned.spec)
        n_classes = len(aligned.classes)
        task_of = torch.tensor(aligned.classes, device=device)

        def step(i: int, carried: dict) -> tuple[torch.Tensor, dict]:
            g = torch.Generator().manual_seed(config.seed * 1_000_003 + i)  # a step's draws depend on (seed, step)
            label = torch.arange(n_classes, device=device).repeat_interleave(config.per_class)
            coord = gen_model.coordinates(label, torch.randn(len(label), config.noise, generator=g).to(device))
            loss_mmd = torch.stack([mmd(coord[label == c], coords[labels == c]) for c in range(n_classes)]).mean()
            loss = config.mmd_weight * loss_mmd
            values = {"mmd": loss_mmd.item()}
            if config.functional_weight:
                idx = torch.randint(len(x_train), (config.images,), generator=g).to(device)
                flat = gen_model.mean + coord @ gen_model.basis
                logits = engine.forward(layout.split(flat), x_train[idx], shared_input=True)[..., 0]
                target = (y_train[idx][None] == task_of[label][:, None]).float()
                functional = F.binary_cross_entropy_with_logits(logits, target)
                loss = loss + config.functional_weight * functional
                values["task_loss"] = functional.item()
            return loss, values

        def log(row: dict) -> None:
            if on_step:
                on_step(row["step"], row)

        history = run_steps(
            gen_model, opt, config.steps, step, 1, checkpoint=checkpoint, save_every=config.checkpoint_every, on_log=log
        )
        return gen_model.cpu().eval(), aligned, history


# -- evaluation -------------------------------------------------------------------------------------------------------
def task_metrics(spec: ArchSpec, flat: torch.Tensor, tasks: list[int], data) -> list[dict[str, float]]:
    """Accuracy, recall, AUC, ... of networks [G, P] on the test data, network g detecting class tasks[g]."""
    y = torch.stack([(data.y_test == t).long() for t in tasks])
    return StackedModel(spec).evaluate(Layout.of(spec).split(flat), data.x_test, y)


def evaluate_generator(model: ZooGenerator, aligned: AlignedZoo, per_class: int = 20, seed: int = 0) -> dict:
    """Generated networks vs held-out zoo members, the task's aligned mean, and random initialisations: task
    metrics on the real test data, and distances (after alignment) within each group and to the nearest train
    member of the same task."""
    data = zoo_data(model.zoo_config)
    spec, train = aligned.spec, aligned.split == "train"
    groups: dict[str, tuple[torch.Tensor, list[int]]] = {}
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        label = torch.arange(len(aligned.classes)).repeat_interleave(per_class)
        generated = model(label, torch.randn(len(label), model.config.noise, generator=gen))
    groups["generated"] = (generated, [aligned.classes[i] for i in label])
    held = ~train
    groups["zoo members (held out)"] = (aligned.flat[held], [aligned.classes[i] for i in aligned.label[held]])
    of_task = [train & (aligned.label == c).numpy() for c in range(len(aligned.classes))]
    means = torch.stack([aligned.flat[rows].mean(0) for rows in of_task])
    groups["task mean of aligned members"] = (means, list(aligned.classes))
    init = ZooConfig.model_validate(model.zoo_config).init
    random = torch.stack([init_net(spec, 10_000 + i, init).flat() for i in range(len(label))])
    groups["random init"] = (random, [aligned.classes[i] for i in label])
    report, metrics = {}, {}
    for name, (flat, tasks) in groups.items():
        rows = metrics[name] = task_metrics(spec, flat, tasks, data)
        report[name] = {
            "networks": len(rows),
            **_mean_metrics(rows),
            **diversity(flat, tasks, aligned),
        }
    report["per_task_generated"] = _per_task(metrics["generated"], groups["generated"][1])
    return report


def diversity(flat: torch.Tensor, tasks: list[int], aligned: AlignedZoo) -> dict[str, float]:
    """Mean distance between networks of the same task in the group, and to the nearest train member of it."""
    train = torch.from_numpy(aligned.split == "train")
    within, nearest = [], []
    tasks_t = torch.tensor(tasks)
    for c, task in enumerate(aligned.classes):
        mine = flat[tasks_t == task]
        members = aligned.flat[train & (aligned.label == c)]
        if len(mine) > 1:
            d = torch.cdist(mine, mine)
            within.append(d.sum() / (len(mine) * (len(mine) - 1)))
        if len(mine):
            nearest.append(torch.cdist(mine, members).min(1).values.mean())
    return {
        "distance_within_task": float(torch.stack(within).mean()) if within else float("nan"),
        "distance_to_nearest_train_member": float(torch.stack(nearest).mean()),
    }


def _mean_metrics(rows: list[dict]) -> dict[str, float]:
    return {k: float(np.mean([r[k] for r in rows])) for k in ("accuracy", "recall", "auc")}


def _per_task(rows: list[dict], tasks: list[int]) -> dict[str, dict[str, float]]:
    return {str(task): _mean_metrics([r for r, t in zip(rows, tasks) if t == task]) for task in sorted(set(tasks))}


# -- files ------------------------------------------------------------------------------------------------------------


def write_generated(model: ZooGenerator, out: str | Path, per_class: int = 20, seed: int = 0) -> Zoo:
    """Generate `per_class` networks per task, measure them on the task's test data, and write them as a Zoo."""
    start = time.perf_counter()
    nets = [n for task in model.classes for n in model.sample(task, per_class, seed + task)]
    flat = torch.stack([n.flat() for n in nets])
    tasks = [n.meta["task_index"] for n in nets]
    data = zoo_data(model.zoo_config)
    metrics = task_metrics(model.spec, flat, tasks, data)
    rows = [
        {
            "model_id": i,
            "task": data.classes[t],
            "task_index": t,
            "seed": seed + t,
            "sample": n.meta["sample"],
            "source": "generator",
        }
        | {f"test_{k}": v for k, v in m.items()}
        for i, (n, t, m) in enumerate(zip(nets, tasks, metrics))
    ]
    stacked = Layout.of(model.spec).split(flat)
    name = f"generated-{model.zoo_config.get('name', 'zoo')}"
    source = {"generator": model.config.model_dump(), "zoo_config": model.zoo_config}
    return write_zoo(out, name, model.spec, stacked, rows, source=source | {"seconds": time.perf_counter() - start})
