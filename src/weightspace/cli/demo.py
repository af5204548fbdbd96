"""`weightspace demo`: the main job on built-in data."""

from __future__ import annotations

import time
from pathlib import Path

from weightspace.cli import options
from weightspace.cli.app import app, console
from weightspace.cli.zoo import metric_table, print_classify


@app.command()
def demo(
    out: Path = options.out_dir(Path("runs/demo"), "where the demo zoo, its plots and its report are written"),
    per_task: int = options.count(10, "networks per digit class (10 classes)"),
    epochs: int = options.count(6, "epochs per network"),
    workers: int = options.count(2, "local worker processes"),
) -> None:
    """Generate the digits LeNet-5 one-vs-rest zoo, summarise it, predict each network's class from its weights, and
    write the zoo's report page."""
    from weightspace.zoo import generate, zoo_preset
    from weightspace.zoo.classify import classify

    config = zoo_preset("digits-lenet5", per_task=per_task)
    config = config.model_copy(update={"recipe": config.recipe.model_copy(update={"epochs": epochs})})
    console.rule(f"generating {config.name}: {10 * per_task} one-vs-rest LeNet-5 detectors")
    start = time.perf_counter()
    zoo = generate(config, out / "zoo", workers=workers, resume=True, console=console)
    console.print(f"{len(zoo)} networks in {time.perf_counter() - start:.0f} s -> {out / 'zoo'}")
    console.print(metric_table(zoo))
    console.rule("which digit does each network detect? (from its weights alone)")
    print_classify(classify(zoo), "task", out / "classify.png")
    from weightspace.report.page import write_report

    console.print(f"report: {write_report(zoo.root, console=console)}")
