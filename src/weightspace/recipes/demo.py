"""The demo: a digits LeNet-5 one-vs-rest zoo, which digit each network detects from its weights, the report page."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from pydantic import PositiveInt
from rich.console import Console

from weightspace.recipes.base import RecipeConfig
from weightspace.report import plot_confusion, write_report
from weightspace.zoo import ClassifyResult, Zoo, beside, classify, generate, write_classify, zoo_preset


class DemoConfig(RecipeConfig):
    per_task: PositiveInt = 10  # networks per digit class (10 classes)
    epochs: PositiveInt = 6
    workers: PositiveInt = 2


@dataclass
class DemoResult:
    zoo: Zoo
    seconds: float
    classify: ClassifyResult
    confusion_plot: Path
    report: Path


def run(config: DemoConfig, out: str | Path, device: str = "cpu", console: Console | None = None) -> DemoResult:
    """OUT/zoo (resumed if there), with classify.json, classify.png and report.html beside it."""
    out = Path(out)
    zoo_config = zoo_preset("digits-lenet5", per_task=config.per_task)
    zoo_config = zoo_config.model_copy(
        update={"training": zoo_config.training.model_copy(update={"epochs": config.epochs})}
    )
    start = time.perf_counter()
    zoo = generate(zoo_config, out / "zoo", workers=config.workers, device=device, resume=True, console=console)
    seconds = time.perf_counter() - start
    result = classify(zoo)
    write_classify(zoo.root, result)
    plot = plot_confusion(result, beside(zoo.root, "classify.png"))
    return DemoResult(zoo, seconds, result, plot, write_report(zoo.root, console=console))
