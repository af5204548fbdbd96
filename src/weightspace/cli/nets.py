"""`weightspace nets`: architectures and single networks."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from weightspace.cli import options
from weightspace.cli.app import console, nets_app
from weightspace.errors import WeightspaceError


@nets_app.command("presets")
def nets_presets() -> None:
    """List the preset architectures with their parameter counts."""
    from weightspace.nets import ARCH_PRESETS

    table = Table(title="presets")
    for col in ("name", "input", "output", "parameters", "about"):
        table.add_column(col)
    for name, make in ARCH_PRESETS.items():
        spec = make()
        about = (make.__doc__ or "").strip().splitlines()[0] if make.__doc__ else "mlp(input, widths, outputs)"
        table.add_row(name, str(list(spec.input_shape)), str(list(spec.output_shape)), f"{spec.num_params():,}", about)
    console.print(table)


@nets_app.command("show")
def nets_show(
    name: str = typer.Argument(
        ..., help="a preset name (graphs too: resnet, wrn, inception-small, vit-tiny), a spec .json, or a .safetensors"
    ),
    as_json: bool = typer.Option(False, "--json", help="print the spec as JSON"),
    plot: Path = options.image_file(None, "also draw the architecture (branches and sums show) to this picture"),
) -> None:
    """Show an architecture node by node (or as JSON), and draw it."""
    from weightspace.nets import Net, resolve_spec
    from weightspace.report import spec_table

    path = Path(name)
    if path.suffix == ".safetensors" and not path.is_file():
        raise WeightspaceError(f"{path} is not a file; give a preset name, a spec .json or a network .safetensors")
    spec = Net.load(path).spec if path.suffix == ".safetensors" else resolve_spec(name)
    if as_json:
        console.print_json(spec.to_json())
        return
    console.print(spec_table(spec))
    if plot:
        from weightspace.report import architecture_figure, save_figure

        console.print(f"drew {save_figure(architecture_figure(spec), plot)}")
