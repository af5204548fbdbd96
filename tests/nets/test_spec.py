import pytest
import torch
from hypothesis import given, settings
from pydantic import ValidationError
from torch import nn

from tests.strategies import specs
from weightspace.errors import SpecError
from weightspace.nets import ArchSpec, Conv2d, Flatten, Linear, Net, build, lenet5_seed, spec_of


@settings(max_examples=60, deadline=None)
@given(specs)
def test_spec_json_round_trip(spec):
    again = ArchSpec.from_json(spec.to_json())
    assert again == spec
    assert again.state_shapes() == spec.state_shapes()


@settings(max_examples=40, deadline=None)
@given(specs)
def test_build_matches_declared_shapes(spec):
    module = build(spec)
    state = {k: tuple(v.shape) for k, v in module.state_dict().items() if not k.endswith("num_batches_tracked")}
    assert state == spec.state_shapes()
    assert module(torch.rand(3, *spec.input_shape)).shape == (3, *spec.output_shape)


@settings(max_examples=40, deadline=None)
@given(specs)
def test_spec_of_inverts_build(spec):
    assert spec_of(build(spec), spec.input_shape).layers == spec.layers


def test_spec_of_plain_sequential():
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64, 3))
    spec = spec_of(model, (1, 8, 8))
    assert spec.num_params() == sum(p.numel() for p in model.parameters())


def test_spec_of_rejects_unsupported_modules():
    with pytest.raises(SpecError, match="LSTM"):
        spec_of(nn.Sequential(nn.LSTM(3, 3)), (3,))


def test_shape_errors_name_the_layer():
    with pytest.raises(ValidationError, match="layer 0 \\(linear\\).*flatten"):
        ArchSpec(input_shape=(1, 8, 8), layers=[Linear(out_features=3)])
    with pytest.raises(ValidationError, match="does not fit"):
        ArchSpec(input_shape=(1, 4, 4), layers=[Conv2d(out_channels=2, kernel_size=5), Flatten()])
    with pytest.raises(ValidationError, match="at least one layer"):
        ArchSpec(input_shape=(3,), layers=[])


def test_lenet5_json_is_plain_data():
    text = lenet5_seed().to_json()
    assert '"kind":"conv2d"' in text and '"padding":"same"' in text
    assert Net.init(ArchSpec.from_json(text), 0).num_params() == 91_481
