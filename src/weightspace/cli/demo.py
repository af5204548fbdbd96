"""`weightspace demo`: the main job on built-in data."""

from __future__ import annotations

from pathlib import Path

from weightspace.cli import options
from weightspace.cli.app import app, console
from weightspace.cli.zoo import print_classify


@app.command()
def demo(
    out: Path = options.out_dir(Path("runs/demo"), "where the demo zoo, its plots and its report are written"),
    per_task: int = options.count(10, "networks per digit class (10 classes)"),
    epochs: int = options.count(6, "epochs per network"),
    workers: int = options.count(2, "local worker processes"),
) -> None:
    """Generate the digits LeNet-5 one-vs-rest zoo, summarise it, predict each network's class from its weights, and
    write the zoo's report page."""
    from weightspace.recipes import DemoConfig
    from weightspace.recipes import run_demo as run
    from weightspace.report import metric_table

    config = DemoConfig(per_task=per_task, epochs=epochs, workers=workers)
    console.rule(f"generating digits-lenet5: {10 * per_task} one-vs-rest LeNet-5 detectors")
    result = run(config, out, console=console)
    console.print(f"{len(result.zoo)} networks in {result.seconds:.0f} s -> {out / 'zoo'}")
    console.print(metric_table(result.zoo))
    console.rule("which digit does each network detect? (from its weights alone)")
    print_classify(result.classify, "task", None)
    console.print(f"confusion matrix: {result.confusion_plot}")
    console.print(f"report: {result.report}")
