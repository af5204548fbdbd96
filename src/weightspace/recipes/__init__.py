"""Recipes: the experiments, one file each, built from the components below them.

Each recipe has a pydantic config, the one source of its defaults, and `run(config, out, device)`, which writes its
results into `out` and returns them. `weightspace run NAME --config FILE.yaml [key=value ...]` runs any of them;
`configs/` holds the config behind each published table. The CLI's other commands and the benchmarks are thin
callers of these.
"""

from weightspace.recipes.registry import RECIPES, Recipe, recipe, recipe_config

__all__ = ["RECIPES", "Recipe", "recipe", "recipe_config"]
