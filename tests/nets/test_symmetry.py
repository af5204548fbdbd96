import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.strategies import random_net, specs
from weightspace.nets import Net, hidden_layers, lenet5_seed, mlp, permute, random_permutation, small_cnn


@settings(max_examples=150, deadline=None)
@given(specs, st.integers(0, 2**16))
def test_random_permutations_preserve_the_function(spec, seed):
    net = random_net(spec, seed)
    perm = random_permutation(spec, torch.Generator().manual_seed(seed))
    x = torch.rand(4, *spec.input_shape, generator=torch.Generator().manual_seed(seed + 1))
    assert (net(x) - permute(net, perm)(x)).abs().max().item() < 1e-5


def test_permutation_changes_the_weights_of_lenet5_across_the_flatten_boundary():
    net = Net.init(lenet5_seed(), 0)
    perm = random_permutation(net.spec, torch.Generator().manual_seed(0))
    moved = permute(net, perm)
    assert not torch.equal(moved.params["6.weight"], net.params["6.weight"])  # conv 120 rows
    assert not torch.equal(moved.params["9.weight"], net.params["9.weight"])  # flatten -> dense columns
    x = torch.rand(3, 3, 32, 32)
    assert (net(x) - moved(x)).abs().max() < 1e-5


def test_a_wrong_permutation_is_detected():
    """The property above can fail: permuting a layer's rows without the next layer's columns changes outputs."""
    net = Net.init(small_cnn(), 0)
    params = dict(net.params)
    params["0.weight"] = params["0.weight"].flip(0)
    params["0.bias"] = params["0.bias"].flip(0)
    x = torch.rand(3, 1, 28, 28)
    assert (net(x) - net.replace(params=params)(x)).abs().max() > 1e-3


def test_per_unit_activations_only_swap_units_of_the_same_activation():
    spec = mlp(2, [6], 1, activation=[["tanh", "relu", "tanh", "relu", "sigmoid", "tanh"]])
    labels = hidden_layers(spec)[0]
    for seed in range(20):
        p = random_permutation(spec, torch.Generator().manual_seed(seed))[0]
        assert [labels[j] for j in p.tolist()] == labels


def test_output_layer_cannot_be_permuted():
    net = Net.init(small_cnn(), 0)
    with pytest.raises(ValueError, match="not a hidden"):
        permute(net, {7: torch.arange(10)})


def test_weight_matching_undoes_a_random_permutation():
    from weightspace.nets import align, init_net, lenet5_seed, match_units

    net = init_net(lenet5_seed(), 0, "glorot_uniform")
    shuffled = permute(net, random_permutation(net.spec, torch.Generator().manual_seed(3)))
    assert not torch.equal(shuffled.flat(), net.flat())
    assert torch.equal(align(shuffled, net).flat(), net.flat())
    assert all(torch.equal(p, torch.arange(len(p))) for p in match_units(net, net).values())
