"""What a zoo is made of: a pydantic config (loads from YAML) and the named presets."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, PositiveInt

from weightspace.data import TaskData, load
from weightspace.errors import WeightspaceError
from weightspace.fileio import read_yaml_mapping
from weightspace.limits import MAX_NETWORKS
from weightspace.nets import ACTIVATIONS, INIT_SCHEMES, preset
from weightspace.nets.graph import Spec
from weightspace.train import Training

_DATA: dict[tuple, TaskData] = {}  # per-process cache: a worker loads its dataset once


class Arch(BaseModel):
    """A zoo's architecture: a preset name and the keyword arguments it is built with."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    preset: str
    kwargs: dict[str, Any] = Field(default_factory=dict)


class Varied(BaseModel):
    """Hyperparameter ranges in the style of Unterthiner et al.: each shard draws one setting from these."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    activation: list[str] = ["relu", "tanh"]
    init: list[str] = ["glorot_uniform", "glorot_normal", "he_normal", "orthogonal", "truncated_normal"]
    optimizer: list[Literal["adam", "sgd"]] = ["adam", "sgd"]
    lr: tuple[float, float] = (5e-4, 5e-2)  # log-uniform
    weight_decay: tuple[float, float] = (1e-8, 1e-2)  # log-uniform; 0 is drawn with probability 1/4
    dropout: list[float] = [0.0, 0.05, 0.15]
    train_fraction: list[float] = [0.1, 0.25, 0.5, 1.0]


class Wild(BaseModel):
    """An architecture distribution in the manner of CNN Wild Park (Kofinas et al. 2024): each shard draws one
    `wild-cnn` (a zoo with shard_size 1 draws one per network). Layer i takes the skip from layer j, or none,
    uniformly over {none, 0, ..., i - 2}, as their sampler does; with probability `batchnorm` every conv is followed
    by batchnorm. Each draw is recorded in its rows (layers, channels, kernels, residual, activations, batchnorm)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    layers: list[PositiveInt] = [2, 3, 4, 5]
    channels: list[PositiveInt] = [4, 8, 16, 32]
    kernels: list[PositiveInt] = [3, 5, 7]
    activations: list[str] = ["relu", "gelu", "tanh", "sigmoid", "leaky_relu", "none"]
    residual: bool = True
    batchnorm: float = Field(0.0, ge=0, le=1)

    def largest(self) -> dict[str, Any]:
        """The costliest architecture the distribution can draw (for time and memory estimates)."""
        n = max(self.layers)
        return {"channels": [max(self.channels)] * n, "kernels": [max(self.kernels)] * n, "residual": [-1] * n,
                "activations": [self.activations[0]] * n, "batchnorm": self.batchnorm > 0}  # fmt: skip

    def draw(self, rng: np.random.Generator) -> dict[str, Any]:
        """One architecture, as the text columns of its shard's rows (`wild_kwargs` reads them back)."""
        n = int(rng.choice(self.layers))
        residual = [int(rng.choice([-1, *range(i - 1)])) if self.residual else -1 for i in range(n)]
        return {
            "layers": n,
            "channels": ",".join(str(int(rng.choice(self.channels))) for _ in range(n)),
            "kernels": ",".join(str(int(rng.choice(self.kernels))) for _ in range(n)),
            "residual": ",".join(map(str, residual)),
            "activations": ",".join(str(rng.choice(self.activations)) for _ in range(n)),
            "batchnorm": bool(rng.random() < self.batchnorm),
        }


def wild_kwargs(hp: dict[str, Any]) -> dict[str, Any]:
    """The `wild-cnn` arguments of a shard's draw (`Wild.draw`), as its rows record it."""
    ints = lambda text: [int(v) for v in text.split(",")]  # noqa: E731
    return {"channels": ints(hp["channels"]), "kernels": ints(hp["kernels"]), "residual": ints(hp["residual"]),
            "activations": hp["activations"].split(","), "batchnorm": bool(hp["batchnorm"])}  # fmt: skip


class ZooConfig(BaseModel):
    """Everything that determines a zoo: the same config gives the same zoo, bit for bit, on the same device."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    dataset: str
    data_root: str | None = None
    image_size: int | None = None
    arch: Arch | list[Arch]  # a list: a mixed population, shard k trains arch[k % len(arch)]
    tasks: Literal["one-vs-rest", "multiclass"] = "one-vs-rest"
    classes: list[int] | None = None  # one-vs-rest classes; None: all
    per_task: int = Field(10, ge=1, le=MAX_NETWORKS)
    training: Training = Training()
    init: str = "torch"
    checkpoints: list[int] | None = None  # epochs whose weights are kept; None: the last only
    train_fraction: float = Field(1.0, gt=0, le=1)
    varied: Varied | None = None
    wild: Wild | None = None  # draw each shard's architecture (arch gives the input shape and classes)
    shard_size: PositiveInt = 16
    seed: int = Field(0, ge=0, le=2**32 - 1)
    threads: PositiveInt = 1  # torch threads per shard job: fixed so every executor computes the same numbers
    # CPU: torch.compile each network's training step (1.2x once warm, ~2 s per worker to compile; needs a C++
    # compiler). Compiled and eager steps differ in the last bits, so it is part of the config. CUDA always compiles.
    compile: bool = False
    # How many batch orders a shard's networks share. False (the default): each its own. True: one, the shard's
    # first order seed, so the networks differ only in their init and a GPU runs their first layer as one wide conv.
    # K: K orders, one per run of consecutive networks (one dense first-layer conv per run).
    shared_order: bool | PositiveInt = False

    def order_groups(self, networks: int) -> int:
        """How many batch orders `networks` networks of one shard share: 0 (each its own), or 1..networks."""
        if self.shared_order is False:
            return 0
        return 1 if self.shared_order is True else min(int(self.shared_order), networks)

    def task_data(self) -> TaskData:
        """The dataset this config trains on (loaded once per process)."""
        key = (self.dataset, self.data_root, self.image_size)
        if key not in _DATA:
            _DATA[key] = load(self.dataset, self.data_root, self.image_size)
        return _DATA[key]

    @property
    def archs(self) -> list[Arch]:
        return self.arch if isinstance(self.arch, list) else [self.arch]

    def spec(self, index: int = 0, **overrides: Any) -> Spec:
        """Architecture `index` of the config (a single one is index 0)."""
        arch = self.archs[index]
        return preset(arch.preset, **(arch.kwargs | overrides))

    def check(self) -> ZooConfig:
        if not self.archs:
            raise WeightspaceError("arch lists no architecture; give one, or a list of them")
        if self.wild is not None:
            if len(self.archs) != 1 or self.archs[0].preset != "wild-cnn":
                raise WeightspaceError("a wild zoo draws its architectures: give one arch with preset wild-cnn")
            if set(self.wild.activations) - set(ACTIVATIONS) - {"none"}:
                raise WeightspaceError(f"wild activations must be among: none, {', '.join(ACTIVATIONS)}")
            self.spec(0, **self.wild.largest())  # the costliest draw builds
        for i in range(len(self.archs) if self.wild is None else 0):
            self.spec(i)  # every architecture builds, within the bounds of a spec
            if self.varied is not None:  # and takes the varied activation and dropout
                self.spec(i, activation=self.varied.activation[0], dropout=self.varied.dropout[0])
        if self.init not in INIT_SCHEMES:
            raise WeightspaceError(f"init {self.init!r} unknown; choose one of: {', '.join(INIT_SCHEMES)}")
        bad = [e for e in self.checkpoints or [] if not 1 <= e <= self.training.epochs]
        if bad:
            raise WeightspaceError(f"checkpoints {bad} lie outside epochs 1..{self.training.epochs}")
        return self

    @classmethod
    def from_yaml(cls, path: str | Path) -> ZooConfig:
        return cls.model_validate(read_yaml_mapping(path, "zoo config")).check()

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)


_SEED_RECIPE = Training(optimizer="adam", lr=1e-3, epochs=20, batch_size=128)


def _varied(name: str, dataset: str, arch: str, kwargs: dict, per_task: int, epochs: int, batch: int) -> ZooConfig:
    """A varied-hyperparameter zoo of 10-way classifiers, kept at epochs/9, epochs/3 and epochs."""
    return ZooConfig(
        name=name,
        dataset=dataset,
        arch=Arch(preset=arch, kwargs={"input_shape": [1, 28, 28]} | kwargs),
        tasks="multiclass",
        per_task=per_task,
        training=Training(epochs=epochs, batch_size=batch),
        checkpoints=[epochs // 9, epochs // 3, epochs],
        varied=Varied(),
        shard_size=4,
    )


DIGITS_RESNET = Arch(preset="resnet", kwargs={"depth": 8, "input_shape": [1, 8, 8], "width": 8})
DIGITS_VIT = Arch(preset="vit-tiny", kwargs={"input_shape": [1, 8, 8], "patch": 2, "dim": 16, "heads": 2})


def _digits_graphs(name: str, arch: Arch | list[Arch], per_task: int = 64) -> ZooConfig:
    """A multi-class zoo of graphs on the 8x8 digits: 8 epochs, checkpoints at 2 and 8."""
    return ZooConfig(name=name, dataset="digits", arch=arch, tasks="multiclass", per_task=per_task,
                     training=Training(epochs=8, batch_size=64), checkpoints=[2, 8], shard_size=8)  # fmt: skip


def _lenet5(
    name: str,
    dataset: str,
    shape: list[int],
    per_task: int,
    training: Training,
    shard_size: int | None = None,
    image_size: int | None = None,
) -> ZooConfig:
    """Kurtenbach & Shamir's one-vs-rest LeNet-5 zoo (Glorot init) on a dataset."""
    shards = {} if shard_size is None else {"shard_size": shard_size}
    arch = Arch(preset="lenet5-seed", kwargs={"input_shape": shape})
    return ZooConfig(
        name=name, dataset=dataset, image_size=image_size, arch=arch, per_task=per_task, training=training,
        init="glorot_uniform", **shards,
    )  # fmt: skip


def _wild(name: str, dataset: str, shape: list[int], per_task: int, epochs: int, fractions: list[float]) -> ZooConfig:
    """A CNN Wild Park-style population: one drawn architecture and one hyperparameter draw per network,
    kept at epochs/4, epochs/2 and epochs."""
    return ZooConfig(
        name=name, dataset=dataset, arch=Arch(preset="wild-cnn", kwargs={"input_shape": shape}), tasks="multiclass",
        per_task=per_task, training=Training(epochs=epochs, batch_size=32),
        checkpoints=[epochs // 4, epochs // 2, epochs], shard_size=1, wild=Wild(batchnorm=0.5),
        varied=Varied(optimizer=["adam"], lr=(5e-4, 1e-2), weight_decay=(1e-6, 1e-3), train_fraction=fractions),
    )  # fmt: skip


ZOO_PRESETS: dict[str, ZooConfig] = {
    # Kurtenbach & Shamir's protocol exactly: 10 classes x 1,000 LeNet-5 one-vs-rest detectors on ImageNette.
    "imagenette-lenet5": _lenet5("imagenette-lenet5", "imagenette", [3, 32, 32], 1000, _SEED_RECIPE, 32, image_size=32),
    "fashion-lenet5": _lenet5("fashion-lenet5", "fashion-mnist", [1, 28, 28], 1000, _SEED_RECIPE, 32),
    "mnist5k-lenet5": _lenet5("mnist5k-lenet5", "mnist5k", [1, 28, 28], 20, Training(epochs=10, batch_size=128)),
    # The demo zoo: 10 classes x 10 networks in about two minutes on 2 cores.
    "digits-lenet5": _lenet5(
        "digits-lenet5", "digits", [1, 28, 28], 10, Training(epochs=6, batch_size=64), 25, image_size=28
    ),
    # Unterthiner et al.-style: varied hyperparameters, several checkpoints, 10-way classifiers.
    "fashion-smallcnn-varied": _varied("fashion-smallcnn-varied", "fashion-mnist", "small-cnn", {}, 256, 9, 128),
    "mnist5k-smallcnn-varied": _varied("mnist5k-smallcnn-varied", "mnist5k", "small-cnn", {}, 256, 18, 64),
    "digits-smallcnn-varied": _varied(
        "digits-smallcnn-varied", "digits", "small-cnn", {"input_shape": [1, 8, 8], "padding": 1}, 256, 20, 32
    ),
    # Other architectures on MNIST-5k, for encoders evaluated across architectures.
    "mnist5k-lenet5classic-varied": _varied(
        "mnist5k-lenet5classic-varied", "mnist5k", "lenet5-classic", {}, 128, 18, 64
    ),
    "mnist5k-mlp-varied": _varied(
        "mnist5k-mlp-varied", "mnist5k", "mlp", {"widths": [32, 32], "outputs": 10}, 128, 18, 64
    ),
    # Zoos of graphs: the targets of SNE's transfer across architectures, at the digits' size.
    "digits-resnet": _digits_graphs("digits-resnet", DIGITS_RESNET),
    "digits-vit": _digits_graphs("digits-vit", DIGITS_VIT),
    # CNN Wild Park at CPU scale: every network its own drawn CNN (depth, widths, kernels, skips, batchnorm).
    "digits-wild": _wild("digits-wild", "digits", [1, 8, 8], 1200, 8, [0.5, 1.0]),
    "fashion-wild": _wild("fashion-wild", "fashion-mnist", [1, 28, 28], 1000, 4, [0.02, 0.05]),
    # A mixed population: residual, transformer and chain networks side by side (shards take turns).
    "digits-mixed": _digits_graphs(
        "digits-mixed",
        [DIGITS_RESNET, DIGITS_VIT, Arch(preset="small-cnn", kwargs={"input_shape": [1, 8, 8], "padding": 1})],
        per_task=96,
    ),
}


def zoo_preset(name: str, **overrides: Any) -> ZooConfig:
    """A named zoo config, with top-level fields (per_task, shard_size, training, ...) replaced by `overrides`."""
    if name not in ZOO_PRESETS:
        raise WeightspaceError(f"unknown zoo preset {name!r}; choose one of: {', '.join(ZOO_PRESETS)}")
    base = ZOO_PRESETS[name].model_dump()
    return ZooConfig.model_validate(base | {k: v for k, v in overrides.items() if v is not None}).check()
