"""`weightspace report`: one self-contained HTML page for a zoo (and the results beside it), a Net2Net experiment,
a SWAT bench folder, or a trained zoo generator."""

from __future__ import annotations

from pathlib import Path

import typer

from weightspace.cli.app import app, console


@app.command()
def report(
    path: Path = typer.Argument(..., help="a zoo directory, a Net2Net or SWAT bench results folder, or a generator"),
    out: Path = typer.Option(None, "--out", dir_okay=False, help="the HTML file (default PATH/report.html)"),
    verify: bool = typer.Option(True, help="zoos: run `zoo verify` and show its result (reads every byte)"),
) -> None:
    """Write a report page: for a zoo, provenance, metrics, curves, weights per layer, best and worst networks and
    the classify / encoder / embedding results beside it. Opens offline in any browser."""
    from weightspace.fileio import write_text_atomic
    from weightspace.report import kind_of, render_run, write_report

    if kind_of(path) == "zoo":
        written = write_report(path, out, verify, console)
    else:
        page = render_run(path)
        written = out or (path / "report.html" if path.is_dir() else path.with_suffix(".report.html"))
        write_text_atomic(written, page)
    console.print(f"report: {written} ({Path(written).stat().st_size / 1e6:.2f} MB)")
