"""`write_report`: a zoo (and the results beside it) as one self-contained HTML page."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from weightspace.fileio import write_text_atomic
from weightspace.progress import progress_bar
from weightspace.report.html import render
from weightspace.report.summary import zoo_summary
from weightspace.zoo import Zoo, beside


def write_report(root: str | Path, out: str | Path | None = None, check: bool = True, console: Console | None = None):
    """Summarise the zoo at `root` (reading each shard once, with a progress bar) and write the page to `out`
    (default ROOT/report.html). `check` runs `zoo verify` and shows its result."""
    zoo = Zoo.open(root)
    console = console or Console(quiet=True)
    with progress_bar(console, "networks") as progress:
        bar = progress.add_task("reading weights", total=None)
        summary = zoo_summary(zoo, check, lambda done, total: progress.update(bar, completed=done, total=total))
    path = Path(out) if out else beside(zoo.root, "report.html")
    write_text_atomic(path, render(summary))
    return path
