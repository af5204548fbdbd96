"""Every recipe by name: its config class (the one source of its defaults) and its run function, imported only
when asked for, so `weightspace run` starts fast."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from weightspace.errors import WeightspaceError
from weightspace.fileio import read_yaml_mapping


@dataclass(frozen=True)
class Recipe:
    """A named experiment: its config class (the one source of its settings' defaults) and its run function,
    both names of the `weightspace.recipes` face."""

    name: str
    config: str
    run: str
    summary: str

    def config_class(self) -> type[BaseModel]:
        """The pydantic class of its settings."""
        return getattr(importlib.import_module("weightspace.recipes"), self.config)

    def runner(self) -> Callable[..., Any]:
        """Its run function: `run(config, out, device)`."""
        return getattr(importlib.import_module("weightspace.recipes"), self.run)


RECIPES = {
    r.name: r
    for r in [
        Recipe("demo", "DemoConfig", "run_demo", "the digits LeNet-5 demo zoo, end to end"),
        Recipe("zoo", "ZooConfig", "run_zoo", "generate a model zoo"),
        Recipe("encoder", "EncoderTrainingConfig", "run_encoder", "train an encoder on a zoo"),
        Recipe("net2net", "Net2NetConfig", "run_net2net", "the Net2Net experiment"),
        Recipe("static-hyper", "StaticHyperConfig", "run_static_hyper",
               "Ha et al.'s static hypernetwork against ordinary weights"),
        Recipe("language-model", "LanguageModelConfig", "run_language_model",
               "a character language model: LSTM, layer-norm LSTM or HyperLSTM"),
        Recipe("zoo-generator", "GeneratorTrainingConfig", "run_zoo_generator",
               "a generator of whole networks trained on a zoo"),
        Recipe("swat-autoencoder", "AutoencoderConfig", "run_autoencoder", "SWAT-NN's autoencoder of random MLPs"),
        Recipe("swat-search", "SearchRunConfig", "run_search", "SWAT-NN's latent search on one task"),
        Recipe("swat-bench", "SwatBenchConfig", "run_swat_bench", "SWAT-NN and its baselines on the 54 CORNN tasks"),
    ]
}  # fmt: skip


def recipe(name: str) -> Recipe:
    """The recipe called `name`; one error listing the names otherwise."""
    if name not in RECIPES:
        raise WeightspaceError(f"no recipe {name!r}; recipes: {', '.join(RECIPES)}")
    return RECIPES[name]


def recipe_config(name: str, path: str | Path | None = None, overrides: list[str] = ()) -> BaseModel:
    """A recipe's config: the class's defaults, then the YAML file, then `key=value` overrides (dotted keys reach
    into nested settings, values are read as YAML)."""
    data = read_yaml_mapping(path, f"{name} config") if path else {}
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise WeightspaceError(f"override {item!r} is not KEY=VALUE (e.g. epochs=3 or training.lr=0.01)")
        *parents, leaf = key.split(".")
        node = data
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise WeightspaceError(f"override {item!r}: {part} is not a group of settings")
        try:
            node[leaf] = yaml.safe_load(text)
        except yaml.YAMLError:
            raise WeightspaceError(f"override {item!r}: its value is not valid YAML") from None
    config = recipe(name).config_class().model_validate(data)
    return config.check() if hasattr(config, "check") else config
