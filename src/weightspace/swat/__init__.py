"""SWAT-NN: one latent space of MLP architectures and weights, searched by gradient descent."""

from weightspace.swat.autoencoder import AEConfig, AETraining, SwatAutoencoder, train_autoencoder
from weightspace.swat.baselines import BaselineConfig, darts_admm, dense
from weightspace.swat.mlps import (
    ACTS,
    MLPBatch,
    SwatError,
    active_neurons,
    as_batch,
    forward,
    mse_on_test,
    nonzero_parameters,
    sample,
    stack_tasks,
    to_net,
)
from weightspace.swat.search import SearchConfig, search
from weightspace.swat.tokens import parse, soften, token_layout, tokenise

__all__ = [
    "ACTS",
    "AEConfig",
    "AETraining",
    "BaselineConfig",
    "MLPBatch",
    "SearchConfig",
    "SwatAutoencoder",
    "SwatError",
    "active_neurons",
    "as_batch",
    "darts_admm",
    "dense",
    "forward",
    "mse_on_test",
    "nonzero_parameters",
    "parse",
    "sample",
    "search",
    "soften",
    "stack_tasks",
    "to_net",
    "token_layout",
    "tokenise",
    "train_autoencoder",
]
