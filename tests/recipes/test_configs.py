"""Every recipe's config loads from YAML and round-trips; a typo in a field is refused, not ignored."""

import pytest
from pydantic import ValidationError

from weightspace.recipes import (
    AutoencoderConfig,
    DemoConfig,
    EncoderTrainingConfig,
    GeneratorTrainingConfig,
    LanguageModelConfig,
    Net2NetConfig,
    SearchRunConfig,
    StaticHyperConfig,
    SwatBenchConfig,
)

CONFIGS = [
    DemoConfig(per_task=2),
    Net2NetConfig(dataset="digits", train_size=400),
    StaticHyperConfig(epochs=1),
    LanguageModelConfig(kind="lstm"),
    EncoderTrainingConfig(zoo="z", encoder={"kind": "statnn", "target": "test_accuracy"}),
    GeneratorTrainingConfig(zoo="z"),
    AutoencoderConfig(),
    SearchRunConfig(task="cornn:ackley"),
    SwatBenchConfig(depths=[1]),
]


@pytest.mark.parametrize("config", CONFIGS, ids=[type(c).__name__ for c in CONFIGS])
def test_recipe_configs_round_trip_through_yaml(config, tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(config.to_yaml())
    assert type(config).from_yaml(path) == config
    path.write_text(config.to_yaml() + "epochz: 3\n")
    with pytest.raises(ValidationError, match="epochz"):
        type(config).from_yaml(path)
