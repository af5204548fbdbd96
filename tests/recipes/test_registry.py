"""`weightspace run`: every recipe by name, its config from the class's defaults, a YAML file and key=value
overrides; the configs behind the published tables load and agree with the settings their results recorded."""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path

import pytest
import yaml

from weightspace.cli import main
from weightspace.errors import WeightspaceError
from weightspace.recipes import RECIPES, recipe, recipe_config

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "configs"
RESULTS = ROOT / "benchmarks" / "results"


@pytest.mark.parametrize("name", list(RECIPES))
def test_every_recipe_has_a_config_class_and_a_run_taking_config_out_device(name):
    r = recipe(name)
    assert r.config_class().__doc__ or r.config_class().model_fields
    params = list(inspect.signature(r.runner()).parameters)
    assert params[:3] == ["config", "out", "device"]


def test_defaults_then_file_then_overrides(tmp_path):
    path = tmp_path / "n2n.yaml"
    path.write_text("teacher_epochs: 2\nstudent_epochs: 4\n")
    config = recipe_config("net2net", path, ["student_epochs=1", "noise=0.05"])
    assert (config.teacher_epochs, config.student_epochs, config.noise) == (2, 1, 0.05)
    assert config.train_size == type(config).model_fields["train_size"].default  # the class's own default
    nested = recipe_config("swat-autoencoder", None, ["training.steps=10", "model.d=16"])
    assert (nested.training.steps, nested.model.d) == (10, 16)


@pytest.mark.parametrize(
    "overrides, message",
    [(["epochs"], "not KEY=VALUE"), (["=3"], "not KEY=VALUE"), (["seed=[1"], "not valid YAML"),
     (["teacher_epochs.x=1"], "not a group")],
)  # fmt: skip
def test_bad_overrides_are_one_clear_error(overrides, message, tmp_path):
    path = tmp_path / "n2n.yaml"
    path.write_text("teacher_epochs: 2\n")
    with pytest.raises(WeightspaceError, match=message):
        recipe_config("net2net", path, overrides)


def test_an_unknown_recipe_lists_the_names():
    with pytest.raises(WeightspaceError, match="recipes: demo, zoo"):
        recipe("nope")


def test_the_command_lists_shows_and_runs(tmp_path, capsys):
    with pytest.raises(SystemExit) as done:
        main(["run"])
    assert done.value.code == 0 and "swat-bench" in capsys.readouterr().out
    with pytest.raises(SystemExit) as done:
        main(["run", "net2net", "seeds=2", "--show"])
    shown = yaml.safe_load(capsys.readouterr().out)
    assert done.value.code == 0 and shown["seeds"] == 2 and shown["teacher"] == "cnn"
    out = tmp_path / "n2n"
    settings = ["dataset=digits", "train_size=300", "teacher_epochs=1", "student_epochs=1", "width=2"]
    with pytest.raises(SystemExit) as done:
        main(["--threads", "1", "run", "net2net", *settings, "--out", str(out)])
    assert done.value.code == 0
    results = json.loads((out / "results.json").read_text())
    assert results["config"]["train_size"] == 300 and (out / "net2net.png").is_file()


def recipe_of(config_file: Path) -> str:
    """The recipe a config is named after: the longest recipe name its file name starts with."""
    names = [n for n in RECIPES if config_file.stem == n or config_file.stem.startswith(n + "-")]
    assert names, config_file
    return max(names, key=len)


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.yaml")), ids=lambda p: p.name)
def test_every_published_config_loads_into_its_recipe_and_is_indexed(path):
    config = recipe_config(recipe_of(path), path)
    assert yaml.safe_load(path.read_text()) == config.model_dump(mode="json")  # complete: nothing left to defaults
    assert f"`{path.name}`" in (CONFIGS / "README.md").read_text()


@pytest.mark.parametrize(
    "config_file, result_file",
    [("net2net-fashion.yaml", "net2net_fashion.json"), ("net2net-inception.yaml", "net2net_inception.json")],
)
def test_the_net2net_configs_are_the_ones_their_results_recorded(config_file, result_file):
    config = yaml.safe_load((CONFIGS / config_file).read_text())
    recorded = json.loads((RESULTS / result_file).read_text())["config"]
    shared = set(config) & set(recorded)
    assert len(shared) >= 6
    assert {k: config[k] for k in shared} == {k: recorded[k] for k in shared}


def test_the_generator_config_is_the_one_its_result_recorded():
    config = yaml.safe_load((CONFIGS / "zoo-generator-digits-lenet5.yaml").read_text())
    recorded = json.loads((RESULTS / "hyper_generator_digits_lenet5.json").read_text())["config"]
    assert config["generator"] == recorded


def test_the_wrn_config_is_the_one_its_result_recorded():
    config = yaml.safe_load((CONFIGS / "static-hyper-wrn-fashion.yaml").read_text())
    rows = json.loads((RESULTS / "hyper_wrn_fashion.json").read_text())["rows"]
    assert {r["seed"] for r in rows if "seed" in r} >= {0, 1, 2} and config["seeds"] == 3
    assert all(
        r["train_size"] == config["train_size"] and r["epochs"] == config["epochs"] for r in rows if "epochs" in r
    )
    assert all(re.fullmatch(rf"wrn{config['depth']}-{config['widen']}", r["network"]) for r in rows if "network" in r)
