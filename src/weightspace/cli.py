"""The `weightspace` command. Each sub-command only wires library calls together."""

from __future__ import annotations

import platform
import sys
import time
from pathlib import Path

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from weightspace.errors import WeightspaceError

app = typer.Typer(
    help="weightspace: trained neural networks as data (zoos, encoders, hypernetworks, Net2Net, SWAT-NN).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
nets_app = typer.Typer(help="Architectures and single networks.", no_args_is_help=True)
app.add_typer(nets_app, name="nets")
console = Console()


@app.command()
def info() -> None:
    """Versions, compute device, and which datasets were found on this machine (and where)."""
    import numpy
    import torch

    import weightspace
    from weightspace.data import IMAGE_DATASETS, locate

    table = Table(title="weightspace", show_header=False)
    table.add_row("weightspace", weightspace.__version__)
    table.add_row("python", platform.python_version())
    table.add_row("torch", torch.__version__)
    table.add_row("numpy", numpy.__version__)
    cuda = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "not available"
    table.add_row("device", f"cpu ({torch.get_num_threads()} threads); cuda: {cuda}")
    console.print(table)

    data = Table(title="datasets")
    for col in ("name", "status", "where / how to get it"):
        data.add_column(col)
    for name, desc in IMAGE_DATASETS.items():
        try:
            data.add_row(name, "[green]found", locate(name))
        except WeightspaceError as err:
            data.add_row(name, "[red]missing", f"{desc}\n{str(err).splitlines()[-1]}")
    data.add_row("text", "[green]found", "standard library docs (pydoc_data.topics); or any UTF-8 file")
    console.print(data)


@nets_app.command("presets")
def nets_presets() -> None:
    """List the preset architectures with their parameter counts."""
    from weightspace.nets import PRESETS

    table = Table(title="presets")
    for col in ("name", "input", "output", "parameters", "about"):
        table.add_column(col)
    for name, make in PRESETS.items():
        spec = make()
        about = (make.__doc__ or "").strip().splitlines()[0] if make.__doc__ else "mlp(input, widths, outputs)"
        table.add_row(name, str(list(spec.input_shape)), str(list(spec.output_shape)), f"{spec.num_params():,}", about)
    console.print(table)


@nets_app.command("show")
def nets_show(
    name: str = typer.Argument(..., help="a preset name, a spec .json file, or a saved network .safetensors"),
    as_json: bool = typer.Option(False, "--json", help="print the ArchSpec as JSON"),
) -> None:
    """Show an architecture layer by layer (or as JSON)."""
    from weightspace.nets import ArchSpec, Net, preset

    path = Path(name)
    if path.suffix == ".safetensors":
        spec = Net.load(path).spec
    elif path.suffix == ".json":
        spec = ArchSpec.from_json(path.read_text())
    else:
        spec = preset(name)
    if as_json:
        console.print_json(spec.to_json())
        return
    table = Table(title=f"{spec.name or 'network'}: input {list(spec.input_shape)}, {spec.num_params():,} parameters")
    for col in ("#", "layer", "output", "parameters"):
        table.add_column(col)
    for i, desc, shape, count in spec.describe():
        table.add_row(str(i), desc, str(list(shape)), f"{count:,}" if count else "")
    console.print(table)


@app.command()
def demo(
    epochs: int = typer.Option(8, help="epochs for the demo network"),
    out: Path = typer.Option(Path("runs/demo"), help="where the trained network is written"),
    seed: int = typer.Option(0),
) -> None:
    """Build every preset, train a small CNN on the built-in digits and print a summary."""
    from rich.progress import Progress

    from weightspace.data import load
    from weightspace.nets import PRESETS, Net, small_cnn
    from weightspace.train import Recipe, fit

    console.rule("presets")
    table = Table()
    for col in ("preset", "input", "parameters"):
        table.add_column(col)
    for name, make in PRESETS.items():
        spec = make()
        table.add_row(name, str(list(spec.input_shape)), f"{spec.num_params():,}")
    console.print(table)

    console.rule("training a small CNN on digits")
    data = load("digits")
    console.print(data.summary())
    spec = small_cnn(data.input_shape, padding=1)
    recipe = Recipe(epochs=epochs, lr=1e-2, batch_size=64, seed=seed)
    start = time.perf_counter()
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("epochs", total=epochs)
        result = fit(Net.init(spec, seed, task="digits"), data, recipe, on_epoch=lambda _: progress.advance(task))
    table = Table()
    for col in ("epoch", "train loss", "train acc", "test loss", "test acc"):
        table.add_column(col, justify="right")
    for row in result.history:
        table.add_row(
            str(row["epoch"]),
            f"{row['train_loss']:.4f}",
            f"{row['train_accuracy']:.3f}",
            f"{row['test_loss']:.4f}",
            f"{row['test_accuracy']:.3f}",
        )
    console.print(table)
    final = result.history[-1]
    net = result.net.replace(meta=result.net.meta | {"test_accuracy": final["test_accuracy"]})
    path = net.save(out / "small-cnn-digits.safetensors")
    console.print(
        f"small-cnn ({spec.num_params():,} parameters): test accuracy {final['test_accuracy']:.3f} after "
        f"{epochs} epochs in {time.perf_counter() - start:.1f} s; saved to {path}"
    )


def main() -> None:
    """Entry point: user errors print one clear line instead of a traceback."""
    try:
        app()
    except WeightspaceError as err:
        console.print(f"[red]error:[/red] {err}", highlight=False)
        sys.exit(2)
    except ValidationError as err:
        details = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors())
        console.print(f"[red]invalid {err.title}:[/red] {details}", highlight=False)
        sys.exit(2)


if __name__ == "__main__":
    main()
