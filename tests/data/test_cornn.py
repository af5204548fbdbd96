import numpy as np
import pytest
import torch

from weightspace.data import load
from weightspace.data.cornn import FUNCTIONS, NAMES, SAMPLES, TRAIN, load_all, load_cornn, raw_samples
from weightspace.errors import WeightspaceError


def test_the_suite_has_54_functions_with_unique_names():
    assert len(FUNCTIONS) == 54 and len(NAMES) == 54


@pytest.mark.parametrize("key", list(NAMES))
def test_each_task_domain_split_and_scaling(key):
    name = NAMES[key]
    points, values = raw_samples(name)
    _, xd, yd = FUNCTIONS[name]
    assert points.shape == (SAMPLES, 2) and np.isfinite(values).all()
    assert xd[0] <= points[:, 0].min() and points[:, 0].max() <= xd[1]
    assert yd[0] <= points[:, 1].min() and points[:, 1].max() <= yd[1]
    task = load_cornn(key)
    assert task.x_train.shape == (TRAIN, 2) and task.x_test.shape == (SAMPLES - TRAIN, 2)
    assert task.y_train.shape == (TRAIN, 1) and task.y_test.shape == (SAMPLES - TRAIN, 1)
    inputs = torch.cat([task.x_train, task.x_test])
    assert inputs.min() >= -1 and inputs.max() <= 1
    # inputs scaled by the known domain, targets by the training min/max (test targets use the same map)
    lo, hi = np.array([xd[0], yd[0]]), np.array([xd[1], yd[1]])
    np.testing.assert_allclose(task.x_test[0].numpy(), 2 * (points[TRAIN] - lo) / (hi - lo) - 1, rtol=1e-5)
    assert task.y_train.min().item() == pytest.approx(-1) and task.y_train.max().item() == pytest.approx(1)
    t_lo, t_hi = values[:TRAIN].min(), values[:TRAIN].max()
    assert task.y_test[0, 0].item() == pytest.approx(2 * (values[TRAIN] - t_lo) / (t_hi - t_lo) - 1, rel=1e-5, abs=1e-6)


def test_regenerated_rows_match_the_suites_files():
    # first training row of the suite's data_sets/Ackley_train_set.csv
    points, values = raw_samples("Ackley")
    np.testing.assert_allclose(points[0], [3.124064251348784, -8.526065948671317], rtol=1e-12)
    assert values[0] == pytest.approx(16.309255857967994, rel=1e-12)


def test_styblinski_tang_keeps_the_suites_5_to_the_x():
    fn = FUNCTIONS["Styblinski-Tang"][0]
    assert fn(np.array(2.0), np.array(0.0)) == pytest.approx(0.5 * (16 - 64 + 25 + 1))


def test_predict_the_mean_reference_point():
    tasks = load_all()
    mse = [(t.y_test - t.y_train.mean()).pow(2).mean().item() for t in tasks.values()]
    assert np.mean(mse) == pytest.approx(0.124, abs=0.001)


def test_loader_names_and_errors():
    assert load("cornn:ackley-n2").name == "cornn:ackley-n2"
    with pytest.raises(WeightspaceError, match="unknown CORNN task"):
        load("cornn:nope")
