"""CNN Wild Park in its published layout, from files written by the neural-graphs repository's own code
(scripts/fixtures/cnn_park.py: their sampler builds the CNNs, their split script writes the splits file)."""

import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from weightspace.errors import WeightspaceError
from weightspace.zoo import Zoo
from weightspace.zoo.formats import detect_format, import_zoo

PARK = Path(__file__).parents[1] / "data" / "cnn_park"


@pytest.fixture(scope="module")
def park(tmp_path_factory) -> Zoo:
    return import_zoo("auto", PARK, tmp_path_factory.mktemp("park") / "zoo")


def test_every_checkpoint_computes_what_their_cnn_computed(park):
    expected = load_file(PARK / "expected_logits.safetensors")
    assert detect_format(PARK) == "cnn-park" and len(park) == 12 and len(park.specs) == 6
    for i in range(len(park)):
        net = park.net(i)
        key = ".".join(Path(net.meta["file"]).parts[2:4])  # data/cifar10_zooV2/<trial>/<checkpoint>/checkpoint.pt
        torch.testing.assert_close(net(expected["input"]), expected[key], rtol=0, atol=1e-6)


def test_rows_keep_their_split_step_and_score(park):
    splits = json.loads((PARK / "cnn_park_splits.json").read_text())
    score = {p: s for part in splits.values() for p, s in zip(part["path"], part["score"])}
    split = {p: name for name, part in splits.items() for p in part["path"]}
    for _, row in park.table.iterrows():
        assert row["test_accuracy"] == pytest.approx(score[row["file"]])
        assert row["split"] == split[row["file"]]
        assert row["epoch"] in (10, 20)
    assert park.table.groupby("model_id")["trial"].nunique().eq(1).all()  # a trial's checkpoints: one network
    kinds = {n.op.kind for s in park.specs for n in s.nodes}
    assert "prefix_add" in kinds  # skips between layers of different widths are in the fixture


def _copy(tmp_path) -> Path:
    shutil.copytree(PARK, tmp_path / "park")
    return tmp_path / "park"


def test_a_path_outside_the_folder_is_refused(tmp_path):
    park = _copy(tmp_path)
    splits = json.loads((park / "cnn_park_splits.json").read_text())
    splits["train"]["path"][0] = "../../etc/passwd"
    (park / "cnn_park_splits.json").write_text(json.dumps(splits))
    with pytest.raises(WeightspaceError, match="not a file inside"):
        import_zoo("cnn-park", park, tmp_path / "out")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_a_checkpoint_with_code_in_it_is_refused_in_one_line(tmp_path):
    park = _copy(tmp_path)
    victim = sorted(park.rglob("checkpoint.pt"))[0]
    torch.save({"model": {"w": torch.zeros(1)}, "config": torch.nn.Linear(1, 1)}, victim)
    with pytest.raises(WeightspaceError, match="never unpickles") as err:
        import_zoo("cnn-park", park, tmp_path / "out")
    assert "\n" not in str(err.value)


def test_a_trial_whose_checkpoints_disagree_on_the_architecture_is_refused(tmp_path):
    park = _copy(tmp_path)
    trials = sorted((park / "data" / "cifar10_zooV2").iterdir())
    shutil.copy(trials[2] / "checkpoint_000020" / "checkpoint.pt", trials[0] / "checkpoint_000020" / "checkpoint.pt")
    with pytest.raises(WeightspaceError, match="differs from its trial"):
        import_zoo("cnn-park", park, tmp_path / "out")
