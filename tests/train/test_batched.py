import pytest
import torch

from weightspace.data import load_digits, one_vs_rest
from weightspace.errors import WeightspaceError
from weightspace.nets import (
    BatchNorm,
    Linear,
    Net,
    NetBatch,
    inception_small,
    init_net,
    mlp,
    resnet,
    small_cnn,
    vit_tiny,
)
from weightspace.train import StackedModel, Training, fit, fit_stacked, kernels_problem, logits_of, train_module

# Engine-vs-loop equivalence runs in float64. In float32 two epochs of Adam amplify the last-bit differences between
# two kernels (a grouped conv against one network's conv) to ~1e-2 on some CPUs; in float64 both sides agree to
# ~1e-14 on any machine, so a real difference (a wrong order, a wrong gradient) still fails at 1e-10.
EXACT = 1e-10


def loop64(net: Net, task, recipe: Training) -> dict[str, torch.Tensor]:
    """`fit`'s training loop in float64: the trained tensors of `net`."""
    module = net.as_module().double()
    task = task.replace(x_train=task.x_train.double(), x_test=task.x_test.double())
    train_module(logits_of(net.spec, module), task, recipe)
    return {k: v.detach() for k, v in module.state_dict().items()}


def stacked64(spec, nets, data, tasks, recipe, seeds, **options):
    init = NetBatch.of(nets).to(torch.float64)
    y_train, y_test = torch.stack([t.y_train for t in tasks]), torch.stack([t.y_test for t in tasks])
    return fit_stacked(init, data.x_train.double(), y_train, data.x_test.double(), y_test, recipe, seeds,
                       **options)  # fmt: skip


def gap(a: NetBatch, b: dict[str, torch.Tensor], m: int) -> float:
    return max((a.params[k][m] - b[k]).abs().max().item() for k in b if k in a.params)  # a counts no batches


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_batched_engine_gives_the_plain_loops_weights(optimizer):
    data = load_digits()
    spec = small_cnn(data.input_shape, padding=1, classes=1)
    tasks = [one_vs_rest(data, k) for k in (0, 3, 7)]
    recipe = Training(optimizer=optimizer, lr=1e-2, epochs=2, batch_size=64, weight_decay=1e-4, momentum=0.9)
    nets = [init_net(spec, 10 + m, "glorot_uniform") for m in range(3)]
    seeds = [100, 200, 300]
    loop = [loop64(n, t, recipe.model_copy(update={"seed": s})) for n, t, s in zip(nets, tasks, seeds)]
    batched = stacked64(spec, nets, data, tasks, recipe, seeds, checkpoints=[1, 2], group=3)
    one_by_one = stacked64(spec, nets, data, tasks, recipe, seeds, checkpoints=[1, 2], group=1)
    assert batched.checkpoints[2].params["0.weight"].dtype == torch.float64
    assert (
        one_by_one.checkpoints[2].params["0.weight"] - batched.checkpoints[2].params["0.weight"]
    ).abs().max() < EXACT
    assert one_by_one.metrics[1][2]["test_loss"] == pytest.approx(batched.metrics[1][2]["test_loss"], abs=1e-5)
    for m in range(3):
        assert gap(batched.checkpoints[2], loop[m], m) < EXACT
    assert batched.metrics[1][0]["test_loss"] != batched.metrics[2][0]["test_loss"]  # two real checkpoints


def test_the_engine_in_float32_reaches_the_loops_outcome():
    """float32, as zoos are trained: the outcome (metrics) agrees with the plain loop; weights are not compared,
    since kernels differ in their last bits from machine to machine."""
    data = load_digits()
    spec = small_cnn(data.input_shape, padding=1, classes=1)
    tasks = [one_vs_rest(data, k) for k in (0, 3)]
    recipe = Training(lr=1e-2, epochs=2, batch_size=64)
    nets = [init_net(spec, 10 + m, "glorot_uniform") for m in range(2)]
    loop = [fit(n, t, recipe.model_copy(update={"seed": s})) for n, t, s in zip(nets, tasks, [1, 2])]
    y_train, y_test = torch.stack([t.y_train for t in tasks]), torch.stack([t.y_test for t in tasks])
    batched = fit_stacked(NetBatch.of(nets), data.x_train, y_train, data.x_test, y_test, recipe, [1, 2], group=2)
    for m in range(2):
        for key in ("test_accuracy", "test_auc"):
            assert batched.metrics[2][m][key] == pytest.approx(loop[m].history[-1][key], abs=0.02)


def test_batched_engine_refuses_batchnorm_and_bad_labels():
    spec = mlp(4, [3], 2)
    spec_bn = spec.model_copy(update={"layers": [Linear(out_features=3), BatchNorm(), Linear(out_features=2)]})
    with pytest.raises(WeightspaceError, match="batchnorm"):
        fit_stacked(
            NetBatch.of([Net.init(spec_bn, 0)]),
            torch.rand(8, 4),
            torch.zeros(1, 8, dtype=torch.long),
            torch.rand(2, 4),
            torch.zeros(1, 2, dtype=torch.long),
            Training(epochs=1),
            [0],
        )
    with pytest.raises(WeightspaceError, match="labels must be"):
        fit_stacked(
            NetBatch.of([Net.init(spec, 0)]),
            torch.rand(8, 4),
            torch.zeros(8, dtype=torch.long),
            torch.rand(2, 4),
            torch.zeros(1, 2, dtype=torch.long),
            Training(epochs=1),
            [0],
        )


@pytest.mark.parametrize("unfold_convs", [False, True])
def test_stacked_forward_equals_each_network_alone(unfold_convs):
    """Both conv paths (grouped, unfold + bmm) on every layer kind the engine takes."""
    from weightspace.nets import Activation, ArchSpec, Conv2d, GlobalPool, Pool2d, lenet5_seed
    from weightspace.train import StackedModel, logits_of

    odd = ArchSpec(
        input_shape=(2, 9, 9),
        layers=[
            Conv2d(out_channels=3, kernel_size=4, padding="same"),
            Activation(fn=["relu", "tanh", "sin"]),
            Conv2d(out_channels=2, kernel_size=3, stride=2, padding=1, bias=False),
            Pool2d(op="max", kernel_size=2),
            GlobalPool(op="avg"),
            Linear(out_features=2, bias=False),
        ],
    )
    for spec in (lenet5_seed(), small_cnn((3, 12, 12), padding=2, classes=4), mlp(5, [4, 3], 2), odd):
        nets = [init_net(spec, i) for i in range(3)]
        x = torch.rand(3, 5, *spec.input_shape)
        model = StackedModel(spec, compile=False)
        model.unfold_convs = unfold_convs
        out = model.forward(NetBatch.of(nets).params, x)
        alone = torch.stack([logits_of(spec, n.as_module())(x[i]) for i, n in enumerate(nets)])
        assert (out - alone).abs().max() < 1e-5
        shared = model.forward(NetBatch.of(nets).params, x[0], shared_input=True)
        for i, net in enumerate(nets):
            assert (shared[i] - logits_of(spec, net.as_module())(x[0])).abs().max() < 1e-5


def test_networks_of_one_batch_order_train_as_each_alone():
    """Equal order seeds take the wide-first-layer path; each network still gets the plain loop's weights."""
    data = load_digits()
    spec = small_cnn(data.input_shape, padding=1, classes=1)
    tasks = [one_vs_rest(data, k) for k in (1, 4, 8)]
    recipe = Training(lr=1e-2, epochs=2, batch_size=64, seed=55)
    nets = [init_net(spec, 20 + m, "glorot_uniform") for m in range(3)]
    loop = [loop64(n, t, recipe) for n, t in zip(nets, tasks)]
    batched = stacked64(spec, nets, data, tasks, recipe, [55] * 3, group=3)
    for m in range(3):
        assert gap(batched.checkpoints[2], loop[m], m) < EXACT


GRAPHS = {  # at the size of the 8x8 digits, small enough for the default run
    "resnet": lambda shape: resnet(8, shape, classes=1, width=4),
    "vit-tiny": lambda shape: vit_tiny(shape, classes=1, patch=4, dim=8, heads=2, depth=1),
    "inception-small": lambda shape: inception_small(shape, classes=1, width=0.25),
}


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_the_engine_on_a_graph_gives_the_plain_loops_weights_and_running_statistics(name):
    data = load_digits()
    spec = GRAPHS[name](data.input_shape)
    tasks = [one_vs_rest(data, k) for k in (0, 3)]
    recipe = Training(lr=1e-2, epochs=1, batch_size=128)
    nets, seeds = [init_net(spec, 10 + m) for m in range(2)], [100, 200]
    loop = [loop64(n, t, recipe.model_copy(update={"seed": s})) for n, t, s in zip(nets, tasks, seeds)]
    batched = stacked64(spec, nets, data, tasks, recipe, seeds, group=2)
    alone = stacked64(spec, nets, data, tasks, recipe, seeds, group=1)  # the CPU's default: one network at a time
    for m in range(2):
        assert gap(batched.checkpoints[1], loop[m], m) < EXACT and gap(alone.checkpoints[1], loop[m], m) < EXACT
    if name != "vit-tiny":  # batchnorm's running statistics moved, network by network
        assert (
            batched.checkpoints[1].params["stem_bn.running_mean"] - nets[0].params["stem_bn.running_mean"]
        ).abs().max() > 0
    assert batched.metrics[1][0]["test_auc"] > 0.5


@pytest.mark.parametrize("first", ["conv", "linear"])
def test_order_groups_train_each_network_as_alone(first):
    """K runs of consecutive networks sharing a batch order take the one-dense-first-layer-per-group path; every
    network still gets the plain loop's weights."""
    data = load_digits()
    spec = small_cnn(data.input_shape, padding=1, classes=1) if first == "conv" else mlp(64, [16], 1)
    if first == "linear":
        data = data.replace(x_train=data.x_train.flatten(1), x_test=data.x_test.flatten(1))
        spec = spec.model_copy(update={"input_shape": (64,)})
    tasks = [one_vs_rest(data, k) for k in (1, 4, 8, 2)]
    recipe = Training(lr=1e-2, epochs=2, batch_size=64)
    nets = [init_net(spec, 30 + m, "glorot_uniform") for m in range(4)]
    seeds = [7, 7, 9, 9]  # two order groups of two networks
    loop = [loop64(n, t, recipe.model_copy(update={"seed": s})) for n, t, s in zip(nets, tasks, seeds)]
    batched = stacked64(spec, nets, data, tasks, recipe, seeds, group=4)
    for m in range(4):
        assert gap(batched.checkpoints[2], loop[m], m) < EXACT


def test_order_groups_are_equal_runs_of_one_seed():
    from weightspace.train.stacked_fit import order_groups

    assert [order_groups(s) for s in ([5, 5, 5], [1, 1, 2, 2], [1, 2, 3], [1, 1, 2], [7], [1, 1, 2, 2, 1, 1])] == [
        1, 2, 0, 0, 0, 0
    ]  # fmt: skip


def test_kernels_that_cannot_run_are_refused_before_any_work(monkeypatch):
    """A --kernels choice the device cannot run is one line saying what to change, from the library as from the
    CLI (zoo generate checks it before its workers start)."""
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    assert kernels_problem(None, "cpu") is None and kernels_problem("grouped", "cuda") is None
    assert "one of grouped, unfold, inductor, triton" in kernels_problem("cudnn", "cpu")
    assert kernels_problem("triton", "cpu").endswith("pass --device cuda")
    with pytest.raises(WeightspaceError, match="runs on CUDA"):
        StackedModel(small_cnn(), "cpu", kernels="triton")
    monkeypatch.setenv("TRITON_INTERPRET", "1")  # the interpreter runs the kernels anywhere (the kernels' tests)
    assert kernels_problem("triton", "cpu") is None or "needs Triton" in kernels_problem("triton", "cpu")
