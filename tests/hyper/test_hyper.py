"""hyper: the generic API on a user's own module, Ha's static kernel generator, HyperLSTM, resumable training."""

import pytest
import torch
from torch import nn
from typer.testing import CliRunner

from weightspace.cli import app
from weightspace.errors import WeightspaceError
from weightspace.hyper import (
    CharLM,
    ChunkedHyper,
    HyperError,
    HyperLSTMCell,
    HyperModel,
    KernelHyper,
    LMConfig,
    LMTraining,
    ha_mnist_cnn,
    module_layout,
    static_model,
    train_lm,
)
from weightspace.nets import count_parameters


class UserNet(nn.Module):
    """Not built from an ArchSpec, not ours: a hypernetwork must still fit it."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(5, 7)
        self.head = nn.Sequential(nn.ReLU(), nn.Linear(7, 3))

    def forward(self, x):
        return self.head(self.fc1(x))


def test_generic_api_on_a_user_module_generates_named_params_and_trains_the_hypernetwork():
    torch.manual_seed(0)
    target = UserNet()
    slots = module_layout(target, ["head.1.weight", "head.1.bias"])
    assert slots.size == 7 * 3 + 3
    model = HyperModel(target, slots, ChunkedHyper(slots.size, chunk=10, chunk_dim=4))
    names = {n for n, _ in model.named_parameters()}
    assert "target.head.1.weight" not in names and "target.fc1.weight" in names  # released, not dead weights
    x = torch.randn(8, 5)
    out = model(x)
    # the same as the module run with the generated tensors put in by hand
    gen = model.generate()
    manual = UserNet()
    manual.fc1.load_state_dict(target.fc1.state_dict())
    manual.head[1].weight.data, manual.head[1].bias.data = gen["head.1.weight"].detach(), gen["head.1.bias"].detach()
    torch.testing.assert_close(out, manual(x))
    out.pow(2).sum().backward()
    assert model.hyper.chunks.grad.abs().sum() > 0 and model.hyper.mlp[0].weight.grad.abs().sum() > 0
    assert target.fc1.weight.grad.abs().sum() > 0


def test_slots_name_the_available_parameters_when_one_is_wrong():
    with pytest.raises(HyperError, match="fc1.weight"):
        module_layout(UserNet(), ["fc9.weight"])
    with pytest.raises(WeightspaceError, match="layout of 24"):
        module_layout(UserNet(), ["head.1.weight", "head.1.bias"]).split(torch.zeros(23))


def test_conditional_hypernetwork_runs_each_input_with_its_own_parameter_set():
    torch.manual_seed(0)
    target = UserNet()
    slots = module_layout(target, ["fc1.weight"])
    model = HyperModel(target, slots, ChunkedHyper(slots.size, chunk=16, cond_dim=2))
    cond, x = torch.randn(3, 2), torch.randn(3, 4, 5)
    out = model.forward_each(x, cond)
    assert out.shape == (3, 4, 3)
    for b in range(3):
        torch.testing.assert_close(out[b], model(x[b], cond[b : b + 1]), atol=1e-5, rtol=1e-5)
    with pytest.raises(HyperError, match="condition"):
        model(x[0])


def test_static_hypernetwork_has_the_papers_parameter_counts():
    spec = ha_mnist_cnn()
    assert spec.num_params() == 21_210
    model = static_model(spec, ["3.weight"])
    assert count_parameters(model.hyper) == 4_244 and count_parameters(model) == 12_910
    assert model(torch.randn(2, 1, 28, 28)).shape == (2, 10)


def test_kernel_blocks_tile_a_larger_layer():
    target = nn.Sequential(nn.Conv2d(16, 32, 3), nn.Conv2d(32, 16, 3))
    slots = module_layout(target, ["0.weight", "1.weight"])
    hyper = KernelHyper(slots, z_dim=4, block=(16, 16))
    assert hyper.z.shape[0] == 2 + 2  # one embedding per 16x16 block
    blocks, kernels = hyper.blocks(), hyper()
    assert kernels["0.weight"].shape == (32, 16, 3, 3) and kernels["1.weight"].shape == (16, 32, 3, 3)
    torch.testing.assert_close(kernels["0.weight"][16:], blocks[1])
    torch.testing.assert_close(kernels["1.weight"][:, :16], blocks[2])
    torch.testing.assert_close(kernels["1.weight"][:, 16:], blocks[3])
    with pytest.raises(HyperError, match="multiples"):
        KernelHyper(module_layout(nn.Sequential(nn.Conv2d(16, 24, 3), nn.Conv2d(24, 16, 3)), ["0.weight", "1.weight"]),
                    block=(16, 16))  # fmt: skip


def test_static_training_learns_and_resumes_to_the_same_weights(tmp_path):
    from weightspace.data import load
    from weightspace.train import Training, train_module

    data = load("digits")
    spec = ha_mnist_cnn(data.input_shape, 10)
    full = static_model(spec, ["3.weight"], seed=1)
    history = train_module(full, data, Training(epochs=2, batch_size=64, seed=1))
    assert history[-1]["test_accuracy"] > 0.5  # 10 classes: chance is 0.1
    ckpt = tmp_path / "run.ckpt.safetensors"
    part = static_model(spec, ["3.weight"], seed=1)
    train_module(part, data, Training(epochs=1, batch_size=64, seed=1), checkpoint=ckpt)
    resumed = static_model(spec, ["3.weight"], seed=1)
    again = train_module(resumed, data, Training(epochs=2, batch_size=64, seed=1), checkpoint=ckpt)
    assert [h["epoch"] for h in again] == [1, 2]
    for a, b in zip(full.state_dict().values(), resumed.state_dict().values()):
        torch.testing.assert_close(a, b)


def test_hyperlstm_scaling_vectors_start_at_one_tenth_and_gradients_reach_the_hypernetwork():
    torch.manual_seed(0)
    cell = HyperLSTMCell(6, 10, hyper_hidden=8, z_dim=4)
    z = cell.to_z(torch.randn(3, 8)).view(3, 3, 4, 4)
    d_h = torch.einsum("bgz,gzh->bgh", z[:, 0], cell.d_h)
    torch.testing.assert_close(d_h, torch.full_like(d_h, 0.1))
    out, state = cell(torch.randn(3, 5, 6))
    assert out.shape == (3, 5, 10) and len(state) == 4
    out.pow(2).sum().backward()
    assert cell.hyper.weight_ih.grad.abs().sum() > 0 and cell.d_h.grad.abs().sum() > 0


TEXT = "the quick brown fox jumps over the lazy dog. " * 40


@pytest.mark.parametrize("kind", ["lstm", "ln-lstm", "hyper-lstm"])
def test_language_models_learn_and_resume_exactly(kind, tmp_path):
    vocab = "".join(sorted(set(TEXT)))
    ids = torch.tensor([vocab.index(c) for c in TEXT])
    config = LMConfig(kind=kind, vocab=vocab, embed=8, hidden=24, hyper_hidden=8)
    recipe = LMTraining(steps=40, seq_len=20, batch=4, lr=1e-2, eval_every=20)
    model, history = train_lm(config, ids, ids[:200], recipe)
    assert history[-1]["valid_bpc"] < history[0]["valid_bpc"] < 5.0  # log2(vocab) is 4.6
    ckpt = str(tmp_path / "lm.ckpt.safetensors")
    train_lm(config, ids, ids[:200], recipe.model_copy(update={"steps": 20}), ckpt)
    resumed, again = train_lm(config, ids, ids[:200], recipe, ckpt)
    assert [h["step"] for h in again] == [20, 40]
    for a, b in zip(model.state_dict().values(), resumed.state_dict().values()):
        torch.testing.assert_close(a, b)
    assert len(CharLM(config).sample("the ", 10)) == 14
    with pytest.raises(HyperError, match="never saw"):
        CharLM(config).sample("THE", 5)


def test_cli_trains_samples_and_evaluates_a_language_model(tmp_path):
    text = tmp_path / "corpus.txt"
    text.write_text(TEXT * 3)
    out = tmp_path / "lm"
    runner = CliRunner()
    r = runner.invoke(app, ["hyper", "train", "lstm", "--text", str(text), "--hidden", "16", "--hyper-hidden", "8",
                            "--steps", "6", "--seq-len", "20", "--batch", "4", "--out", str(out)])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "bpc" in r.output and (tmp_path / "lm.safetensors").is_file()
    r = runner.invoke(app, ["hyper", "sample", str(out), "--prime", "the ", "--length", "20"])
    assert r.exit_code == 0 and r.output.startswith("the ")
    r = runner.invoke(app, ["hyper", "eval", str(out), "--text", str(text)])
    assert r.exit_code == 0 and "bits/char" in r.output


@pytest.mark.parametrize("preset", ["wrn", "resnet", "inception-small", "vit-tiny"])
def test_the_generic_hypernetwork_writes_the_kernels_of_a_graph_network(preset):
    """The API takes any module: here every 3x3 kernel (attention projections for the ViT) of a graph preset is
    generated, the rest of the network trains as its own, and one step moves both."""
    from weightspace.nets import GRAPH_PRESETS, build_graph

    spec = GRAPH_PRESETS[preset]()
    target = build_graph(spec)
    names = [k for k, s in spec.state_shapes().items() if s[-2:] == (3, 3) or ".q.weight" in k or ".v.weight" in k]
    slots = module_layout(target, names)
    model = HyperModel(target, slots, ChunkedHyper(slots.size, chunk=256, chunk_dim=8))
    assert slots.size > 0.3 * spec.num_params() or preset == "vit-tiny"
    out = model(torch.rand(4, *spec.input_shape))
    assert out.shape == (4, 10)
    out.square().mean().backward()
    assert model.hyper.chunks.grad.abs().sum() > 0 and target.head.weight.grad.abs().sum() > 0
    if preset in ("wrn", "resnet"):  # Ha et al.'s point: fewer numbers to learn than the kernels they write
        assert sum(p.numel() for p in model.parameters()) < spec.num_params()


def test_hyper_wrn_has_the_papers_parameter_counts():
    """Ha et al., Table 2 (CIFAR-10): WRN-40-2 2.236 M parameters, Hyper-WRN-40-2 0.148 M. Ours keep the stem,
    the 1x1 shortcuts, batchnorm and the head ordinary, as theirs: within 1 % and 6 %."""
    from weightspace.recipes.static_hyper import StaticHyperConfig, target_and_generated

    spec, generated = target_and_generated(StaticHyperConfig(model="wrn", depth=40, widen=2), (3, 32, 32), 10)
    shapes = spec.state_shapes()
    assert len(generated) == 36 and all(shapes[n][2:] == (3, 3) for n in generated)
    assert "stem_conv.weight" not in generated and not any("skip" in n for n in generated)
    ordinary, hyper = static_model(spec, []), static_model(spec, generated, z_dim=64, block=(16, 16))
    assert count_parameters(ordinary) == pytest.approx(2.236e6, rel=0.01)
    assert count_parameters(hyper) == pytest.approx(0.148e6, rel=0.06)
    assert hyper.hyper.z.shape == (sum(shapes[n][0] * shapes[n][1] for n in generated) // 256, 64)
    assert hyper(torch.rand(2, 3, 32, 32)).shape == (2, 10)


def test_the_wrn_experiment_reports_each_seed_and_their_mean(tmp_path):
    from weightspace.recipes.static_hyper import StaticHyperConfig, run

    config = StaticHyperConfig(dataset="digits", model="wrn", train_size=64, epochs=1, batch_size=32, seeds=2)
    rows = run(config, tmp_path)
    assert [(r["model"], r["seed"]) for r in rows] == [("ordinary", 0), ("hypernetwork", 0), ("ordinary", 1),
                                                        ("hypernetwork", 1), ("ordinary", "mean"),
                                                        ("hypernetwork", "mean")]  # fmt: skip
    mean = rows[-1]
    assert mean["test_error"] == pytest.approx((rows[1]["test_error"] + rows[3]["test_error"]) / 2)
    assert mean["test_error_std"] >= 0 and rows[0]["parameters"] > 3 * rows[1]["parameters"]
    assert (tmp_path / "seed1" / "hypernetwork.ckpt.safetensors").exists()


@pytest.mark.parametrize("preset", ["resnet", "inception-small", "vit-tiny"])
def test_the_generic_hypernetwork_writes_any_graph_presets_tensors(preset):
    """A chunked hypernetwork writes every conv/linear/attention weight of a graph's module, and the gradient reaches
    the hypernetwork alone."""
    from weightspace.hyper import ChunkedHyper, HyperModel
    from weightspace.nets import GRAPH_PRESETS, build

    target = build(GRAPH_PRESETS[preset]())
    names = [n for n, p in target.named_parameters() if n.endswith("weight") and p.dim() >= 2]
    slots = module_layout(target, names)
    model = HyperModel(target, slots, ChunkedHyper(slots.size, chunk=512))
    assert not any(n in dict(model.target.named_parameters()) for n in names)  # no dead copies left behind
    model(torch.rand(3, 1, 28, 28)).square().mean().backward()
    assert all(p.grad is not None for p in model.hyper.parameters())
