"""The Net2Net experiment at laptop scale: does a grown student learn faster than the same network started afresh?

A narrow teacher CNN is trained on Fashion-MNIST, then grown two ways (2x wider; one conv and one dense layer
deeper). Each grown architecture is trained on from three starts: the Net2Net student (same function as the
teacher), random initialisation, and "random pad" (teacher weights kept, new units or layers random). Every run
records test accuracy before training and after each epoch, with wall-clock seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from pydantic import Field, PositiveFloat, PositiveInt

from weightspace.data import TaskData, load
from weightspace.fileio import write_json
from weightspace.grow.deeper import deeper
from weightspace.grow.wider import widen_all
from weightspace.nets import Activation, ArchSpec, Conv2d, Flatten, Linear, Net, Pool2d
from weightspace.nets.init import init_net
from weightspace.recipes.base import RecipeConfig
from weightspace.seeding import seeded
from weightspace.train import Recipe, evaluate, fit, logits_of


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


@dataclass
class Run:
    name: str
    accuracy: list[float] = field(default_factory=list)  # before training, then after each epoch
    seconds: list[float] = field(default_factory=list)  # cumulative training seconds at each entry

    def first_epoch_reaching(self, level: float) -> int | None:
        return next((e for e, a in enumerate(self.accuracy) if a >= level), None)


def train_run(
    name: str, net: Net, data: TaskData, recipe: Recipe, log: Callable[[str], None], device: str = "cpu"
) -> tuple[Run, Net]:
    run = Run(name, [evaluate(logits_of(net.spec, net.as_module()), data.x_test, data.y_test)["accuracy"]], [0.0])
    start = time.perf_counter()

    def on_epoch(row: dict) -> None:
        run.accuracy.append(row["test_accuracy"])
        run.seconds.append(time.perf_counter() - start)
        log(f"{name}: epoch {row['epoch']} test accuracy {row['test_accuracy']:.4f}")

    result = fit(net, data, recipe, device, on_epoch=on_epoch)
    return run, result.net


def subset(data: TaskData, n: int, seed: int) -> TaskData:
    if n >= len(data.x_train):
        return data
    keep = torch.randperm(len(data.x_train), generator=torch.Generator().manual_seed(seed))[:n]
    return data.replace(x_train=data.x_train[keep], y_train=data.y_train[keep])


class Net2NetConfig(RecipeConfig):
    dataset: str = "fashion-mnist"
    train_size: int = Field(20_000, ge=10, description="training images (a seeded subset)")
    teacher_epochs: PositiveInt = 3
    student_epochs: PositiveInt = 5
    lr: PositiveFloat = 1e-3  # the teacher's Adam rate
    student_lr: PositiveFloat = 3e-4
    width: PositiveInt = 8
    target_gain: float = 0.01  # "target" accuracy = teacher's + this
    seed: int = Field(0, ge=0)


def run(config: Net2NetConfig, out: str | Path, device: str = "cpu", log: Callable[[str], None] = print) -> dict:
    """Train the teacher, grow it, train every student; write results.json and net2net.png into `out`."""
    with seeded(config.seed):  # the caller's random state is left alone
        return _run(config, Path(out), device, log)


def _run(config: Net2NetConfig, out: Path, device: str, log: Callable[[str], None]) -> dict:
    c = config
    data = subset(load(c.dataset), c.train_size, c.seed)
    teacher_run, teacher = train_run(
        "teacher", init_net(teacher_spec(data.input_shape, data.num_classes, c.width), c.seed), data,
        Recipe(epochs=c.teacher_epochs, lr=c.lr, batch_size=128, seed=c.seed), log, device,
    )  # fmt: skip
    teacher_acc = teacher_run.accuracy[-1]
    target = teacher_acc + c.target_gain
    spec = teacher.spec
    convs = [i for i in spec.parametric_layers() if isinstance(spec.layers[i], Conv2d)]
    hidden_dense = [i for i in spec.parametric_layers()[:-1] if isinstance(spec.layers[i], Linear)]
    wide = widen_all(teacher, 2.0, noise=0.0, seed=c.seed)
    deep = deeper(deeper(teacher, after=hidden_dense[-1]), after=convs[-1])
    recipe = Recipe(epochs=c.student_epochs, lr=c.student_lr, batch_size=128, seed=c.seed + 1)
    results = {"teacher": asdict(teacher_run), "teacher_accuracy": teacher_acc, "target": target, "growths": {}}
    for growth, grown in (("wider", wide), ("deeper", deep)):
        starts = {
            "Net2Net": grown,
            "random init": init_net(grown.spec, c.seed + 7),
            "random pad": random_pad(teacher, grown, c.seed + 7),
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
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "results.json", results)
    plot(results, out / "net2net.png")
    return results


def _seconds_at(run: Run, epoch: int | None) -> float | None:
    return None if epoch is None else run.seconds[epoch]


def results_table(results: dict) -> str:
    """Markdown: one row per (growth, start)."""
    lines = [
        f"teacher: {results['config']['teacher_params']:,} parameters, test accuracy {results['teacher_accuracy']:.4f};"
        f" target {results['target']:.4f}",
        "",
        "| growth | start | params | acc. before training | after 1 epoch | final | epochs to teacher | "
        "epochs to target | seconds to target |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for growth, g in results["growths"].items():
        for label, r in g["runs"].items():
            secs = "—" if r["seconds_to_target"] is None else f"{r['seconds_to_target']:.0f}"
            lines.append(
                f"| {growth} | {label} | {g['params']:,} | {r['accuracy'][0]:.4f} | {r['accuracy'][1]:.4f} | "
                f"{r['accuracy'][-1]:.4f} | {_epochs(r['epochs_to_teacher'])} | {_epochs(r['epochs_to_target'])} | "
                f"{secs} |"
            )
    return "\n".join(lines)


def _epochs(e: int | None) -> str:
    return "not reached" if e is None else str(e)


def plot(results: dict, path: Path) -> Path:
    from weightspace.report.plots import plt, save_figure

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
    colours = {"Net2Net": "#c03d3e", "random init": "#4878a8", "random pad": "#7a9a50"}
    for ax, (growth, g) in zip(axes, results["growths"].items()):
        for label, r in g["runs"].items():
            ax.plot(range(len(r["accuracy"])), r["accuracy"], marker="o", label=label, color=colours[label])
        ax.axhline(results["teacher_accuracy"], ls="--", color="grey", lw=1, label="teacher")
        ax.axhline(results["target"], ls=":", color="black", lw=1, label="target")
        ax.set_title(f"{growth} student ({g['params']:,} params)")
        ax.set_xlabel("student epochs")
    axes[0].set_ylabel("test accuracy")
    low = min(min(r["accuracy"][1:]) for g in results["growths"].values() for r in g["runs"].values())
    axes[0].set_ylim(max(0.0, low - 0.02), None)
    axes[1].legend(loc="lower right")
    return save_figure(fig, path)
