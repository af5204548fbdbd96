import pytest
import torch

from weightspace.errors import SpecError
from weightspace.nets import ARCH_PRESETS, Net, build, lenet5_classic, lenet5_seed, mlp, preset, small_cnn


def test_seed_lenet5_has_91481_parameters_in_the_papers_split():
    spec = lenet5_seed()
    assert spec.num_params() == 91_481
    per_layer = [count for *_, count in spec.describe() if count]
    assert per_layer == [456, 2_416, 48_120, 40_404, 85]
    assert sum(p.numel() for p in build(spec).parameters()) == 91_481
    assert spec.shapes()[9] == (480,)  # flatten of 2x2x120


def test_small_cnn_has_4970_parameters():
    spec = small_cnn()
    assert spec.num_params() == 4_970
    assert sum(p.numel() for p in build(spec).parameters()) == 4_970


def test_classic_lenet5_has_61706_parameters():
    assert lenet5_classic().num_params() == 61_706


@pytest.mark.parametrize("name", list(ARCH_PRESETS))
def test_every_preset_builds_and_runs(name):
    spec = preset(name)
    net = Net.init(spec, seed=0)
    x = torch.rand(2, *spec.input_shape)
    assert net(x).shape == (2, *spec.output_shape)
    assert sum(p.numel() for p in build(spec).parameters()) == spec.num_params()


def test_mlp_counts_and_per_unit_activations():
    spec = mlp(2, [7, 7], 1, activation=[["tanh"] * 7, ["relu", "sigmoid"] * 3 + ["tanh"]])
    assert spec.num_params() == 85  # SWAT-NN's ceiling for depth 2
    assert Net.init(spec, 0)(torch.rand(5, 2)).shape == (5, 1)


def test_unknown_preset_names_the_known_ones():
    with pytest.raises(SpecError, match="lenet5-seed"):
        preset("densenet")
