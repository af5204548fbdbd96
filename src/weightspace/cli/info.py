"""`weightspace info`: versions, device, and where each dataset was found."""

from __future__ import annotations

import platform

from rich.table import Table

from weightspace.cli.app import app, console
from weightspace.errors import WeightspaceError


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
