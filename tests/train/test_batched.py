import pytest
import torch

from weightspace.data import load_digits, one_vs_rest
from weightspace.errors import WeightspaceError
from weightspace.nets import BatchNorm, Linear, Net, mlp, small_cnn
from weightspace.nets.init import init_net
from weightspace.train import Recipe, fit
from weightspace.train.batched import fit_stacked, stack, unstack


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_batched_engine_gives_the_plain_loops_weights(optimizer):
    data = load_digits()
    spec = small_cnn(data.input_shape, padding=1, classes=1)
    tasks = [one_vs_rest(data, k) for k in (0, 3, 7)]
    recipe = Recipe(optimizer=optimizer, lr=1e-2, epochs=2, batch_size=64, weight_decay=1e-4, momentum=0.9)
    nets = [init_net(spec, 10 + m, "glorot_uniform") for m in range(3)]
    seeds = [100, 200, 300]
    loop = [fit(n, t, recipe.model_copy(update={"seed": s})) for n, t, s in zip(nets, tasks, seeds)]
    batched = fit_stacked(
        spec, stack(nets), data.x_train, torch.stack([t.y_train for t in tasks]), data.x_test,
        torch.stack([t.y_test for t in tasks]), recipe, seeds, checkpoints=[1, 2],
    )  # fmt: skip
    trained = unstack(spec, batched.checkpoints[2])
    for m in range(3):
        assert (loop[m].net.flat() - trained[m].flat()).abs().max() < 1e-4
        for key in ("test_accuracy", "test_auc", "train_loss"):
            assert batched.metrics[2][m][key] == pytest.approx(loop[m].history[-1][key], abs=1e-4)
    assert batched.metrics[1][0]["test_loss"] != batched.metrics[2][0]["test_loss"]  # two real checkpoints


def test_batched_engine_refuses_batchnorm_and_bad_labels():
    spec = mlp(4, [3], 2)
    spec_bn = spec.model_copy(update={"layers": [Linear(out_features=3), BatchNorm(), Linear(out_features=2)]})
    with pytest.raises(WeightspaceError, match="batchnorm"):
        fit_stacked(
            spec_bn,
            stack([Net.init(spec_bn, 0)]),
            torch.rand(8, 4),
            torch.zeros(1, 8, dtype=torch.long),
            torch.rand(2, 4),
            torch.zeros(1, 2, dtype=torch.long),
            Recipe(epochs=1),
            [0],
        )
    with pytest.raises(WeightspaceError, match="labels must be"):
        fit_stacked(
            spec,
            stack([Net.init(spec, 0)]),
            torch.rand(8, 4),
            torch.zeros(8, dtype=torch.long),
            torch.rand(2, 4),
            torch.zeros(1, 2, dtype=torch.long),
            Recipe(epochs=1),
            [0],
        )
