"""The Net2Net experiment at laptop scale: does a grown student learn faster than the same network started afresh?

A narrow teacher is trained on Fashion-MNIST, then grown two ways, wider and deeper. Each grown architecture is
trained on from three starts: the Net2Net student (same function as the teacher), random initialisation, and
"random pad" (teacher weights kept, new units or layers random). Every run records test accuracy before training
and after each epoch, with wall-clock seconds; with several seeds the curves are reported as mean and std.

Two teachers: a small chain CNN (2x wider; one conv and one dense layer deeper), and the paper's own setting at
our scale, an `inception-small` whose every branch has sqrt(0.3) of the standard channels, widened to the standard
network and deepened by a zero-initialised residual conv branch inside each Inception block.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from pydantic import Field, NonNegativeFloat, PositiveFloat, PositiveInt

from weightspace.data import TaskData, load
from weightspace.fileio import write_json
from weightspace.grow import deeper, widen_all, widenable, wider
from weightspace.nets import (
    Activation,
    ArchSpec,
    BatchNorm,
    Conv2d,
    Flatten,
    GraphSpec,
    Linear,
    Net,
    Pool2d,
    inception_small,
    init_net,
    unit_groups,
)
from weightspace.recipes.base import RecipeConfig
from weightspace.seeding import seeded
from weightspace.train import Training, evaluate, fit, logits_of


def teacher_spec(input_shape=(1, 28, 28), classes: int = 10, width: int = 8) -> ArchSpec:
    """A small ReLU CNN: conv w -> pool -> conv 2w -> pool -> dense 8w -> classes (ReLU allows exact deepening)."""
    return ArchSpec(
        name="net2net-teacher",
        input_shape=tuple(input_shape),
        layers=[
            Conv2d(out_channels=width, kernel_size=3, padding=1),
            Activation(fn="relu"),
            Pool2d(op="max", kernel_size=2),
            Conv2d(out_channels=2 * width, kernel_size=3, padding=1),
            Activation(fn="relu"),
            Pool2d(op="max", kernel_size=2),
            Flatten(),
            Linear(out_features=8 * width),
            Activation(fn="relu"),
            Linear(out_features=classes),
        ],
    )


def random_pad(teacher: Net, student: Net, seed: int) -> Net:
    """The baseline: `student`'s architecture randomly initialised, with the teacher's weights kept where they fit.

    A widened layer keeps the teacher's units in its leading rows and columns (flatten is channel-major, so the
    leading columns after a widened conv are exactly the teacher's channels) and its new units are random; a layer
    that Net2Net inserted (an identity) stays random."""
    fresh = init_net(student.spec, seed)
    params = dict(fresh.params)
    teacher_layers = iter(teacher.spec.parametric_layers())
    for s in student.spec.parametric_layers():
        if _is_inserted_identity(student, s):
            continue
        t = next(teacher_layers)
        for name in ("weight", "bias"):
            old = teacher.params.get(f"{t}.{name}")
            if old is not None:
                new = params[f"{s}.{name}"].clone()
                new[tuple(slice(0, n) for n in old.shape)] = old
                params[f"{s}.{name}"] = new
    return fresh.replace(params=params)


def _is_inserted_identity(net: Net, layer: int) -> bool:
    w, b = net.params[f"{layer}.weight"], net.params.get(f"{layer}.bias")
    if w.shape[0] != w.shape[1] or (b is not None and b.any()):
        return False
    eye = torch.eye(w.shape[0])
    if w.dim() == 4:
        k = w.shape[-1] // 2
        return bool(torch.equal(w[:, :, k, k], eye) and w.abs().sum() == w.shape[0])
    return bool(torch.equal(w, eye))


def graph_random_pad(teacher: Net, student: Net, seed: int) -> Net:
    """`random_pad` on a graph: the student's architecture fresh, with the teacher's tensors copied in where they
    fit. A grown group keeps the teacher's units first, so a tensor's old rows lead; its old columns lead each
    stretch of its input axis (after a concat, every branch's stretch). Nodes Net2Net inserted stay random."""
    params = dict(init_net(student.spec, seed).params)
    old_axes, axes = unit_groups(teacher.spec)[0], unit_groups(student.spec)[0]
    inputs = {n.name: n.inputs[0] for n in teacher.spec.nodes}
    norms = {n.name for n in teacher.spec.nodes if isinstance(n.op, BatchNorm)}
    for key, old in teacher.params.items():
        new = params[key].clone()
        if new.shape == old.shape:
            params[key] = old.clone()
            continue
        node = key.rsplit(".", 1)[0]
        cols, offset = [], 0
        for (_, units, inner), (_, old_units, _) in zip(axes[inputs[node]], old_axes[inputs[node]]):
            cols.append(offset + torch.arange(old_units * inner))
            offset += units * inner
        cols = torch.cat(cols)
        if old.dim() > 1:  # a conv or linear weight: old rows x old columns
            new[torch.arange(old.shape[0])[:, None], cols] = old
        elif node in norms:
            new[cols] = old  # normalisation: along its input axis
        else:
            new[: len(old)] = old  # a bias: the old units
        params[key] = new
    return Net(student.spec, params)


@dataclass
class Run:
    name: str
    accuracy: list[float] = field(default_factory=list)  # before training, then after each epoch
    seconds: list[float] = field(default_factory=list)  # cumulative training seconds at each entry

    def first_epoch_reaching(self, level: float) -> int | None:
        return next((e for e, a in enumerate(self.accuracy) if a >= level), None)


def train_run(
    name: str, net: Net, data: TaskData, recipe: Training, log: Callable[[str], None], device: str = "cpu"
) -> tuple[Run, Net]:
    run = Run(name, [evaluate(logits_of(net.spec, net.as_module()), data.x_test, data.y_test)["accuracy"]], [0.0])
    start = time.perf_counter()

    def on_epoch(row: dict) -> None:
        run.accuracy.append(row["test_accuracy"])
        run.seconds.append(time.perf_counter() - start)
        log(f"{name}: epoch {row['epoch']} test accuracy {row['test_accuracy']:.4f}")

    result = fit(net, data, recipe, device, on_epoch=on_epoch)
    return run, result.net


class Net2NetConfig(RecipeConfig):
    dataset: str = "fashion-mnist"
    train_size: int = Field(20_000, ge=10, description="training images (a seeded subset)")
    teacher_epochs: PositiveInt = 3
    student_epochs: PositiveInt = 5
    lr: PositiveFloat = 1e-3  # the teacher's Adam rate
    student_lr: PositiveFloat = 3e-4
    teacher: Literal["cnn", "inception-small"] = "cnn"
    width: PositiveInt = 8  # the cnn teacher's first conv
    narrow: PositiveFloat = Field(0.3**0.5, le=1)  # the inception teacher's channels per branch, x standard
    noise: NonNegativeFloat = 0.0  # Net2WiderNet's symmetry-breaking noise (x each reader's weight std)
    target_gain: float = 0.01  # "target" accuracy = teacher's + this
    seed: int = Field(0, ge=0)
    seeds: PositiveInt = 1  # runs with seeds seed, seed + 1, ...; curves reported as mean and std


def run(config: Net2NetConfig, out: str | Path, device: str = "cpu", log: Callable[[str], None] = print) -> dict:
    """Train the teacher, grow it, train every student (for every seed); write results.json and net2net.png."""
    out = Path(out)
    each = []
    for k in range(config.seeds):
        with seeded(config.seed + k):  # the caller's random state is left alone
            each.append(_run(config.model_copy(update={"seed": config.seed + k, "seeds": 1}), device, log))
    results = each[0] if len(each) == 1 else summarise(each)
    results["config"] |= {"teacher": config.teacher, "noise": config.noise, "seeds": config.seeds}
    results["kind"] = "net2net"
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "results.json", results)
    plot(results, out / "net2net.png")
    return results


def summarise(each: list[dict]) -> dict:
    """Several seeds' results as one: every accuracy curve and scalar as its mean, with `*_std` beside it."""
    first = each[0]

    def mean_std(values) -> tuple:
        a = np.asarray(values, dtype=float)
        return a.mean(0).tolist(), a.std(0).tolist()

    out: dict = {}
    out["teacher_accuracy"], out["teacher_accuracy_std"] = mean_std([r["teacher_accuracy"] for r in each])
    out["target"] = float(np.mean([r["target"] for r in each]))
    out["growths"] = {}
    for growth, g in first["growths"].items():
        runs = {}
        for label in g["runs"]:
            rs = [r["growths"][growth]["runs"][label] for r in each]
            acc, std = mean_std([r["accuracy"] for r in rs])
            runs[label] = {"accuracy": acc, "accuracy_std": std, "seeds": [r["accuracy"] for r in rs]}
            for key in ("epochs_to_teacher", "epochs_to_target", "seconds_to_target"):
                runs[label][key] = [r[key] for r in rs]
        out["growths"][growth] = {"params": g["params"], "runs": runs}
    out["config"] = dict(first["config"])
    out["per_seed"] = each
    return out


def _teacher(c: Net2NetConfig, data: TaskData) -> Net:
    if c.teacher == "inception-small":
        return init_net(inception_small(data.input_shape, data.num_classes, width=c.narrow), c.seed)
    return init_net(teacher_spec(data.input_shape, data.num_classes, c.width), c.seed)


def _grown(c: Net2NetConfig, teacher: Net) -> dict[str, Net]:
    """{"wider": the Net2WiderNet student, "deeper": the Net2DeeperNet student}."""
    spec = teacher.spec
    if isinstance(spec, GraphSpec):  # the inception teacher: every group to the standard network's width
        standard = inception_small(spec.input_shape, spec.output_shape[0])
        _, groups, makes = unit_groups(standard)
        wide = teacher
        for k, node in enumerate(widenable(spec)):
            width = groups.size[groups.find(makes[node])]
            wide = wider(wide, node, width, noise=c.noise, seed=c.seed + k) if width > _size(wide, node) else wide
        deep = teacher
        for block in ("inc0", "inc1"):  # a residual 3x3 conv branch after each block's 3x3 branch
            deep = deeper(deep, after=f"{block}_3x3_relu")
        return {"wider": wide, "deeper": deep}
    convs = [i for i in spec.parametric_layers() if isinstance(spec.layers[i], Conv2d)]
    hidden_dense = [i for i in spec.parametric_layers()[:-1] if isinstance(spec.layers[i], Linear)]
    return {
        "wider": widen_all(teacher, 2.0, noise=c.noise, seed=c.seed),
        "deeper": deeper(deeper(teacher, after=hidden_dense[-1]), after=convs[-1]),
    }


def _size(net: Net, node: str) -> int:
    _, groups, makes = unit_groups(net.spec)
    return groups.size[groups.find(makes[node])]


def _run(config: Net2NetConfig, device: str, log: Callable[[str], None]) -> dict:
    c = config
    data = load(c.dataset).subset(c.train_size, c.seed)
    teacher_run, teacher = train_run(
        "teacher", _teacher(c, data), data, Training(epochs=c.teacher_epochs, lr=c.lr, batch_size=128, seed=c.seed),
        log, device,
    )  # fmt: skip
    teacher_acc = teacher_run.accuracy[-1]
    target = teacher_acc + c.target_gain
    recipe = Training(epochs=c.student_epochs, lr=c.student_lr, batch_size=128, seed=c.seed + 1)
    results = {"teacher": asdict(teacher_run), "teacher_accuracy": teacher_acc, "target": target, "growths": {}}
    for growth, grown in _grown(c, teacher).items():
        pad = graph_random_pad if isinstance(grown.spec, GraphSpec) else random_pad
        starts = {
            "Net2Net": grown,
            "random init": init_net(grown.spec, c.seed + 7),
            "random pad": pad(teacher, grown, c.seed + 7),
        }
        runs = {}
        for label, net in starts.items():
            run, _ = train_run(f"{growth} / {label}", net, data, recipe, log, device)
            runs[label] = asdict(run) | {
                "epochs_to_teacher": run.first_epoch_reaching(teacher_acc),
                "epochs_to_target": run.first_epoch_reaching(target),
                "seconds_to_target": _seconds_at(run, run.first_epoch_reaching(target)),
            }
        results["growths"][growth] = {"params": grown.num_params(), "runs": runs}
    results["config"] = {
        "dataset": c.dataset, "train_size": len(data.x_train), "test_size": len(data.x_test),
        "teacher_epochs": c.teacher_epochs, "student_epochs": c.student_epochs, "lr": c.lr, "student_lr": c.student_lr,
        "teacher_params": teacher.num_params(), "seed": c.seed,
    }  # fmt: skip
    return results


def _seconds_at(run: Run, epoch: int | None) -> float | None:
    return None if epoch is None else run.seconds[epoch]


def results_table(results: dict) -> str:
    """Markdown: one row per (growth, start); with several seeds, mean ± std and each seed's epochs."""
    seeds = results["config"].get("seeds", 1)
    teacher = _pm(results["teacher_accuracy"], results.get("teacher_accuracy_std"))
    lines = [
        f"teacher: {results['config']['teacher_params']:,} parameters, test accuracy {teacher}; target "
        f"{results['target']:.4f}" + (f" (mean of {seeds} seeds)" if seeds > 1 else ""),
        "",
        "| growth | start | params | acc. before training | after 1 epoch | final | epochs to teacher | "
        "epochs to target | seconds to target |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for growth, g in results["growths"].items():
        for label, r in g["runs"].items():
            acc, std = r["accuracy"], r.get("accuracy_std") or [None] * len(r["accuracy"])
            secs = [s for s in _listed(r["seconds_to_target"]) if s is not None]
            secs = "—" if not secs else f"{np.mean(secs):.0f}"
            lines.append(
                f"| {growth} | {label} | {g['params']:,} | {_pm(acc[0], std[0])} | {_pm(acc[1], std[1])} | "
                f"{_pm(acc[-1], std[-1])} | {_epochs(r['epochs_to_teacher'])} | {_epochs(r['epochs_to_target'])} | "
                f"{secs} |"
            )
    return "\n".join(lines)


def _pm(mean: float, std: float | None) -> str:
    return f"{mean:.4f}" if std is None else f"{mean:.4f} ± {std:.4f}"


def _listed(value) -> list:
    return value if isinstance(value, list) else [value]


def _epochs(e) -> str:
    """One seed's epoch, or every seed's, comma-separated ("—": not reached)."""
    if not isinstance(e, list):
        return "not reached" if e is None else str(e)
    return ", ".join("—" if x is None else str(x) for x in e)


def plot(results: dict, path: Path) -> Path:
    from weightspace.report import plt, save_figure

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
    colours = {"Net2Net": "#c03d3e", "random init": "#4878a8", "random pad": "#7a9a50"}
    for ax, (growth, g) in zip(axes, results["growths"].items()):
        for label, r in g["runs"].items():
            epochs = np.arange(len(r["accuracy"]))
            ax.plot(epochs, r["accuracy"], marker="o", label=label, color=colours[label])
            if r.get("accuracy_std"):
                mean, std = np.asarray(r["accuracy"]), np.asarray(r["accuracy_std"])
                ax.fill_between(epochs, mean - std, mean + std, color=colours[label], alpha=0.2, lw=0)
        ax.axhline(results["teacher_accuracy"], ls="--", color="grey", lw=1, label="teacher")
        ax.axhline(results["target"], ls=":", color="black", lw=1, label="target")
        ax.set_title(f"{growth} student ({g['params']:,} params)")
        ax.set_xlabel("student epochs")
    axes[0].set_ylabel("test accuracy")
    low = min(min(r["accuracy"][1:]) for g in results["growths"].values() for r in g["runs"].values())
    axes[0].set_ylim(max(0.0, low - 0.02), None)
    axes[1].legend(loc="lower right")
    return save_figure(fig, path)
