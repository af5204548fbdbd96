"""The baselines SNE is measured against, behind the same interface: WeightBatch in, [B, dim] out.

- FlatMLP:  every weight in one vector (one fixed architecture).
- StatNN:   mean, std and five quantiles of every weight and bias tensor (Unterthiner et al.; fixed depth).
- DeepSets: the SNE chunks as one flat set, mean-pooled twice; no positions, no hierarchy (any architecture).
- NFN:      Zhou et al.'s permutation-equivariant NP / HNP layers from the `nfn` package (one fixed architecture,
            each layer reading the previous layer's units: no flatten after a conv).
"""

from __future__ import annotations

import torch
from torch import nn

from weightspace.encode.chunks import chunk_batch
from weightspace.encode.weights import EncodeError, WeightBatch
from weightspace.nets import layer_statistics


def dense_layers(sizes: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a, b in zip(sizes, sizes[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


class FixedShape(nn.Module):
    """Checks every batch has the architecture the encoder was built for."""

    def __init__(self, shape_key: tuple):
        super().__init__()
        self.shape_key = shape_key

    def check(self, batch: WeightBatch) -> None:
        if batch.shape_key() != self.shape_key:
            raise EncodeError(
                f"{type(self).__name__} was built for one architecture and cannot read this one; "
                "encode other architectures with sne or deepsets"
            )


class FlatMLP(FixedShape):
    def __init__(self, example: WeightBatch, dim: int = 32, hidden: int = 256):
        super().__init__(example.shape_key())
        self.dim = dim
        size = example.flat().shape[1]
        self.net = nn.Sequential(nn.BatchNorm1d(size, affine=False), dense_layers([size, hidden, hidden, dim]))

    def forward(self, batch: WeightBatch) -> torch.Tensor:
        self.check(batch)
        return self.net(batch.flat())


class StatNN(FixedShape):
    def __init__(self, example: WeightBatch, dim: int = 32, hidden: int = 256):
        super().__init__(example.shape_key())
        self.dim = dim
        size = self.features(example).shape[1]
        self.net = nn.Sequential(nn.BatchNorm1d(size, affine=False), dense_layers([size, hidden, hidden, dim]))

    @staticmethod
    def features(batch: WeightBatch) -> torch.Tensor:
        tensors = {}
        for i, (w, b) in enumerate(zip(batch.weights, batch.biases)):
            tensors[f"{i}.weight"] = w
            if b is not None:
                tensors[f"{i}.bias"] = b
        return layer_statistics(tensors)

    def forward(self, batch: WeightBatch) -> torch.Tensor:
        self.check(batch)
        return self.net(self.features(batch))


class DeepSets(nn.Module):
    def __init__(self, dim: int = 32, width: int = 64, chunk_size: int = 16, kernel_max: int = 5):
        super().__init__()
        self.dim, self.chunk_size, self.kernel_max = dim, chunk_size, kernel_max
        self.phi = dense_layers([kernel_max**2, width, width])
        self.chunk_rho = dense_layers([width, width, width])
        self.rho = dense_layers([width, width, dim])

    def forward(self, batch: WeightBatch) -> torch.Tensor:
        c = chunk_batch(batch, self.chunk_size, self.kernel_max)
        m = c.mask[..., None].float()
        x = (self.phi(c.values) * m).sum(2) / m.sum(2)  # mean over a chunk's real elements
        return self.rho(self.chunk_rho(x).mean(1))


class NFN(FixedShape):
    """NP (`hnp=False`) or HNP layers: two equivariant layers with ReLU, invariant pooling, a linear map to dim."""

    def __init__(self, example: WeightBatch, dim: int = 32, width: int = 32, hnp: bool = False):
        super().__init__(example.shape_key())
        try:
            from nfn.common import ArraySpec, NetworkSpec
            from nfn.layers import HNPLinear, HNPPool, NPLinear, NPPool, TupleOp
        except ImportError as err:
            raise EncodeError("the NFN baselines need the nfn package: pip install 'weightspace[nfn]'") from err
        if any(s != 1 for s in example.spread):
            raise EncodeError(
                "NFN reads networks whose layers each take the previous layer's units; this one "
                "flattens a conv's feature map into a linear layer (use sne, deepsets or statnn)"
            )
        self.dim = dim
        self.spec = NetworkSpec(
            [ArraySpec(tuple(w.shape[1:])) for w in example.weights],
            [ArraySpec((w.shape[1],)) for w in example.weights],
        )
        layer, pool = (HNPLinear, HNPPool) if hnp else (NPLinear, NPPool)
        self.layers = nn.Sequential(
            layer(self.spec, 1, width), TupleOp(nn.ReLU()), layer(self.spec, width, width), TupleOp(nn.ReLU())
        )
        self.pool = pool(self.spec)
        self.out = nn.Linear(width * pool.get_num_outs(self.spec), dim)

    def forward(self, batch: WeightBatch) -> torch.Tensor:
        from nfn.common import WeightSpaceFeatures

        self.check(batch)
        if not batch.layout.chain:
            raise EncodeError("NFN reads chains of layers only; this network is a graph (use sne, deepsets or graph)")
        biases = [w.new_zeros(w.shape[:2]) if b is None else b for w, b in zip(batch.weights, batch.biases)]
        features = WeightSpaceFeatures([w[:, None] for w in batch.weights], [b[:, None] for b in biases])
        return self.out(self.pool(self.layers(features)).flatten(1))
