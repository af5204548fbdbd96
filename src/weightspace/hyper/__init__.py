"""Hypernetworks: networks that write other networks' weights.

- api:    put a hypernetwork on any module (named parameter slots, functional_call), chunked generic generator
- static: Ha et al.'s layer-embedding kernel generator for CNNs and their MNIST experiment
- lstm:   HyperLSTM, layer-norm LSTM and character language models
"""

from weightspace.hyper.api import ChunkedHyper, HyperError, HyperModel, module_layout, release
from weightspace.hyper.lstm import CharLM, HyperLSTMCell, LMConfig, LMTraining, LNLSTMCell, bits_per_char, train_lm
from weightspace.hyper.static import KernelHyper, count_parameters, ha_mnist_cnn, static_model

__all__ = [
    "CharLM",
    "ChunkedHyper",
    "HyperError",
    "HyperLSTMCell",
    "HyperModel",
    "KernelHyper",
    "LMConfig",
    "LMTraining",
    "LNLSTMCell",
    "module_layout",
    "bits_per_char",
    "ha_mnist_cnn",
    "release",
    "static_model",
    "count_parameters",
    "train_lm",
]
