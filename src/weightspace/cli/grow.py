"""`weightspace grow`: Net2Net wider / deeper, and the Net2Net experiment."""

from __future__ import annotations

from pathlib import Path

import typer

from weightspace.cli import options
from weightspace.cli.app import console, grow_app
from weightspace.errors import WeightspaceError
from weightspace.limits import MAX_UNITS


def _report_growth(net, grown, out: Path) -> None:
    from weightspace.grow import output_gap, probe_inputs
    from weightspace.report import spec_table

    grown.save(out)
    gap = output_gap(net, grown, probe_inputs(net.spec))
    console.print(f"{net.num_params():,} -> {grown.num_params():,} parameters; relative output change {gap:.2e}")
    if gap > 1e-3:
        console.print(
            f"[yellow]warning:[/yellow] the grown network's outputs differ by {gap:.1%} on probe inputs: it is not the "
            "same function (an --approximate identity or symmetry-breaking --noise)",
            highlight=False,
        )
    console.print(spec_table(grown.spec))
    console.print(f"saved {out}")


def _place(net, text: str, flag: str) -> int | str:
    """A layer index for a chain, a node name for a graph."""
    from weightspace.nets import GraphSpec

    if isinstance(net.spec, GraphSpec):
        return text
    if not (text.isdigit() and len(text) <= 6):
        raise WeightspaceError(f"{flag} must be a layer index (0, 1, ...) for this chain of layers, not {text[:40]!r}")
    return int(text)


@grow_app.command("wider")
def grow_wider(
    source: Path = typer.Argument(..., exists=True, help="a network .safetensors file or a zoo directory"),
    layer: str = typer.Option(
        ..., help="the hidden linear/conv layer to widen: its index in a chain, its node in a graph (see `nets show`)"
    ),  # fmt: skip
    width: int = options.count(..., "its new number of units or channels", 1, MAX_UNITS),
    out: Path = options.out_file(..., "where the grown network is saved (.safetensors)"),
    model: int = options.count(None, "row of the zoo table, when SOURCE is a zoo", 0),
    noise: float = options.real(0.0, "symmetry-breaking noise, as a fraction of the weights' std", low=0),
    seed: int = options.seed(0, "seed of the replication mapping and the noise"),
) -> None:
    """Net2WiderNet: more units in one layer, the same function."""
    from weightspace.grow import wider
    from weightspace.zoo import load_net

    net = load_net(source, model)
    _report_growth(net, wider(net, _place(net, layer, "--layer"), width, noise=noise, seed=seed), out)


@grow_app.command("deeper")
def grow_deeper(
    source: Path = typer.Argument(..., exists=True, help="a network .safetensors file or a zoo directory"),
    after: str = typer.Option(
        ...,
        help="where the new layer goes: after this linear/conv layer's index in a chain, after this node in a graph",
    ),  # fmt: skip
    out: Path = options.out_file(..., "where the grown network is saved (.safetensors)"),
    model: int = options.count(None, "row of the zoo table, when SOURCE is a zoo", 0),
    kernel_size: int = options.count(3, "kernel of an inserted conv layer (odd)"),
    approximate: bool = typer.Option(False, help="allow activations that make the identity inexact (tanh, ...)"),
) -> None:
    """Net2DeeperNet: an identity-initialised layer, the same function (ReLU) or close to it (--approximate)."""
    import warnings

    from weightspace.grow import deeper
    from weightspace.zoo import load_net

    net = load_net(source, model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the gap is printed below
        grown = deeper(net, after=_place(net, after, "--after"), kernel_size=kernel_size, approximate=approximate)
    _report_growth(net, grown, out)


@grow_app.command("experiment")
def grow_experiment(
    out: Path = options.out_dir(Path("runs/net2net"), "results.json and net2net.png go here"),
    dataset: str = typer.Option("fashion-mnist", help="an image dataset name"),
    train_size: int = options.count(20_000, "training images (a seeded subset; all: 60000)", 10),
    teacher_epochs: int = options.count(3, "teacher epochs"),
    student_epochs: int = options.count(5, "student epochs"),
    student_lr: float = options.real(3e-4, "Adam learning rate of every student (teacher: 1e-3)", above=0),
    teacher: str = typer.Option(
        "cnn",
        help="cnn (a small chain CNN, grown 2x) or inception-small (branches x sqrt(0.3), grown to the standard width)",
    ),  # fmt: skip
    noise: float = options.real(0.0, "Net2WiderNet's symmetry-breaking noise (x each reader's weight std)", low=0),
    seeds: int = options.count(1, "seeds (seed, seed + 1, ...): curves as mean and std"),
    seed: int = options.seed(),
    device: str = options.device(),
) -> None:
    """Net2Net vs random init vs random pad, for a wider and a deeper student of a narrow teacher."""
    from weightspace.recipes import Net2NetConfig
    from weightspace.recipes import net2net_table as results_table
    from weightspace.recipes import run_net2net as run

    config = Net2NetConfig(
        dataset=dataset, train_size=train_size, teacher_epochs=teacher_epochs, student_epochs=student_epochs,
        student_lr=student_lr, teacher=teacher, noise=noise, seeds=seeds, seed=seed,
    )  # fmt: skip
    results = run(config, out, device, log=console.print)
    console.print(results_table(results), soft_wrap=True, highlight=False, markup=False)
    console.print(f"plot: {out / 'net2net.png'}")
