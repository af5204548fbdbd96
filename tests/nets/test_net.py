import pytest
import torch
from hypothesis import given, settings

from tests.strategies import random_net, specs
from weightspace.errors import SpecError, WeightspaceError
from weightspace.nets import Layout, Net, lenet5_seed, small_cnn


@settings(max_examples=40, deadline=None)
@given(specs)
def test_flat_round_trip(spec):
    net = random_net(spec, 1)
    vec = net.flat()
    assert vec.numel() == Layout.of(spec).size
    again = Net.from_flat(spec, vec)
    assert all(torch.equal(again.params[k], v) for k, v in net.params.items())


def test_layout_is_explicit_and_contiguous():
    layout = Layout.of(lenet5_seed())
    assert [s.name for s in layout][:2] == ["0.weight", "0.bias"]
    assert layout.slots[0].offset == 0 and layout.slots[1].offset == 456 - 6
    for a, b in zip(layout.slots, layout.slots[1:]):
        assert b.offset == a.offset + a.size
    assert layout.size == 91_481


def test_init_is_reproducible_and_seed_dependent():
    a, b, c = (Net.init(small_cnn(), s) for s in (3, 3, 4))
    assert torch.equal(a.flat(), b.flat())
    assert not torch.equal(a.flat(), c.flat())


def test_as_module_copies_and_matches():
    net = Net.init(small_cnn(), 0)
    module = net.as_module()
    x = torch.rand(2, 1, 28, 28)
    assert torch.equal(module(x), net(x))
    with torch.no_grad():
        module[0].weight.zero_()
    assert not torch.equal(module(x), net(x))  # the Net was not changed through the module


def test_weights_that_do_not_match_their_spec_are_named():
    net = Net.init(small_cnn(), 0)
    params = dict(net.params)
    params["0.weight"] = torch.zeros(16, 3, 3, 3)
    del params["7.bias"]
    with pytest.raises(SpecError, match=r"0\.weight has shape \[16, 3, 3, 3\].*\[16, 1, 3, 3\]") as err:
        Net(net.spec, params)
    assert "missing 7.bias" in str(err.value)
    with pytest.raises(SpecError, match="needs 4970 numbers"):
        Net.from_flat(net.spec, torch.zeros(10))


def test_save_load_round_trip(tmp_path):
    net = Net.init(lenet5_seed(), 5, task="tench")
    path = net.save(tmp_path / "a" / "net.safetensors")
    again = Net.load(path)
    assert again.spec == net.spec and again.meta == {"seed": 5, "task": "tench"}
    assert torch.equal(again.flat(), net.flat())
    assert not list(tmp_path.glob("a/*.tmp"))


def test_load_rejects_non_weightspace_files(tmp_path):
    bad = tmp_path / "x.safetensors"
    bad.write_bytes(b"not a safetensors file at all")
    with pytest.raises(WeightspaceError, match="not a readable safetensors"):
        Net.load(bad)
    with pytest.raises(WeightspaceError, match="no network file"):
        Net.load(tmp_path / "missing.safetensors")
