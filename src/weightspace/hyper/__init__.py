"""Hypernetworks: networks that write other networks' weights.

- api:    put a hypernetwork on any module (named parameter slots, functional_call), chunked generic generator
- static: Ha et al.'s layer-embedding kernel generator for CNNs and their MNIST experiment
- lstm:   HyperLSTM, layer-norm LSTM and character language models
"""

from weightspace.hyper.api import ChunkedHyper, HyperError, HyperModel, module_layout, release
from weightspace.hyper.generator import (
    AlignedZoo,
    GeneratorConfig,
    ZooGenerator,
    align_zoo,
    final_rows,
    mmd,
    principal_span,
)
from weightspace.hyper.lstm import (
    CharLM,
    HyperLSTMCell,
    LMConfig,
    LMTraining,
    LNLSTMCell,
    bits_per_char,
    matched_hidden,
    parameters_of,
    train_lm,
)
from weightspace.hyper.static import KernelHyper, ha_mnist_cnn, static_model

__all__ = [
    "AlignedZoo",
    "CharLM",
    "ChunkedHyper",
    "GeneratorConfig",
    "HyperError",
    "HyperLSTMCell",
    "HyperModel",
    "KernelHyper",
    "LMConfig",
    "LMTraining",
    "LNLSTMCell",
    "ZooGenerator",
    "align_zoo",
    "bits_per_char",
    "final_rows",
    "ha_mnist_cnn",
    "matched_hidden",
    "mmd",
    "module_layout",
    "parameters_of",
    "principal_span",
    "release",
    "static_model",
    "train_lm",
]
