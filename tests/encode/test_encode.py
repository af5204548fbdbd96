"""encode: chunking, the weight batch and its symmetry, SNE's permutation behaviour, unseen architectures,
baselines, save/load, training on a zoo, and the CLI."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from tests.strategies import cnn_specs, mlp_specs, random_net
from weightspace.cli import app
from weightspace.encode import (
    SNE,
    EncodeError,
    EncoderConfig,
    FitConfig,
    Predictor,
    WeightBatch,
)
from weightspace.encode.chunks import BIAS, CONV, LINEAR, chunk, chunk_batch, elements
from weightspace.encode.graph import GraphEncoder
from weightspace.errors import WeightspaceError
from weightspace.nets import Net, NetBatch, hidden_layers, mlp, permute, preset, sign_symmetric
from weightspace.recipes import embed_zoo, evaluate_on_zoo, train_on_zoo
from weightspace.train import sine_siren_values
from weightspace.zoo import Zoo, write_zoo
from weightspace.zoo.inr import make_sine_inr_zoo


def batch_of(spec, n=3, seed=0) -> WeightBatch:
    return WeightBatch.of([Net.init(spec, seed + i) for i in range(n)])


# -- chunking ------------------------------------------------------------------------------------------------------
def test_linear_rows_longer_than_a_chunk_are_split_and_padded():
    w = torch.arange(1, 2 * 5 + 1, dtype=torch.float).reshape(1, 2, 5)  # 2 units, fan-in 5
    values, mask = chunk(elements(w, 1), size=3)
    assert values.shape == (1, 4, 3, 1)  # each unit: ceil(5/3) = 2 chunks
    assert mask.tolist() == [[[True] * 3, [True, True, False]] * 2]
    assert values[0, :, :, 0].tolist() == [[1, 2, 3], [4, 5, 0], [6, 7, 8], [9, 10, 0]]


def test_small_fan_in_units_share_chunks_whole():
    w = torch.arange(1, 5 * 2 + 1, dtype=torch.float).reshape(1, 5, 2)  # 5 units, fan-in 2
    values, mask = chunk(elements(w, 1), size=5)
    assert values.shape == (1, 3, 5, 1)  # 2 whole units per chunk, 3 chunks
    assert values[0, :, :, 0].tolist() == [[1, 2, 3, 4, 0], [5, 6, 7, 8, 0], [9, 10, 0, 0, 0]]
    assert mask.sum().item() == 10


def test_conv_kernels_stay_whole_and_centred():
    w = torch.randn(1, 4, 3, 3, 3)
    e = elements(w, kernel_max=5)
    assert e.shape == (1, 4, 3, 25)
    square = e.reshape(1, 4, 3, 5, 5)
    assert torch.equal(square[..., 1:4, 1:4], w)
    square[..., 1:4, 1:4] = 0
    assert not square.any()  # the border is padding
    linear = elements(torch.randn(1, 2, 3), kernel_max=5).reshape(1, 2, 3, 5, 5)  # a 1 x 1 kernel, centred
    linear[..., 2, 2] = 0
    assert not linear.any()


@pytest.mark.parametrize("name", ["small-cnn", "lenet5-seed", "lenet5-classic", "mlp"])
def test_chunks_cover_every_weight_once(name):
    spec = preset(name) if name != "lenet5-seed" else preset(name, input_shape=(1, 28, 28))
    batch = batch_of(spec, n=2)
    c = chunk_batch(batch, size=16, kernel_max=5)
    weights = sum(w[0].numel() // (w.shape[-1] ** 2 if w.dim() == 5 else 1) for w in batch.weights)
    biases = sum(b.shape[1] for b in batch.biases if b is not None)
    assert c.mask[0].sum().item() == weights + biases
    assert c.values[~c.mask].abs().sum() == 0
    assert {level for _, _, level, _ in c.groups} == set(range(batch.num_layers))
    expected = {LINEAR, BIAS} | ({CONV} if any(w.dim() == 5 for w in batch.weights) else set())
    assert set(c.kind.tolist()) == expected


def test_kernel_larger_than_kernel_max_is_refused():
    with pytest.raises(EncodeError, match="kernel_max"):
        elements(torch.randn(1, 2, 2, 5, 5), kernel_max=3)


# -- weights and symmetry ------------------------------------------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(spec=st.one_of(mlp_specs(), cnn_specs()), seed=st.integers(0, 10_000))
def test_batch_permutation_is_the_nets_symmetry(spec, seed):
    nets = [random_net(spec, seed + i) for i in range(2)]
    batch = WeightBatch.of(nets)
    perms = batch._draw_orders(torch.Generator().manual_seed(seed))
    moved = batch._reorder(perms)
    layers = spec.parametric_layers()
    hidden = hidden_layers(spec)
    for k, net in enumerate(nets):
        perm = {layers[int(factor)]: p[k] for factor, p in perms.items()}
        for i, p in perm.items():  # units only trade places with units of the same activation
            assert [hidden[i][j] for j in p.tolist()] == hidden[i]
        expected = WeightBatch.of([permute(net, perm)])
        for a, b in zip(moved.weights, expected.weights):
            assert torch.equal(a[k], b[0])
        for a, b in zip(moved.biases, expected.biases):
            assert a is None or torch.equal(a[k], b[0])


# -- SNE -----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cross", [False, True])
def test_attention_block_computes_what_torch_multihead_attention_computes(cross):
    from weightspace.encode import MAB

    torch.manual_seed(0)
    block = MAB(16, 4)
    y = torch.randn(5, 7, 16, requires_grad=True)
    x = torch.randn(5, 1, 16) if cross else y
    mask = torch.rand(5, 7) > 0.3
    mask[:, 0] = True

    def torch_mab():  # the block as nn.MultiheadAttention's own forward computes it
        attn = block.attn(x, y, y, key_padding_mask=~mask, need_weights=False)[0]
        h = block.ln1(x + attn)
        return block.ln2(h + block.ff(h))

    grads = []
    for forward in (block.forward, lambda *_: torch_mab()):
        block.zero_grad()
        y.grad = None
        out = forward(x, y, mask)
        out.square().sum().backward()
        grads.append([out.detach(), y.grad.clone(), *(p.grad.clone() for p in block.parameters())])
    for ours, theirs in zip(*grads):
        torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-6)
    block.eval()
    with torch.no_grad():  # torch's fused inference path
        torch.testing.assert_close(block(x, y, mask), torch_mab(), rtol=1e-5, atol=1e-5)


def test_sne_is_exactly_invariant_when_chunks_hold_whole_layers_of_units():
    torch.manual_seed(0)
    batch = batch_of(mlp(4, [4, 4], 1), n=4)  # every fan-in is 4: one unit per chunk of 4
    model = SNE(dim=8, width=16, chunk_size=4).eval()
    twin = batch.shuffled(torch.Generator().manual_seed(1))
    assert (model(batch) - model(twin)).abs().max() < 1e-5


def test_sne_sees_permuted_twins_differently_when_chunks_straddle_units():
    """Why the logit-invariance loss exists: with units split across chunks, SNE is not invariant by design."""
    torch.manual_seed(0)
    batch = batch_of(mlp(3, [6, 6], 1), n=4)  # fan-in 6 with chunks of 4: units straddle chunks
    twin = batch.shuffled(torch.Generator().manual_seed(5))
    model = SNE(dim=8, width=16, depth=1, chunk_size=4).eval()
    with torch.no_grad():
        assert (model(batch) - model(twin)).abs().max() > 1e-4


def test_sne_gives_every_chunk_type_and_level_its_own_position():
    model = SNE(width=16)
    kinds, levels = torch.meshgrid(torch.tensor([LINEAR, CONV, BIAS]), torch.arange(6), indexing="ij")
    pos = model.encode_chunk_position(kinds.flatten(), levels.flatten())
    distances = torch.cdist(pos, pos) + torch.eye(len(pos)) * 1e3
    assert distances.min() > 0.1  # (linear, level 1) and (conv, level 0) used to coincide


def test_sne_reads_weights_in_units_of_the_training_zoo(tmp_path):
    zoo = scale_zoo(tmp_path / "zoo", n=24)
    model, _ = train_on_zoo(
        zoo, EncoderConfig(kind="sne", target="scale", width=8, dim=4, depth=1), FitConfig(epochs=1)
    )
    weights = zoo.batch().params  # all networks: the train split's RMS is close to theirs
    rms = torch.cat([w.flatten() for w in weights.values()]).pow(2).mean().sqrt().item()
    assert model.config.weight_scale == pytest.approx(rms, rel=0.3)
    batch = batch_of(mlp(4, [8], 1), n=2)
    scaled = WeightBatch(
        tuple(w * 3 for w in batch.weights), tuple(b * 3 for b in batch.biases), batch.spread, batch.labels
    )
    torch.manual_seed(0)
    plain = SNE(dim=4, width=8, depth=1).eval()
    torch.manual_seed(0)
    in_units = SNE(dim=4, width=8, depth=1, weight_scale=3.0).eval()
    assert torch.allclose(plain(batch), in_units(scaled), atol=1e-5)


MIXED = mlp(4, [5], 1, activation=[["relu", "tanh"] * 2 + ["relu"]])  # units may trade only within a label


@pytest.mark.parametrize("spec", [mlp(3, [6, 6], 1), preset("small-cnn", input_shape=(1, 8, 8), padding=1), MIXED])
def test_canonical_order_makes_sne_exactly_invariant(spec):
    torch.manual_seed(0)
    batch = batch_of(spec, n=4)
    twin = batch.shuffled(torch.Generator().manual_seed(5))
    assert torch.equal(batch.canonical().weights[0], twin.canonical().weights[0])
    model = SNE(dim=8, width=16, depth=1, chunk_size=4, canonical=True).eval()
    with torch.no_grad():
        assert (model(batch) - model(twin)).abs().max() < 1e-5


def test_sne_encodes_architectures_it_never_saw():
    torch.manual_seed(0)
    model = SNE(dim=8, width=16, depth=1).eval()
    with torch.no_grad():
        for spec in [preset("small-cnn"), preset("lenet5-classic"), mlp(5, [7, 3, 9], 2), preset("lenet5-seed")]:
            z = model(batch_of(spec, n=2))
            assert z.shape == (2, 8) and torch.isfinite(z).all()


# -- the graph metanetwork -----------------------------------------------------------------------------------------
@settings(max_examples=20, deadline=None)
@given(spec=st.one_of(mlp_specs(), cnn_specs()), seed=st.integers(0, 10_000))
def test_graph_encoder_is_invariant_to_hidden_unit_permutations(spec, seed):
    batch = WeightBatch.of([random_net(spec, seed + i) for i in range(3)])
    torch.manual_seed(seed)
    model = GraphEncoder(dim=8, width=16, rounds=2, kernel_max=5).eval()
    twin = batch.shuffled(torch.Generator().manual_seed(seed + 1))
    with torch.no_grad():
        a, b = model(batch), model(twin)
    assert (a - b).abs().max() <= 1e-4 * (1 + a.abs().max())  # the same up to float summation order
    other = WeightBatch.of([random_net(spec, seed + 7) for _ in range(3)])
    with torch.no_grad():  # and not invariant to everything: another network reads differently
        assert (model(other) - a).abs().max() > 1e-4


def test_graph_encoder_reads_inputs_and_outputs_in_order():
    """Swapping two input features is not a symmetry of the network, and the graph encoder sees it."""
    batch = batch_of(mlp(3, [5], 2), n=2)
    swapped = WeightBatch(
        (batch.weights[0][:, :, [1, 0, 2]], batch.weights[1]), batch.biases, batch.spread, batch.labels
    )
    model = GraphEncoder(dim=8, width=16).eval()
    with torch.no_grad():
        assert (model(batch) - model(swapped)).abs().max() > 1e-4


def test_graph_encoder_reads_a_flatten_wider_than_its_edges():
    batch = batch_of(preset("lenet5-classic"), n=2)  # its flatten gives each channel 4x4 = 16 columns
    model = GraphEncoder(dim=4, width=8, kernel_max=3).eval()  # edges hold 9 values: the 16 are averaged down
    assert model.edge_values(batch, 2).shape[-1] == 9
    with torch.no_grad():
        assert torch.isfinite(model(batch)).all()


# -- baselines -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["sne", "mlp", "statnn", "deepsets", "nfn-np", "nfn-hnp", "graph"])
def test_every_encoder_trains_saves_and_loads(kind, tmp_path):
    batch = batch_of(preset("small-cnn", input_shape=(1, 8, 8), padding=1), n=4)
    config = EncoderConfig(kind=kind, width=8, dim=4, depth=1, hidden=16, head_width=16).with_example(batch)
    model = Predictor(config)
    model(batch).sum().backward()
    assert all(p.grad is not None for p in model.encoder.parameters() if p.requires_grad)
    model.eval()
    path = model.save(tmp_path / kind)
    again = Predictor.load(path)
    assert again.config == model.config
    assert torch.equal(model(batch), again(batch))


def test_fixed_architecture_encoders_refuse_other_architectures():
    small = batch_of(preset("small-cnn"), n=2)
    for kind in ("mlp", "statnn", "nfn-np"):
        model = Predictor(EncoderConfig(kind=kind, width=8, hidden=16).with_example(small)).eval()
        with pytest.raises(EncodeError, match="one architecture"):
            model(batch_of(preset("small-cnn", classes=5), n=2))
    with pytest.raises(EncodeError, match="flattens a conv"):
        Predictor(EncoderConfig(kind="nfn-hnp").with_example(batch_of(preset("lenet5-classic"), n=2)))


def test_loading_a_missing_encoder_says_how_to_make_one(tmp_path):
    with pytest.raises(EncodeError, match="weightspace encode train"):
        Predictor.load(tmp_path / "nothing")


# -- zoos: training, evaluation, embeddings, the INR zoo -----------------------------------------------------------
def scale_zoo(root, n=60, seed=0) -> Zoo:
    """MLPs whose weights are scaled by a known factor: the factor is the target."""
    spec = mlp(4, [8], 1)
    gen = np.random.default_rng(seed)
    nets, rows = [], []
    for i in range(n):
        s = float(gen.uniform(0.2, 2.0))
        net = Net.init(spec, seed * 1000 + i)
        nets.append({k: v * s for k, v in net.params.items()})
        rows.append({"model_id": i, "scale": s, "kind": ["a", "b"][i % 2]})
    stacked = {k: torch.stack([p[k] for p in nets]) for k in nets[0]}
    return write_zoo(root, "scales", NetBatch(spec, stacked), rows)


def test_training_on_a_zoo_learns_its_target(tmp_path):
    zoo = scale_zoo(tmp_path / "zoo")
    config = EncoderConfig(kind="statnn", target="scale", hidden=32, head_width=32)
    model, report = train_on_zoo(zoo, config, FitConfig(epochs=60, batch_size=16, li_weight=0.0))
    assert report["task"] == "regression" and report["train_networks"] == 48
    assert report["test"]["tau"] > 0.6, report["test"]
    scores, pred, true = evaluate_on_zoo(model, zoo, "all")
    assert len(pred) == len(zoo) and scores["r2"] > 0.5


def test_sne_pipeline_and_embeddings(tmp_path):
    zoo = scale_zoo(tmp_path / "zoo", n=24)
    config = EncoderConfig(kind="sne", target="kind", width=8, dim=4, depth=1, head_width=16)
    model, report = train_on_zoo(zoo, config, FitConfig(epochs=2, batch_size=8))
    assert report["task"] == "classes" and model.config.classes == ["a", "b"]
    assert set(report["test"]) == {"accuracy"} and 0 <= report["permutation_gap"] < 0.5  # small, not exact
    path = embed_zoo(model, zoo, "sne")
    from safetensors.torch import load_file

    saved = load_file(path)
    assert saved["embedding"].shape == (24, 4) and saved["row"].tolist() == list(range(24))


def test_sine_inr_zoo_holds_fitted_sirens(tmp_path):
    zoo = make_sine_inr_zoo(tmp_path / "inr", networks=6, steps=150, seed=3)
    t = zoo.table
    assert len(t) == 6 and t["frequency"].between(0.5, 10).all()
    assert (t["fit_mse"] < 0.5).all()  # sin(a x) has variance 0.5: every fit is better than a constant
    x = torch.linspace(-3, 3, 17)
    net = zoo.net(2)
    params = [net.params[f"{i}.{kind}"][None] for i in (0, 2, 4) for kind in ("weight", "bias")]
    assert torch.allclose(net(x[:, None])[:, 0], sine_siren_values(params, x)[0], atol=1e-5)
    assert make_sine_inr_zoo(tmp_path / "again", networks=6, steps=150, seed=3).table.equals(t)


def test_cli_train_eval_embed(tmp_path):
    scale_zoo(tmp_path / "zoo")
    runner = CliRunner()
    res = runner.invoke(
        app,
        ["encode", "train", "--zoo", str(tmp_path / "zoo"), "--target", "scale", "--encoder", "statnn",
         "--epochs", "5", "--out", str(tmp_path / "enc")],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "test" in res.output and (tmp_path / "enc.safetensors").is_file() and (tmp_path / "enc.png").is_file()
    res = runner.invoke(app, ["encode", "eval", str(tmp_path / "enc.safetensors"), "--zoo", str(tmp_path / "zoo")])
    assert res.exit_code == 0 and "tau" in res.output, res.output
    res = runner.invoke(app, ["encode", "embed", str(tmp_path / "enc.safetensors"), "--zoo", str(tmp_path / "zoo")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "zoo" / "embeddings" / "enc.safetensors").is_file()
    assert (tmp_path / "zoo" / "embeddings" / "enc.png").is_file()


def test_cli_trains_a_canonical_sne_that_permutations_cannot_move(tmp_path):
    import json

    scale_zoo(tmp_path / "zoo", n=24)
    res = CliRunner().invoke(
        app,
        ["encode", "train", "--zoo", str(tmp_path / "zoo"), "--target", "kind", "--encoder", "sne", "--canonical",
         "--epochs", "1", "--width", "8", "--depth", "1", "--dim", "4", "--out", str(tmp_path / "enc")],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert Predictor.load(tmp_path / "enc.safetensors").config.canonical
    report = json.loads((tmp_path / "enc.report.json").read_text())
    assert report["permutation_gap"] < 1e-5 and set(report["test_predictions"]["true"]) <= {"a", "b"}
    assert (tmp_path / "enc.png").is_file()  # the confusion matrix, drawn from the report's predictions


def test_encoders_saved_before_configs_moved_into_headers_still_load(tmp_path):
    """Files of the older convention (config only in the JSON beside the weights) load the same model."""
    import json

    from safetensors.torch import save_file

    net = Net.init(mlp(3, [4], 2), 0)
    config = EncoderConfig(kind="statnn", target="t", task="regression").with_example(WeightBatch.of([net]))
    model = Predictor(config)
    path = model.save(tmp_path / "new")
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, tmp_path / "old.safetensors")
    (tmp_path / "old.json").write_text(json.dumps(config.model_dump(mode="json")))
    old, new = Predictor.load(tmp_path / "old"), Predictor.load(path)
    assert old.config == new.config == model.config


# -- augmentations: symmetric twins of the training networks ---------------------------------------------------------
@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), flatten=st.booleans())
def test_sign_flips_keep_the_function_of_odd_activation_networks(seed, flatten):
    from weightspace.encode import WeightBatch as WB
    from weightspace.nets import Activation, ArchSpec, Conv2d, Flatten, Linear
    from weightspace.nets import mlp as mlp_preset

    if flatten:
        spec = ArchSpec(
            input_shape=(2, 5, 5),
            layers=[Conv2d(out_channels=3, kernel_size=3), Activation(fn="tanh"), Flatten(), Linear(out_features=2)],
        )
    else:
        spec = mlp_preset(3, [6, 5], 2, activation="sin")
    assert sign_symmetric(spec)
    nets = [random_net(spec, seed + i) for i in range(2)]
    batch = WB.of(nets)
    flipped = batch.sign_flipped(torch.Generator().manual_seed(seed))
    x = torch.randn(4, *spec.input_shape, generator=torch.Generator().manual_seed(seed))
    for k, net in enumerate(nets):
        twin = dict(net.params)
        for pos, i in enumerate(spec.parametric_layers()):
            twin[f"{i}.weight"] = flipped.weights[pos][k]
            if flipped.biases[pos] is not None:
                twin[f"{i}.bias"] = flipped.biases[pos][k]
        with torch.no_grad():
            torch.testing.assert_close(Net(spec, twin).as_module()(x), net.as_module()(x), atol=1e-5, rtol=1e-5)
    assert not sign_symmetric(mlp_preset(3, [6], 1, activation="relu"))


def test_augmented_training_runs_and_refuses_sign_flips_of_relu_networks(tmp_path):
    zoo = scale_zoo(tmp_path / "zoo", n=20)  # relu MLPs
    config = EncoderConfig(kind="graph", target="scale", width=8, dim=4, head_width=16)
    model, report = train_on_zoo(zoo, config, FitConfig(epochs=2, batch_size=8, li_weight=0.0, augment=["permute"]))
    assert len(report["history"]) == 2
    with pytest.raises(WeightspaceError, match="odd hidden activations"):
        train_on_zoo(zoo, config, FitConfig(epochs=1, augment=["sign-flip"]))


def test_a_zoo_with_its_own_split_column_keeps_it(tmp_path):
    from weightspace.recipes import split_rows

    zoo = scale_zoo(tmp_path / "zoo", n=12)
    rows = [dict(r) | {"split": ["train", "val", "test"][i % 3]} for i, r in enumerate(zoo.table.to_dict("records"))]
    rows = [{k: v for k, v in r.items() if k not in ("shard", "index", "spec")} for r in rows]
    own = write_zoo(tmp_path / "own", "own", zoo.batch(), rows)
    assert split_rows(own, "test", seed=0).tolist() == list(range(2, 12, 3))
    assert split_rows(own, "test", seed=0).tolist() == split_rows(own, "test", seed=5).tolist()


# -- INR classification: every encoder on a tiny image-INR zoo ------------------------------------------------------
@pytest.fixture(scope="module")
def inr_zoo(tmp_path_factory):
    from weightspace.train import SirenFit
    from weightspace.zoo import make_image_inr_zoo

    return make_image_inr_zoo(tmp_path_factory.mktemp("inr") / "z", "digits", per_class=3, fit=SirenFit(steps=5))


@pytest.mark.parametrize("kind", ["sne", "mlp", "statnn", "deepsets", "nfn-np", "nfn-hnp", "graph"])
def test_every_encoder_trains_on_an_inr_zoo_and_keeps_its_split(kind, inr_zoo):
    config = EncoderConfig(kind=kind, target="task", task="classes", width=8, dim=4, depth=1, hidden=16, head_width=16)
    model, report = train_on_zoo(inr_zoo, config, FitConfig(epochs=1, batch_size=8, li_weight=0.0))
    split = inr_zoo.table["split"]
    assert report["train_networks"] == int((split == "train").sum())  # the zoo's own split, not a random one
    assert 0 <= report["test"]["accuracy"] <= 1 and len(model.config.classes) == 10


def test_an_encoder_for_inrs_refuses_another_architecture_in_one_line(inr_zoo, tmp_path):
    config = EncoderConfig(kind="statnn", target="task", task="classes", hidden=16, head_width=16)
    model, _ = train_on_zoo(inr_zoo, config, FitConfig(epochs=1, batch_size=8, li_weight=0.0))
    from weightspace.train import SirenFit
    from weightspace.zoo import make_image_inr_zoo

    narrow = SirenFit(hidden=16, steps=2)  # SIREN 2-16-16-1, not 2-32-32-1
    other = make_image_inr_zoo(tmp_path / "narrow", "digits", per_class=1, fit=narrow)
    with pytest.raises(EncodeError, match="one architecture"):
        evaluate_on_zoo(model, other, split="all")


def _dense_fit(settings: dict) -> list[dict]:
    """Two epochs of the graph metanetwork on 48 random SIRENs with FitConfig `settings`."""
    from weightspace.encode import Part, Predictor, fit_predictor
    from weightspace.train import siren_spec

    batch = WeightBatch.of(NetBatch.of([Net.init(siren_spec(), i) for i in range(48)]))
    target = torch.arange(48) % 3
    config = EncoderConfig(kind="graph", width=8, dim=8, depth=1, target="label", task="classes", classes=[0, 1, 2])
    torch.manual_seed(0)  # the encoder's init
    model = Predictor(config.with_example(batch))
    part = Part(batch, target, np.arange(48))
    return fit_predictor(model, [part], [part], FitConfig(epochs=2, batch_size=16, seed=0, **settings))


def test_the_dense_path_runs_the_step_it_is_given_and_bf16_only_on_cuda(monkeypatch):
    """compile=True hands the training step to torch.compile (here a recording stand-in, so both runs are the same
    kernels and must agree exactly); bf16 autocast is CUDA's only, so on a CPU the run is unchanged."""
    eager = _dense_fit({})
    compiled = []
    monkeypatch.setattr(torch, "compile", lambda model, **kw: compiled.append(kw) or model)
    assert _dense_fit({"compile": True, "bf16": True}) == eager and compiled == [{"dynamic": False}]


@pytest.mark.slow
def test_the_compiled_step_trains_as_the_eager_one():
    """Through the real torch.compile: other kernels, so the losses agree closely, not bit for bit."""
    eager, compiled = _dense_fit({}), _dense_fit({"compile": True})
    for a, b in zip(eager, compiled, strict=True):
        assert b["train_loss"] == pytest.approx(a["train_loss"], rel=1e-4)
        assert b["val_loss"] == pytest.approx(a["val_loss"], rel=1e-4)
