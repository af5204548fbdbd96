"""Progress for long work: a rich bar on a terminal; elsewhere (nohup, CI, a notebook, a pipe) one plain status line
every few seconds with the count, rate and ETA, so a log shows the run is alive."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

__all__ = ["StatusLines", "progress_bar"]


def progress_bar(console: Console | None = None, unit: str = "", transient: bool = False, every: float = 5.0):
    """A rich Progress on a terminal; `StatusLines` (same calls: add_task, update, advance) otherwise."""
    console = console or Console()
    if not console.is_terminal:
        return StatusLines(console, unit, every)
    columns = (
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn(unit),
        TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
    )  # fmt: skip
    return Progress(*columns, console=console, transient=transient)


class StatusLines:
    """The subset of rich.progress.Progress weightspace uses, printing a line at most every `every` seconds (and
    once at the end of each task)."""

    def __init__(self, console: Console, unit: str = "", every: float = 5.0):
        self.console, self.unit, self.every = console, unit, every
        self.tasks: dict[int, dict[str, Any]] = {}

    def __enter__(self) -> StatusLines:
        return self

    def __exit__(self, *exc) -> None:
        for task_id in self.tasks:
            self._line(task_id, final=True)

    def add_task(self, description: str, total: float | None = None, completed: float = 0, **fields: Any) -> int:
        task_id = len(self.tasks)
        now = time.monotonic()
        self.tasks[task_id] = {"description": description, "total": total, "completed": completed, "start": now,
                               "start_count": completed, "last": now, "done": False}  # fmt: skip
        if completed:
            self.console.print(f"{description}: resuming, {completed:g} already done", highlight=False)
        return task_id

    def update(self, task_id: int, advance: float = 0, **changes: Any) -> None:
        task = self.tasks[task_id]
        task["completed"] = changes.pop("completed", task["completed"]) + advance
        for key in ("description", "total"):
            if key in changes:
                task[key] = changes[key]
        if time.monotonic() - task["last"] >= self.every:
            self._line(task_id)

    def advance(self, task_id: int, advance: float = 1) -> None:
        self.update(task_id, advance=advance)

    def _line(self, task_id: int, final: bool = False) -> None:
        task = self.tasks[task_id]
        if task["done"]:
            return
        now = time.monotonic()
        task["last"], task["done"] = now, final
        done, total = task["completed"], task["total"]
        rate = (done - task["start_count"]) / max(now - task["start"], 1e-9)
        text = f"{task['description']}: {done:g}" + (f"/{total:g}" if total else "") + f" {self.unit}".rstrip()
        text += f", {rate:.2f}/s"
        if total and rate > 0 and not final:
            text += f", ETA {time.strftime('%H:%M:%S', time.gmtime((total - done) / rate))}"
        self.console.print(text, highlight=False)
