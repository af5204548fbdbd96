"""NetBatch: many networks of one spec, the type the engine, the zoo reader and the encoders share."""

import pytest
import torch

from weightspace.errors import SpecError
from weightspace.nets import Net, NetBatch, lenet5_seed, mlp, resnet


def nets_of(spec, n=3):
    return [Net.init(spec, i) for i in range(n)]


@pytest.mark.parametrize(
    "spec", [mlp(4, [5], 2), lenet5_seed(), resnet(8, (1, 12, 12))], ids=["mlp", "lenet", "resnet"]
)
def test_a_batch_holds_each_network_whole(spec):
    nets = nets_of(spec)
    batch = NetBatch.of(nets)
    assert len(batch) == 3 and batch.spec == spec
    for i, net in enumerate(nets):
        back = batch[i]
        assert back.meta == {"seed": i} and back.params.keys() == net.params.keys()
        assert all(torch.equal(back.params[k], v) for k, v in net.params.items())
        assert torch.equal(batch.flat()[i], net.flat())  # running statistics included, in layout order
    assert [n.meta["seed"] for n in batch.nets()] == [0, 1, 2]


def test_a_network_taken_out_is_a_copy():
    batch = NetBatch.of(nets_of(mlp(3, [4], 1)))
    net = batch[0]
    net.params["0.weight"].zero_()
    assert batch.params["0.weight"][0].abs().sum() > 0


def test_index_concat_and_to_keep_networks_and_metadata_together():
    batch = NetBatch.of(nets_of(mlp(3, [4], 1), 5))
    picked = batch.index([4, 1])
    assert [m["seed"] for m in picked.metas] == [4, 1]
    assert torch.equal(picked.params["0.bias"], batch.params["0.bias"][[4, 1]])
    assert [m["seed"] for m in batch.index(torch.tensor([True, False, True, False, False])).metas] == [0, 2]
    assert [m["seed"] for m in batch.index(slice(3, None)).metas] == [3, 4]
    joined = NetBatch.concat([batch.index(slice(0, 2)), batch.index(slice(2, None))])
    assert all(torch.equal(joined.params[k], v) for k, v in batch.params.items()) and joined.metas == batch.metas
    assert batch.to(torch.float64).params["0.weight"].dtype == torch.float64


def test_an_empty_batch_has_the_specs_shapes():
    empty = NetBatch.empty(lenet5_seed())
    assert len(empty) == 0 and empty.params["0.weight"].shape == (0, 6, 3, 5, 5) and empty.flat().shape[0] == 0


def test_weights_that_do_not_match_their_spec_get_one_error_naming_each_mismatch():
    spec = mlp(3, [4], 1)
    good = NetBatch.of(nets_of(spec)).params
    with pytest.raises(SpecError, match=r"0.weight has shape \[5, 3\] per network, the spec needs \[4, 3\]"):
        NetBatch(spec, good | {"0.weight": torch.zeros(3, 5, 3)})
    with pytest.raises(SpecError, match=r"missing 0.bias \[B, 4\]; unexpected extra"):
        NetBatch(spec, {k: v for k, v in good.items() if k != "0.bias"} | {"extra": torch.zeros(3)})
    with pytest.raises(SpecError, match="different numbers of networks"):
        NetBatch(spec, good | {"0.bias": torch.zeros(2, 4)})
    with pytest.raises(SpecError, match="2 metadata rows for 3 networks"):
        NetBatch(spec, good, ({}, {}))


def test_only_one_architecture_shares_a_batch():
    with pytest.raises(SpecError, match="different shapes"):
        NetBatch.of([Net.init(mlp(3, [4], 1), 0), Net.init(mlp(3, [5], 1), 0)])
    with pytest.raises(SpecError, match="at least one"):
        NetBatch.of([])
