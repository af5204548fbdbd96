"""The zoo-generator recipe: align a zoo, fit the conditional generator of whole networks (hyper.generator), and
evaluate what it generates against the zoo's held-out members, their aligned task means and random initialisations;
write generated networks as a zoo."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import Field

from weightspace.hyper import AlignedZoo, GeneratorConfig, ZooGenerator, align_zoo, mmd, principal_span
from weightspace.nets import ArchSpec, Layout, NetBatch, init_net
from weightspace.recipes.base import RecipeConfig
from weightspace.seeding import seeded
from weightspace.train import StackedModel, run_steps
from weightspace.zoo import Zoo, ZooConfig, write_zoo


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
    return write_zoo(
        out, name, NetBatch(model.spec, stacked), rows, source=source | {"seconds": time.perf_counter() - start}
    )


class GeneratorTrainingConfig(RecipeConfig):
    zoo: Path  # a one-vs-rest zoo
    generator: GeneratorConfig = Field(default_factory=GeneratorConfig)
    per_class: int = Field(20, ge=1)  # networks generated per task for the evaluation
    seed: int = Field(0, ge=0)  # the evaluation's draws


def run(config: GeneratorTrainingConfig, out: str | Path, device: str = "cpu", on_step=None) -> dict:
    """Train (resuming from OUT.ckpt.safetensors), evaluate, save OUT.safetensors + OUT.json (with the report)."""
    out = Path(out).with_suffix("")
    model, aligned, _ = train_generator(Zoo.open(config.zoo), config.generator, f"{out}.ckpt.safetensors", on_step,
                                        device)  # fmt: skip
    report = evaluate_generator(model, aligned, config.per_class, config.seed)
    return {"report": report, "model": str(model.save(out, report))}
