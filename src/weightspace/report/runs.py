"""Report pages for the outputs of the other commands: a Net2Net experiment folder, a SWAT bench folder, and a
trained zoo generator (its evaluation). Same page style as a zoo's: self-contained, figures inline."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import numpy as np

from weightspace.errors import WeightspaceError
from weightspace.report.html import COLOURS, figure, page, png_figure, table
from weightspace.report.plots import plt


def kind_of(path: Path) -> str | None:
    """Which command's output `path` is: a zoo (its zoo.json), or the `kind` its results name (net2net, swat-bench,
    static-hyper in FOLDER/results.json; generator in NAME.json); None if neither."""
    path = Path(path)
    if path.is_dir() and (path / "zoo.json").is_file():
        return "zoo"
    record = path / "results.json" if path.is_dir() else path.with_suffix(".json")
    try:
        data = json.loads(record.read_text())
    except (OSError, ValueError):
        return None
    return data.get("kind") if isinstance(data, dict) else None


def _page(title: str, sections: list[tuple[str, str]]) -> str:
    """A page of (title, body) sections, anchors numbered."""
    return page(title, title, "", [(f"s{i}", t, b) for i, (t, b) in enumerate(sections)])


def _image(path: Path, caption: str) -> str:
    return png_figure(path.read_bytes(), caption) if path.is_file() else ""


def _markdown(text: str) -> str:
    """The Markdown the benchmark reports use: paragraphs and pipe tables."""
    out, pending = [], []  # the rows of the pipe table being read
    for line in text.splitlines() + [""]:
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if not all(set(c) <= set("-: ") for c in cells):
                pending.append(cells)
            continue
        if pending:
            out.append(table(pending[0], pending[1:]))
            pending = []
        if line.strip() and not line.startswith("!["):
            out.append(f"<p>{html.escape(line.lstrip('# '))}</p>")
    return "".join(out)


def _last(value: Any) -> Any:
    return value[-1] if isinstance(value, list) and value else value


def net2net_page(folder: Path) -> str:
    data = json.loads((folder / "results.json").read_text())
    sections = [("Setup", table(["", ""], [[k, v] for k, v in data.get("config", {}).items()]
                                 + [["teacher accuracy", data.get("teacher_accuracy")]]))]  # fmt: skip
    for growth, g in data["growths"].items():
        rows = [
            [name, r["accuracy"][-1], r.get("epochs_to_teacher"), r.get("seconds")] for name, r in g["runs"].items()
        ]
        body = table(["student", "final accuracy", "epochs to teacher", "seconds"], rows)
        fig, ax = plt.subplots(figsize=(5.2, 3.0))
        for i, (name, r) in enumerate(g["runs"].items()):
            ax.plot(range(len(r["accuracy"])), r["accuracy"], color=COLOURS[i % 10], label=name)
        ax.axhline(data.get("teacher_accuracy", np.nan), color="#999", lw=1, ls="--", label="teacher")
        ax.set_xlabel("student epochs")
        ax.set_ylabel("test accuracy")
        ax.legend(fontsize=7)
        sections.append((f"{growth} student ({g['params']:,} parameters)", body + figure(fig, f"{growth}: accuracy")))
    return _page(f"Net2Net experiment — {folder}", sections)


def swat_page(folder: Path) -> str:
    text = (folder / "README.md").read_text() if (folder / "README.md").is_file() else ""
    results = json.loads((folder / "results.json").read_text())
    sections = [("Results", _markdown(text) or f"<p>{len(results)} stored entries</p>")]
    sections.append(("Test MSE vs non-zero parameters", _image(folder / "mse_vs_nonzero.png", "SWAT and baselines")))
    return _page(f"SWAT-NN bench — {folder}", sections)


def generator_page(path: Path) -> str:
    record = json.loads(path.with_suffix(".json").read_text())
    report: dict[str, Any] = record["report"]
    keys = ("networks", "accuracy", "recall", "auc", "distance_within_task", "distance_to_nearest_train_member")
    rows = [[name] + [r.get(k) for k in keys] for name, r in report.items() if name != "per_task_generated"]
    sections = [("Generated vs zoo members vs random init", table(["networks", *keys], rows))]
    per_task = report.get("per_task_generated", {})
    if per_task:
        rows = [[t, r["accuracy"], r["recall"], r["auc"]] for t, r in per_task.items()]
        sections.append(("Generated networks per task", table(["task", "accuracy", "recall", "auc"], rows)))
    sections.append(("Config", f"<pre>{html.escape(json.dumps(record.get('config', {}), indent=1))}</pre>"))
    return _page(f"zoo generator — {path.with_suffix('')}", sections)


def render_run(path: Path) -> str:
    """The HTML page of a Net2Net experiment folder, a SWAT bench folder or a trained generator."""
    kind = kind_of(path)
    pages = {"net2net": net2net_page, "swat-bench": swat_page, "generator": generator_page}
    if kind not in pages:
        raise WeightspaceError(
            f"{path} is not a zoo, a Net2Net or SWAT bench results folder, or a trained generator; nothing to report"
        )
    return pages[kind](Path(path))
