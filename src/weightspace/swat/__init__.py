"""SWAT-NN: one latent space of MLP architectures and weights, searched by gradient descent."""

from weightspace.swat.population import (
    ACTS,
    MLPBatch,
    SwatError,
    active_neurons,
    forward,
    nonzero_parameters,
    sample,
    to_net,
)
from weightspace.swat.tokens import layout, parse, soften, tokenise

__all__ = [
    "ACTS",
    "MLPBatch",
    "SwatError",
    "active_neurons",
    "forward",
    "layout",
    "nonzero_parameters",
    "parse",
    "sample",
    "soften",
    "to_net",
    "tokenise",
]
