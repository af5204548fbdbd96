import pytest
import torch
from sklearn.metrics import roc_auc_score

from weightspace.data import load_digits, one_vs_rest
from weightspace.nets import Net, lenet5_seed, small_cnn
from weightspace.train import Training, binary_auc, classification_metrics, evaluate, fit


def test_fit_learns_digits_and_is_reproducible():
    data = load_digits()
    spec = small_cnn(data.input_shape, padding=1)
    recipe = Training(epochs=3, lr=1e-2, batch_size=64, seed=1)
    untrained = evaluate(Net.init(spec, 0).as_module(), data.x_test, data.y_test)["accuracy"]
    a = fit(Net.init(spec, 0), data, recipe)
    b = fit(Net.init(spec, 0), data, recipe)
    assert untrained < 0.3 and a.history[-1]["test_accuracy"] > 0.6  # chance is 0.1; training lifts it
    assert torch.equal(a.net.flat(), b.net.flat())
    c = fit(Net.init(spec, 0), data, recipe.model_copy(update={"seed": 2}))
    assert not torch.equal(a.net.flat(), c.net.flat())


def test_binary_task_reports_precision_recall_f1_auc():
    data = one_vs_rest(load_digits(size=32), 0)
    result = fit(Net.init(lenet5_seed((1, 32, 32)), 0), data, Training(epochs=2, seed=0))
    row = result.history[-1]
    for key in ("accuracy", "precision", "recall", "f1", "auc", "loss"):
        assert 0.0 <= row[f"test_{key}"] <= (1.0 if key != "loss" else 10.0)
    assert row["test_auc"] > 0.8


def test_auc_matches_sklearn_with_ties():
    g = torch.Generator().manual_seed(0)
    scores = torch.randint(0, 5, (200,), generator=g).float()
    labels = torch.randint(0, 2, (200,), generator=g)
    assert binary_auc(scores, labels) == pytest.approx(roc_auc_score(labels, scores))


def test_metrics_on_known_predictions():
    logits = torch.tensor([[2.0], [-1.0], [3.0], [-2.0]])
    m = classification_metrics(logits, torch.tensor([1, 1, 0, 0]))
    assert m["accuracy"] == 0.5 and m["precision"] == 0.5 and m["recall"] == 0.5 and m["f1"] == 0.5
    assert m["auc"] == 0.5
    m = classification_metrics(torch.eye(3) * 5, torch.tensor([0, 1, 1]))
    assert m["accuracy"] == pytest.approx(2 / 3)
