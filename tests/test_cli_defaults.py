"""The config class is the one source of a recipe's defaults: every CLI option named like a config field has
that field's default."""

from __future__ import annotations

import pytest
import typer
from pydantic import BaseModel

from weightspace.cli import app


def fields(config: type[BaseModel]) -> dict[str, object]:
    """Every field's default, nested configs' fields included (by their own names)."""
    out = {}
    for name, field in config.model_fields.items():
        kind = field.annotation
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            out |= fields(kind)
        elif not field.is_required():
            out[name] = field.get_default(call_default_factory=True)
    return out


def command(path: str):
    node = typer.main.get_command(app)
    for part in path.split():
        node = node.commands[part]
    return node


def configs():
    from weightspace.encode import EncoderConfig, FitConfig
    from weightspace.hyper import LMTraining
    from weightspace.recipes import recipe
    from weightspace.swat import AEConfig, AETraining

    return [
        ("demo", [recipe("demo").config_class()]),
        ("encode train", [FitConfig, EncoderConfig]),
        ("grow experiment", [recipe("net2net").config_class()]),
        ("hyper train static", [recipe("static-hyper").config_class()]),
        ("hyper train lstm", [recipe("language-model").config_class(), LMTraining]),
        ("swat train autoencoder", [AEConfig, AETraining]),
    ]


@pytest.mark.parametrize("path", [p for p, _ in configs()])
def test_cli_defaults_are_the_config_defaults(path):
    defaults = {}
    for config in dict(configs())[path]:
        defaults |= fields(config)
    drift = []
    for param in command(path).params:
        if param.name in defaults and param.default is not None and param.default != defaults[param.name]:
            drift.append(f"--{param.name}: CLI {param.default!r}, config {defaults[param.name]!r}")
    assert drift == []


def test_a_recipe_config_mirroring_a_model_config_keeps_its_defaults():
    from weightspace.hyper import LMConfig
    from weightspace.recipes import LanguageModelConfig

    model, recipe = fields(LMConfig), fields(LanguageModelConfig)
    assert {k: recipe[k] for k in model if k in recipe} == {k: model[k] for k in model if k in recipe}
