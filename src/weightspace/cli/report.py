"""`weightspace report`: one self-contained HTML page for a zoo and the results beside it."""

from __future__ import annotations

from pathlib import Path

import typer

from weightspace.cli import options
from weightspace.cli.app import app, console


@app.command()
def report(
    root: Path = options.zoo_dir("a zoo directory (generated or imported)"),
    out: Path = typer.Option(None, "--out", dir_okay=False, help="the HTML file (default ROOT/report.html)"),
    verify: bool = typer.Option(True, help="run `zoo verify` and show its result (reads every byte)"),
) -> None:
    """Write a zoo's report page: provenance, metrics, curves, weights per layer, best and worst networks, and the
    classify / encoder / embedding results beside it. Opens offline in any browser."""
    from weightspace.report.page import write_report

    path = write_report(root, out, verify, console)
    console.print(f"report: {path} ({path.stat().st_size / 1e6:.2f} MB)")
