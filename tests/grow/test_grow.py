import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from weightspace.errors import SpecError, WeightspaceError
from weightspace.grow import deeper, output_gap, widen_all, wider
from weightspace.nets import Activation, BatchNorm, Linear, Net, build, lenet5_seed, mlp, small_cnn

from ..strategies import random_net, specs


def with_relu(spec):
    """The same architecture with every activation ReLU (ReLU admits exact deepening)."""
    layers = [
        layer.model_copy(update={"fn": "relu"}) if isinstance(layer, Activation) else layer for layer in spec.layers
    ]
    return spec.model_copy(update={"layers": layers})


@settings(max_examples=60, deadline=None)
@given(spec=specs, relu=st.booleans(), steps=st.lists(st.tuples(st.booleans(), st.integers(0, 99)), min_size=1,
       max_size=4), seed=st.integers(0, 2**16))  # fmt: skip
def test_random_widenings_and_deepenings_preserve_the_function(spec, relu, steps, seed):
    net = random_net(with_relu(spec) if relu else spec, seed)
    x = torch.rand(16, *spec.input_shape, generator=torch.Generator().manual_seed(seed))
    grown = net
    for widen, pick in steps:
        parametric = grown.spec.parametric_layers()
        if widen:
            layer = parametric[pick % (len(parametric) - 1)] if len(parametric) > 1 else None
            if layer is None:
                continue
            width = grown.spec.shapes()[layer + 1][0]
            grown = wider(grown, layer, width + 1 + pick % 4, seed=pick)
        else:
            layer = parametric[pick % len(parametric)]
            try:
                grown = deeper(grown, after=layer)
            except SpecError as error:  # only refused for an activation that is not idempotent
                assert "not idempotent" in str(error)
                continue
    assert output_gap(net, grown, x) < 1e-5
    fresh = random_net(net.spec, seed)  # the input was not changed
    assert (
        all(torch.equal(net.params[k], fresh.params[k]) for k in fresh.params)
        and net.params.keys() == fresh.params.keys()
    )


def test_wider_across_the_flatten_boundary_of_lenet5():
    net = random_net(lenet5_seed(), 1)
    grown = wider(net, 6, 200, seed=3)  # conv 120 -> 200 channels, then flatten, then dense 84
    assert grown.spec.shapes()[7] == (200, 2, 2)  # each channel owns 4 flattened positions
    assert grown.params["9.weight"].shape == (84, 800)
    assert output_gap(net, grown, torch.rand(8, 3, 32, 32)) < 1e-5
    first = wider(net, 0, 10, seed=0)  # conv 6 -> 10 with 'same' padding, then avg pool and conv
    assert output_gap(net, first, torch.rand(8, 3, 32, 32)) < 1e-5


def test_wider_flatten_blocks_are_divided_per_channel():
    spec = small_cnn((1, 8, 8), padding=1, classes=3)  # conv ... flatten with spatial size > 1 -> linear
    net = random_net(spec, 2)
    layer = spec.parametric_layers()[-2]
    grown = wider(net, layer, spec.shapes()[layer + 1][0] * 2 + 1, seed=5)
    assert output_gap(net, grown, torch.rand(8, 1, 8, 8)) < 1e-5


def test_wider_replicates_batchnorm_and_per_unit_activations():
    spec = mlp(3, [4], 2).model_copy(
        update={
            "layers": [
                Linear(out_features=4),
                BatchNorm(),
                Activation(fn=["relu", "tanh", "sin", "relu"]),
                Linear(out_features=2),
            ]
        }  # fmt: skip
    )
    net = random_net(spec, 0)
    grown = wider(net, 0, 9, seed=1)
    mapping = [grown.params["0.bias"].tolist().index(b) for b in grown.params["0.bias"].tolist()]
    fns = grown.spec.layers[2].fn
    assert len(fns) == 9 and all(fns[j] == spec.layers[2].fn[mapping[j]] for j in range(9))
    assert torch.equal(grown.params["1.running_var"][:4], net.params["1.running_var"])
    assert output_gap(net, grown, torch.rand(32, 3)) < 1e-5


def test_noise_breaks_symmetry_but_stays_close():
    net = random_net(mlp(4, [6], 3), 0)
    x = torch.rand(64, 4)
    exact, noisy = wider(net, 0, 12, seed=1), wider(net, 0, 12, noise=0.01, seed=1)
    assert output_gap(net, exact, x) < 1e-5
    assert 1e-5 < output_gap(net, noisy, x) < 0.1


def test_sequential_in_sequential_out_and_input_untouched():
    seq = build(mlp(5, [7, 6], 2, activation="relu")).train()
    before = {k: v.clone() for k, v in seq.state_dict().items()}
    wide = wider(seq, 0, 11, input_shape=(5,))
    deep = deeper(wide, after=2, input_shape=(5,))
    assert isinstance(deep, torch.nn.Sequential) and deep.training
    x = torch.rand(20, 5)
    seq.eval(), deep.eval()
    assert torch.allclose(seq(x), deep(x), atol=1e-5)
    assert all(torch.equal(before[k], v) for k, v in seq.state_dict().items())
    with pytest.raises(SpecError, match="input_shape"):
        wider(seq, 0, 11)


def test_deeper_conv_identity_kernel_and_batchnorm():
    spec = with_relu(small_cnn((1, 8, 8), padding=1, classes=2))
    spec = spec.model_copy(update={"layers": [spec.layers[0], BatchNorm(), *spec.layers[1:]]})
    net = random_net(spec, 4)
    x = torch.rand(16, 1, 8, 8)
    for k in (1, 3, 5):
        assert output_gap(net, deeper(net, after=0, kernel_size=k), x) < 1e-5
    grown = deeper(net, after=0, data=x)  # batchnorm set from the data: train mode starts near identity too
    train_a, train_b = net.as_module().train(), grown.as_module().train()
    assert (train_a(x) - train_b(x)).abs().max() < 1e-3 * train_a(x).abs().max()
    with pytest.raises(SpecError, match="odd"):
        deeper(net, after=0, kernel_size=4)


def test_deeper_refuses_tanh_unless_approximate():
    net = random_net(lenet5_seed(), 0)
    with pytest.raises(SpecError, match="tanh is not idempotent"):
        deeper(net, after=9)
    with pytest.warns(UserWarning, match="relative output change"):
        grown = deeper(net, after=9, approximate=True)
    assert grown.meta["deeper_output_gap"] > 1e-4
    assert grown.spec.num_params() == net.spec.num_params() + 84 * 84 + 84


def test_clear_errors():
    net = Net.init(mlp(3, [4], 2), 0)
    with pytest.raises(SpecError, match="output layer"):
        wider(net, 2, 5)
    with pytest.raises(SpecError, match="must be larger"):
        wider(net, 0, 4)
    with pytest.raises(SpecError, match="not a linear or conv"):
        wider(net, 1, 8)
    with pytest.raises(SpecError, match="Net or an nn.Module"):
        wider("net.safetensors", 0, 8)


def test_widen_all_multiplies_every_hidden_layer():
    net = random_net(with_relu(small_cnn((1, 8, 8), padding=1, classes=3)), 0)
    grown = widen_all(net, 2.0)
    widths = [grown.spec.shapes()[i + 1][0] for i in grown.spec.parametric_layers()]
    assert widths[:-1] == [2 * net.spec.shapes()[i + 1][0] for i in net.spec.parametric_layers()[:-1]]
    assert output_gap(net, grown, torch.rand(8, 1, 8, 8)) < 1e-5


# -- graphs -----------------------------------------------------------------------------------------------------------
def random_graph_net(spec, seed=0) -> Net:
    g = torch.Generator().manual_seed(seed)
    params = {k: torch.randn(s, generator=g) * 0.3 for k, s in spec.state_shapes().items()}
    return Net(spec, {k: v.abs() + 0.5 if k.endswith("running_var") else v for k, v in params.items()})


def graph_gap(net: Net, grown: Net) -> float:
    x = torch.rand(4, *net.spec.input_shape, generator=torch.Generator().manual_seed(1))
    return (net(x) - grown(x)).abs().max().item()


@pytest.mark.parametrize(
    ("preset", "node", "width"),
    [("resnet", "stem_conv", 24), ("resnet", "s1b0_a_conv", 48), ("wrn", "s2b0_skip_conv", 160),
     ("inception-small", "inc0_3x3_conv", 40), ("inception-small", "inc1_1x1_conv", 30),
     ("inception-small", "stem_conv", 48)],
)  # fmt: skip
def test_wider_on_a_graph_grows_a_whole_group_and_keeps_the_function(preset, node, width):
    from weightspace.nets import GRAPH_PRESETS, unit_groups

    net = random_graph_net(GRAPH_PRESETS[preset]())
    grown = wider(net, node, width, seed=3)
    assert graph_gap(net, grown) < 1e-5
    _, groups, makes = unit_groups(grown.spec)
    root = groups.find(makes[node])
    widened = [n for n in makes if groups.find(makes[n]) == root]
    assert all(grown.spec.shapes()[n][0] == width for n in widened) and grown.num_params() > net.num_params()
    if preset == "resnet" and node == "stem_conv":  # the residual stream: every block's second conv grew with it
        assert {"stem_conv", "s0b0_b_conv"} <= set(widened)


def test_wider_with_noise_on_a_graph_changes_the_function_by_about_the_noise():
    from weightspace.nets import inception_small

    net = random_graph_net(inception_small())
    exact, noisy = wider(net, "inc0_3x3_conv", 40, seed=1), wider(net, "inc0_3x3_conv", 40, noise=0.01, seed=1)
    assert graph_gap(net, exact) < 1e-5 < graph_gap(net, noisy)


def test_widen_all_on_a_graph_grows_every_group_it_can_and_keeps_the_function():
    from weightspace.nets import inception_small, resnet

    for spec in (inception_small(), resnet(8)):
        net = random_graph_net(spec)
        grown = widen_all(net, 1.5)
        assert graph_gap(net, grown) < 1e-5 and grown.num_params() > 1.8 * net.num_params()


def test_wider_and_deeper_take_a_graph_module_and_give_one_back():
    from weightspace.nets import GraphModule, build, resnet

    module = build(resnet(8)).eval()
    grown = wider(module, "stem_conv", 20, input_shape=(1, 28, 28))
    deep = deeper(grown, "s0b0_out", input_shape=(1, 28, 28))
    assert isinstance(deep, GraphModule) and not deep.training
    x = torch.rand(3, 1, 28, 28)
    with torch.no_grad():
        assert (module(x) - deep(x)).abs().max() < 1e-5


def test_wider_on_a_graph_refuses_what_it_cannot_grow():
    from weightspace.errors import SpecError
    from weightspace.nets import vit_tiny, wrn

    net = random_graph_net(wrn())
    with pytest.raises(SpecError, match="reach the output"):
        wider(net, "head", 20)
    with pytest.raises(SpecError, match="makes no units"):
        wider(net, "pool", 20)
    with pytest.raises(SpecError, match="must be larger"):
        wider(net, "stem_conv", 8)
    with pytest.raises(SpecError, match="name the node"):
        wider(net, 3, 80)
    with pytest.raises(SpecError, match="cannot widen"):
        wider(random_graph_net(vit_tiny()), "patches", 64)


@pytest.mark.parametrize(
    ("preset", "after"),
    [("resnet", "s0b0_a_relu"), ("resnet", "pool"), ("inception-small", "inc0_cat"), ("vit-tiny", "b0_sum1"),
     ("wrn", "stem_relu")],
)  # fmt: skip
def test_deeper_on_a_graph_inserts_a_residual_branch_and_keeps_the_function(preset, after):
    from weightspace.nets import GRAPH_PRESETS

    net = random_graph_net(GRAPH_PRESETS[preset]())
    grown = deeper(net, after)
    assert graph_gap(net, grown) == 0.0
    nodes = grown.spec.nodes
    assert len(nodes) == len(net.spec.nodes) + 4 and grown.num_params() > net.num_params()
    assert all(after not in n.inputs for n in nodes if n.name not in (f"{after}_deep_a", f"{after}_deep_sum"))
    assert grown.params[f"{after}_deep_a.weight"].abs().sum() > 0  # the branch's first layer is not zero: it learns
    with pytest.raises(Exception, match="no node"):
        deeper(net, "ghost")


def test_the_grow_commands_take_a_node_on_a_graph_and_an_index_on_a_chain(tmp_path):
    from typer.testing import CliRunner

    from weightspace.cli import app
    from weightspace.nets import resnet

    Net.init(resnet(8), 0).save(tmp_path / "res.safetensors")
    cli = CliRunner()
    wide = cli.invoke(app, ["grow", "wider", str(tmp_path / "res.safetensors"), "--layer", "stem_conv", "--width",
                            "20", "--out", str(tmp_path / "wide.safetensors")])  # fmt: skip
    assert wide.exit_code == 0, wide.output
    deep = cli.invoke(app, ["grow", "deeper", str(tmp_path / "wide.safetensors"), "--after", "s0b0_out", "--out",
                            str(tmp_path / "deep.safetensors")])  # fmt: skip
    assert deep.exit_code == 0, deep.output
    x = torch.rand(3, 1, 28, 28)
    assert (Net.load(tmp_path / "deep.safetensors")(x) - Net.load(tmp_path / "res.safetensors")(x)).abs().max() < 1e-5
    Net.init(mlp(6, [5], 3), 0).save(tmp_path / "mlp.safetensors")
    bad = cli.invoke(app, ["grow", "wider", str(tmp_path / "mlp.safetensors"), "--layer", "fc1", "--width", "9",
                           "--out", str(tmp_path / "w.safetensors")])  # fmt: skip
    assert isinstance(bad.exception, WeightspaceError) and "--layer must be a layer index" in str(bad.exception)
