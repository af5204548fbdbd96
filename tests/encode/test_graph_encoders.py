"""The encoders on graphs: the weight batch's symmetry is the graph's, every encoder that reads any architecture
reads residual, Inception and transformer zoos (and a zoo that mixes them with chains), and NFN refuses them."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.strategies import random_graph_net, random_graphs, text_transformer
from weightspace.encode import SNE, EncodeError, EncoderConfig, FitConfig, WeightBatch
from weightspace.encode.baselines import DeepSets, StatNN
from weightspace.encode.graph import GraphEncoder
from weightspace.nets import NetBatch, inception_small, preset, resnet, vit_tiny, wrn
from weightspace.nets.graph_symmetry import permute_graph
from weightspace.recipes import train_on_zoo
from weightspace.zoo import write_zoo

SMALL = {
    "resnet": resnet(8, (1, 8, 8), width=4),
    "wrn": wrn(10, 1, (1, 8, 8)),
    "inception-small": inception_small((1, 8, 8), width=0.25),
    "vit-tiny": vit_tiny((1, 8, 8), patch=2, depth=1, dim=8, heads=2),
    "text": text_transformer(),  # token ids through an embedding table
}


def batch_of(spec, n=3, seed=0) -> tuple[list, WeightBatch]:
    nets = [random_graph_net(spec, seed + i) for i in range(n)]
    return nets, WeightBatch.of(nets)


def as_graph_permutation(perms: dict[str, torch.Tensor], k: int) -> dict:
    """Network k's share of a batch permutation, in `nets.graph_symmetry`'s terms (group root -> order; attention
    node -> (q/k order, v order))."""
    out: dict = {}
    for name, p in perms.items():
        if name.endswith("/qk"):
            out[name[:-3]] = (p[k], perms[name[:-3] + "/v"][k])
        elif not name.endswith("/v"):
            out[int(name[1:])] = p[k]
    return out


def assert_batch_symmetry_is_the_graphs(spec, seed: int) -> None:
    nets, batch = batch_of(spec, 2, seed)
    perms = batch._draw_orders(torch.Generator().manual_seed(seed))
    moved = batch._reorder(perms)
    for k, net in enumerate(nets):
        expected = WeightBatch.of([type(net)(spec, permute_graph(spec, net.params, as_graph_permutation(perms, k)))])
        for a, b in zip(moved.weights + moved.biases, expected.weights + expected.biases):
            assert (a is None and b is None) or torch.equal(a[k], b[0])


@pytest.mark.parametrize("name", sorted(SMALL))
def test_a_batch_permutation_of_a_graph_is_the_graphs_own_symmetry(name):
    """Permuting the read tensors equals reading the permuted network (whose function is unchanged: test_graph)."""
    assert_batch_symmetry_is_the_graphs(SMALL[name], seed=3)


@settings(max_examples=15, deadline=None)
@given(random_graphs(), st.integers(0, 1000))
def test_batch_permutations_of_random_graphs_are_their_symmetry(spec, seed):
    assert_batch_symmetry_is_the_graphs(spec, seed)


def test_layers_of_a_graph_take_their_depth_as_level():
    _, batch = batch_of(SMALL["inception-small"], 1)
    levels = dict(zip(range(batch.num_layers), batch.layout.levels))
    assert levels[0] == 0 and max(levels.values()) == 5  # stem; two blocks of (reduce, conv); the head
    assert batch.layout.levels.count(1) == 4  # the first block's 1x1, two reductions and pool projection
    _, vit = batch_of(SMALL["vit-tiny"], 1)
    assert vit.layout.levels == (0, 1, 1, 1, 2, 3, 4, 5)  # patches; q, k, v; o; the MLP; the head


@pytest.mark.parametrize("name", sorted(SMALL))
def test_graph_encoders_are_invariant_to_the_graphs_symmetry(name):
    torch.manual_seed(0)
    _, batch = batch_of(SMALL[name], 3)
    twin = batch.shuffled(torch.Generator().manual_seed(9))
    assert max((a - b).abs().max().item() for a, b in zip(batch.weights, twin.weights)) > 0.1
    encoders = [
        GraphEncoder(dim=8, width=16, rounds=2),
        SNE(dim=8, width=16, depth=1, chunk_size=8, canonical=True),
        StatNN(batch, dim=8, hidden=16),
    ]
    for model in encoders:
        with torch.no_grad():
            a, b = model.eval()(batch), model(twin)
        assert (a - b).abs().max() <= 1e-4 * (1 + a.abs().max()), type(model).__name__
    _, other = batch_of(SMALL[name], 3, seed=50)
    with torch.no_grad():  # and not invariant to everything
        assert (encoders[0](other) - encoders[0](batch)).abs().max() > 1e-4


@pytest.mark.parametrize("name", sorted(SMALL))
def test_the_canonical_order_of_a_graph_is_one_per_orbit(name):
    _, batch = batch_of(SMALL[name], 2)
    twin = batch.shuffled(torch.Generator().manual_seed(4))
    for a, b in zip(batch.canonical().weights, twin.canonical().weights):
        assert torch.equal(a, b)


def test_a_residual_sum_and_a_concat_are_edges_of_the_graph_encoder():
    """Cutting a skip connection changes the graph the encoder reads, with every weight the same."""
    from weightspace.nets import GraphSpec

    spec = SMALL["resnet"]
    _, batch = batch_of(spec, 2)
    data = spec.model_dump(mode="json")
    for node in data["nodes"]:  # the first block's sum reads its conv branch twice instead of the stem
        if node["name"] == "s0b0_sum":
            node["inputs"] = ["s0b0_b_bn", "s0b0_b_bn"]
    cut = WeightBatch(batch.weights, batch.biases, batch.spread, batch.labels, WeightBatch.of(
        [random_graph_net(GraphSpec.model_validate(data))]).layout)  # fmt: skip
    model = GraphEncoder(dim=8, width=16).eval()
    with torch.no_grad():
        assert (model(batch) - model(cut)).abs().max() > 1e-4
    assert len(batch.layout.sums) == 3 and all(len(j) == 2 for _, j in batch.layout.sums)


def test_every_set_encoder_reads_graphs_it_never_saw():
    torch.manual_seed(0)
    models = [SNE(dim=8, width=16, depth=1), DeepSets(dim=8, width=16), GraphEncoder(dim=8, width=16)]
    with torch.no_grad():
        for spec in [*SMALL.values(), preset("lenet5-seed", input_shape=(1, 28, 28))]:
            _, batch = batch_of(spec, 2)
            for model in models:
                z = model.eval()(batch)
                assert z.shape == (2, 8) and torch.isfinite(z).all()


def graph_zoo(root, spec, n: int = 24):
    """Networks of one graph whose weights are drawn at a known scale: the scale is the target."""
    nets, rows = [], []
    for i in range(n):
        scale = 0.5 + (i % 6) / 4
        net = random_graph_net(spec, i)
        nets.append({k: v if k.endswith("running_var") else v * scale for k, v in net.params.items()})
        rows.append({"model_id": i, "scale": scale})
    return write_zoo(root, "graphs", NetBatch(spec, {k: torch.stack([p[k] for p in nets]) for k in nets[0]}), rows)


@pytest.mark.parametrize("kind", ["sne", "deepsets", "statnn", "graph"])
def test_encoders_train_on_a_zoo_of_graphs(tmp_path, kind):
    zoo = graph_zoo(tmp_path / "zoo", SMALL["resnet"])
    config = EncoderConfig(kind=kind, target="scale", width=8, dim=4, depth=1, hidden=16, head_width=16)
    model, report = train_on_zoo(zoo, config, FitConfig(epochs=2, batch_size=8))
    assert report["task"] == "regression" and len(report["history"]) == 2
    assert report["permutation_gap"] < (1e-4 if kind in ("graph", "statnn") else 1.0)


def test_set_encoders_train_on_a_zoo_that_mixes_graphs_and_chains(tmp_path):
    from weightspace.zoo import generate, zoo_preset

    config = zoo_preset("digits-mixed", per_task=24, shard_size=4, training={"epochs": 1, "batch_size": 128},
                        checkpoints=[1])  # fmt: skip
    zoo = generate(config, tmp_path / "zoo")
    assert len(zoo.specs) == 3
    for kind in ("sne", "graph", "probe"):
        config = EncoderConfig(kind=kind, target="test_accuracy", width=8, dim=4, depth=1, head_width=16)
        _, report = train_on_zoo(zoo, config, FitConfig(epochs=1, batch_size=8))
        assert len(report["test_predictions"]["true"]) > 2 and -1 <= report["test"]["tau"] <= 1


def test_nfn_refuses_a_graph_in_one_line():
    pytest.importorskip("nfn")
    from weightspace.encode.baselines import NFN

    _, batch = batch_of(SMALL["resnet"], 2)
    config = EncoderConfig(kind="nfn-np").with_example(batch)
    with pytest.raises(EncodeError, match="NFN reads chains of layers only; this network is a graph"):
        NFN(config.example(), dim=4, width=4)(batch)
