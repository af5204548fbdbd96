"""The probing encoder: it runs every network on learned inputs, so it reads chains and graphs alike and cannot
tell a network from its permuted twin; mixed-architecture minibatches feed it (and every other set encoder)."""

from __future__ import annotations

import pytest
import torch

from tests.strategies import random_graph_net, text_transformer
from weightspace.encode import EncodeError, EncoderConfig, Predictor, WeightBatch
from weightspace.encode.fit import Part, minibatches
from weightspace.encode.probe import ProbeEncoder
from weightspace.nets import Net, inception_small, preset, resnet, vit_tiny, wild_cnn

NETWORKS = {
    "small-cnn": preset("small-cnn", input_shape=[1, 8, 8], padding=1),
    "mlp": preset("mlp", input_shape=[1, 8, 8], widths=[16, 16], outputs=10),
    "resnet": resnet(8, (1, 8, 8), width=4),  # batchnorm: read with its running statistics
    "inception-small": inception_small((1, 8, 8), width=0.25),
    "vit-tiny": vit_tiny((1, 8, 8), patch=2, depth=1, dim=8, heads=2),
    "wild-cnn": wild_cnn(
        [8, 4, 16], [3, 5, 3], [-1, -1, 0], ["relu", "tanh", "none"], batchnorm=True, input_shape=(1, 8, 8)
    ),  # fmt: skip
}


def batch_of(spec, n=3) -> WeightBatch:
    return WeightBatch.of([random_graph_net(spec, i) if hasattr(spec, "nodes") else Net.init(spec, i)
                                for i in range(n)])  # fmt: skip


@pytest.mark.parametrize(("name", "generator"), [(n, "none") for n in sorted(NETWORKS)] + [("resnet", "deep-linear")])
def test_a_permuted_network_gives_the_same_embedding(name, generator):
    batch = batch_of(NETWORKS[name])
    config = EncoderConfig(kind="probe", probe_generator=generator, probes=8).with_example(batch)
    model = Predictor(config).eval()
    twins = batch.twins(torch.Generator().manual_seed(1))
    moved = max((a - b).abs().max().item() for a, b in zip(batch.weights, twins.weights))
    assert moved > 1e-3  # the twins' weights really differ
    torch.testing.assert_close(model.embed(twins), model.embed(batch), atol=1e-5, rtol=1e-5)


def test_networks_that_read_token_ids_are_probed_with_fixed_ids():
    batch = batch_of(text_transformer(), 2)
    encoder = ProbeEncoder(tuple(batch.source.spec.input_shape), 3, probes=4)
    z = encoder(batch)
    assert z.shape == (2, 32)
    torch.testing.assert_close(encoder(batch.twins(torch.Generator().manual_seed(0))), z, atol=1e-5, rtol=1e-5)
    ids = encoder.probes(batch.source.spec, torch.device("cpu"))
    assert ids.dtype == torch.long and torch.equal(ids, encoder.probes(batch.source.spec, torch.device("cpu")))


def test_the_probes_learn():
    batch = batch_of(NETWORKS["small-cnn"], 4)
    for generator, name in (("none", "inputs"), ("deep-linear", "latent")):
        encoder = ProbeEncoder((1, 8, 8), 10, probes=4, generator=generator)
        encoder(batch).pow(2).sum().backward()
        assert getattr(encoder, name).grad.abs().sum() > 0


def test_what_it_cannot_read_is_refused_in_one_line():
    batch = batch_of(NETWORKS["small-cnn"], 2)
    encoder = ProbeEncoder((1, 8, 8), 10, probes=4)
    with pytest.raises(EncodeError, match="WeightBatch.of"):
        encoder(batch.shuffled())  # only the tensors encoders read
    with pytest.raises(EncodeError, match=r"built for inputs \(1, 8, 8\)"):
        encoder(batch_of(preset("small-cnn", input_shape=[1, 28, 28]), 2))
    with pytest.raises(EncodeError, match="reads 10 outputs"):
        encoder(batch_of(preset("mlp", input_shape=[1, 8, 8], widths=[4], outputs=3), 2))
    with pytest.raises(EncodeError, match="generator"):
        ProbeEncoder((1, 8, 8), 10, generator="cubic")


def test_small_parts_pool_into_minibatches_of_several_architectures():
    parts = [Part(None, torch.zeros(n), torch.arange(n).numpy()) for n in (1, 2, 3, 20)]
    batches = minibatches(parts, 8, torch.Generator().manual_seed(0))
    seen = sorted((k, int(i)) for b in batches for k, idx in b for i in idx)
    assert seen == sorted((k, i) for k, n in enumerate((1, 2, 3, 20)) for i in range(n))  # every network once
    pooled = [b for b in batches if b[0][0] != 3]
    assert len(pooled) == 1 and {k for k, _ in pooled[0]} == {0, 1, 2}  # the three small parts share one batch
    assert all(len(b) == 1 and len(b[0][1]) <= 8 for b in batches if b[0][0] == 3)
