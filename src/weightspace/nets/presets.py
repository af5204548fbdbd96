"""Named architectures the papers use: the chains here, the graphs in graph_presets.py; `ARCH_PRESETS` maps CLI
names to both."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from pathlib import Path

from weightspace.errors import SpecError
from weightspace.nets.graph import Spec, load_spec
from weightspace.nets.graph_presets import GRAPH_PRESETS
from weightspace.nets.spec import (
    Activation,
    ArchSpec,
    Conv2d,
    Dropout,
    Flatten,
    GlobalPool,
    Linear,
    Pool2d,
)


def lenet5_seed(input_shape: Sequence[int] = (3, 32, 32), outputs: int = 1) -> ArchSpec:
    """Kurtenbach & Shamir's one-vs-rest LeNet-5: tanh, average pooling, sigmoid output.

    On 32x32x3 input it has 91,481 parameters (456 + 2,416 + 48,120 + 40,404 + 85).
    """
    return ArchSpec(
        name="lenet5-seed",
        input_shape=tuple(input_shape),
        layers=[
            Conv2d(out_channels=6, kernel_size=5, padding="same"),
            Activation(fn="tanh"),
            Pool2d(op="avg", kernel_size=2),
            Conv2d(out_channels=16, kernel_size=5),
            Activation(fn="tanh"),
            Pool2d(op="avg", kernel_size=2),
            Conv2d(out_channels=120, kernel_size=5),
            Activation(fn="tanh"),
            Flatten(),
            Linear(out_features=84),
            Activation(fn="tanh"),
            Linear(out_features=outputs),
            Activation(fn="sigmoid" if outputs == 1 else "identity"),
        ],
    )


def lenet5_classic(
    input_shape: Sequence[int] = (1, 28, 28), classes: int = 10, activation: str = "tanh", dropout: float = 0.0
) -> ArchSpec:
    """LeCun's LeNet-5 for 28x28 digits (first conv padded to keep 28x28): 61,706 parameters, logits out.
    `activation` and `dropout` (after each hidden dense layer) let varied zoos use it."""
    act = Activation(fn=activation)
    drop = [Dropout(p=dropout)] if dropout else []
    return ArchSpec(
        name="lenet5-classic",
        input_shape=tuple(input_shape),
        layers=[
            Conv2d(out_channels=6, kernel_size=5, padding=2),
            act,
            Pool2d(op="avg", kernel_size=2),
            Conv2d(out_channels=16, kernel_size=5),
            act,
            Pool2d(op="avg", kernel_size=2),
            Flatten(),
            Linear(out_features=120),
            act,
            *drop,
            Linear(out_features=84),
            act,
            *drop,
            Linear(out_features=classes),
        ],
    )


def small_cnn(
    input_shape: Sequence[int] = (1, 28, 28),
    classes: int = 10,
    activation: str = "relu",
    padding: int = 0,
    dropout: float = 0.0,
) -> ArchSpec:
    """Unterthiner et al.'s small CNN: three 3x3 stride-2 convs of 16 channels, global average pool, dense.

    With one input channel and 10 classes it has 4,970 parameters. `padding=1` lets it take 8x8 digits.
    """
    layers = []
    for _ in range(3):
        layers += [Conv2d(out_channels=16, kernel_size=3, stride=2, padding=padding), Activation(fn=activation)]
        if dropout:
            layers.append(Dropout(p=dropout))
    layers += [GlobalPool(op="avg"), Linear(out_features=classes)]
    return ArchSpec(name="small-cnn", input_shape=tuple(input_shape), layers=layers)


def mlp(
    input_shape: Sequence[int] | int,
    widths: Sequence[int],
    outputs: int,
    activation: str | Sequence[str] | Sequence[Sequence[str]] = "relu",
    output_activation: str | None = None,
    dropout: float = 0.0,
) -> ArchSpec:
    """A multilayer perceptron. `activation` is one name, one per hidden layer, or one list per hidden layer
    with an activation for each of its units. Multi-dimensional inputs are flattened first."""
    input_shape = (input_shape,) if isinstance(input_shape, int) else tuple(input_shape)
    if isinstance(activation, str):
        per_layer = [activation] * len(widths)
    else:
        per_layer = list(activation)
        if len(per_layer) != len(widths):
            raise SpecError(f"mlp: {len(per_layer)} activations given for {len(widths)} hidden layers")
    layers: list = [Flatten()] if len(input_shape) > 1 else []
    for width, act in zip(widths, per_layer):
        layers += [Linear(out_features=width), Activation(fn=act if isinstance(act, str) else list(act))]
        if dropout:
            layers.append(Dropout(p=dropout))
    layers.append(Linear(out_features=outputs))
    if output_activation:
        layers.append(Activation(fn=output_activation))
    return ArchSpec(name="mlp", input_shape=input_shape, layers=layers)


ARCH_PRESETS: dict[str, Callable[..., Spec]] = {
    "lenet5-seed": lenet5_seed,
    "lenet5-classic": lenet5_classic,
    "small-cnn": small_cnn,
    "mlp": lambda input_shape=(64,), widths=(32, 32), outputs=10, **kw: mlp(input_shape, widths, outputs, **kw),
} | GRAPH_PRESETS  # the chains, then the graphs (graph_presets.py)


def preset(name: str, **kwargs) -> Spec:
    """Build a named preset; unknown names give the list of known ones."""
    if name not in ARCH_PRESETS:
        raise SpecError(f"unknown preset {name!r}; choose one of: {', '.join(ARCH_PRESETS)}")
    make = ARCH_PRESETS[name]
    try:
        inspect.signature(make).bind(**kwargs)
        return make(**kwargs)
    except SpecError:
        raise
    except (TypeError, ValueError, OverflowError) as err:  # a config's kwargs of the wrong name or type
        first = " ".join(str(err).split())[:300]
        raise SpecError(f"preset {name!r} with {kwargs}: {first}") from None


def resolve_spec(source: str, graphs: bool = False):
    """An architecture named on a command line: a preset name, or a spec .json file. With `graphs`, a graph
    preset or a GraphSpec file too (for the commands that read graphs)."""

    from weightspace.nets.graph import GraphSpec
    from weightspace.nets.graph_presets import GRAPH_PRESETS

    if source.endswith(".json"):
        if not Path(source).is_file():
            raise SpecError(f"{source}: no such spec file; give a preset name or a spec .json")
        spec = load_spec(Path(source).read_text())
        if isinstance(spec, GraphSpec) and not graphs:
            raise SpecError(f"{source} is a graph; this command reads chains of layers")
        return spec
    if graphs and source in GRAPH_PRESETS:
        return GRAPH_PRESETS[source]()
    return preset(source)
