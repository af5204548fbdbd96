"""`weightspace run RECIPE`: any experiment from its config file, with `key=value` overrides."""

from __future__ import annotations

from pathlib import Path

import typer

from weightspace.cli import options
from weightspace.cli.app import app, console
from weightspace.errors import WeightspaceError


@app.command()
def run(
    name: str = typer.Argument(None, help="the recipe (none: list them)"),
    overrides: list[str] = typer.Argument(
        None, help="KEY=VALUE settings over the config (dotted keys: training.lr=0.01)"
    ),
    config: Path = typer.Option(None, "--config", exists=True, dir_okay=False, help="a YAML config of the recipe"),
    out: Path = typer.Option(None, "--out", help="where the recipe writes its results"),
    show: bool = typer.Option(False, "--show", help="print the resolved config as YAML and stop"),
    device: str = options.device(),
) -> None:
    """Run a recipe from its config: the config class's defaults, then --config FILE.yaml, then KEY=VALUE."""
    from weightspace.recipes import RECIPES, recipe, recipe_config

    if name is None:
        for r in RECIPES.values():
            console.print(f"{r.name:18} {r.summary}", highlight=False, soft_wrap=True)
        return
    settings = recipe_config(name, config, overrides or [])
    if show:
        import yaml

        print(yaml.safe_dump(settings.model_dump(mode="json"), sort_keys=False), end="")
        return
    if out is None:
        raise WeightspaceError("give --out PATH for the results (or --show to print the config)")
    result = recipe(name).runner()(settings, out, device)
    if isinstance(result, str):
        console.print(result, highlight=False)
    console.print(f"{name}: done -> {out}")
