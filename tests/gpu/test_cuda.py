"""CUDA paths: skipped cleanly where no GPU is present (CI); run with `pytest -m gpu` on a GPU machine."""

import hashlib

import pytest
import torch

from weightspace.data import load_digits, one_vs_rest
from weightspace.nets import NetBatch, init_net, small_cnn
from weightspace.train import Training, fit, fit_stacked
from weightspace.zoo import generate

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


@pytest.mark.parametrize("seeds", [[100, 200, 300], [55, 55, 55]], ids=["independent", "shared-order"])
def test_batched_engine_on_cuda_matches_the_cpu_loop(monkeypatch, seeds):
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)  # compare float32 with float32
    data = load_digits()
    spec = small_cnn(data.input_shape, padding=1, classes=1)
    tasks = [one_vs_rest(data, k) for k in (0, 3, 7)]
    recipe = Training(lr=1e-2, epochs=2, batch_size=64)
    nets = [init_net(spec, 10 + m, "glorot_uniform") for m in range(3)]
    loop = [fit(n, t, recipe.model_copy(update={"seed": s})) for n, t, s in zip(nets, tasks, seeds)]
    batched = fit_stacked(
        NetBatch.of(nets), data.x_train, torch.stack([t.y_train for t in tasks]), data.x_test,
        torch.stack([t.y_test for t in tasks]), recipe, seeds, device="cuda",
    )  # fmt: skip
    for m, net in enumerate(batched.checkpoints[2].nets()):
        gap = (loop[m].net.flat() - net.flat()).abs().max().item()
        assert gap < 1e-4, gap
        assert batched.metrics[2][m]["test_accuracy"] == pytest.approx(loop[m].history[-1]["test_accuracy"], abs=1e-2)


def test_cuda_zoo_is_bit_for_bit_reproducible(tmp_path, tiny_config):
    def hashes(root):
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted((root / "shards").iterdir())}

    first = generate(tiny_config, tmp_path / "a", device="cuda")
    second = generate(tiny_config, tmp_path / "b", device="cuda")
    assert hashes(first.root) == hashes(second.root)
    assert len(hashes(first.root)) == 3


def test_fast_gpu_engine_trains_like_the_deterministic_one():
    """bf16 autocast + fused Adam + TF32: other bits, the same networks to within mixed-precision drift."""
    data = load_digits()
    spec = small_cnn(data.input_shape, padding=1, classes=1)
    tasks = [one_vs_rest(data, k) for k in range(4)]
    nets = NetBatch.of([init_net(spec, m, "glorot_uniform") for m in range(4)])
    training = Training(lr=3e-3, epochs=3, batch_size=64)
    args = (nets, data.x_train, torch.stack([t.y_train for t in tasks]), data.x_test,
            torch.stack([t.y_test for t in tasks]), training, [1, 2, 3, 4])  # fmt: skip
    exact = fit_stacked(*args, device="cuda")
    fast = fit_stacked(*args, device="cuda", deterministic=False)
    for a, b in zip(exact.metrics[3], fast.metrics[3]):
        assert abs(a["test_auc"] - b["test_auc"]) < 0.02 and b["test_auc"] > 0.95
    drift = (exact.checkpoints[3].params["0.weight"] - fast.checkpoints[3].params["0.weight"]).norm()
    assert drift < 0.1 * exact.checkpoints[3].params["0.weight"].norm()
