"""Image-INR zoos: one SIREN per image, resumable, decodable back to the images."""

import torch
from typer.testing import CliRunner

from weightspace.cli import app
from weightspace.train import SirenFit, psnr
from weightspace.zoo import Zoo
from weightspace.zoo.image_inrs import choose, decode_inrs, image_table, make_image_inr_zoo
from weightspace.zoo.shards import shard_path

FIT = SirenFit(steps=150)


def test_digits_inr_zoo_rows_and_reconstructions(tmp_path):
    zoo = make_image_inr_zoo(tmp_path / "z", "digits", per_class=2, fit=FIT, shard_size=8)
    table = zoo.table
    assert len(zoo) == 20 and sorted(table["label"].value_counts().tolist()) == [2] * 10
    assert set(table["split"]) <= {"train", "val", "test"} and zoo.manifest["config"]["source"]["kind"] == "image-inr"
    originals, images = decode_inrs(zoo)
    got = psnr(((originals - images) ** 2).mean((1, 2)))
    # the stored (folded) networks reproduce the fit's own PSNR, and the fits are real reconstructions
    assert torch.allclose(got, torch.tensor(table["psnr"].to_numpy(), dtype=torch.float32), atol=0.05)
    assert float(got.min()) > 15 and float(got.mean()) > 20
    data_x = image_table("digits")[0]
    assert not torch.equal(images[0].flatten(), data_x[0])  # a reconstruction, not a copy


def test_a_resumed_inr_zoo_is_byte_identical(tmp_path):
    whole = make_image_inr_zoo(tmp_path / "a", "digits", per_class=1, fit=SirenFit(steps=20), shard_size=4)
    part = make_image_inr_zoo(tmp_path / "b", "digits", per_class=1, fit=SirenFit(steps=20), shard_size=4)
    shard_path(part.root, 1).unlink()  # as if killed before its second shard
    again = make_image_inr_zoo(tmp_path / "b", "digits", per_class=1, fit=SirenFit(steps=20), shard_size=4, resume=True)
    for sid in range(3):
        assert shard_path(whole.root, sid).read_bytes() == shard_path(again.root, sid).read_bytes()
    assert len(Zoo.open(again.root)) == 10


def test_stratified_choice_takes_the_same_number_of_every_class():
    labels = torch.tensor([0] * 7 + [1] * 5 + [2] * 9)
    picked = choose(labels, 4, seed=3)
    assert torch.bincount(labels[picked]).tolist() == [4, 4, 4]
    assert torch.equal(picked, choose(labels, 4, seed=3)) and not torch.equal(picked, choose(labels, 4, seed=4))


def test_fashion_splits_follow_dwsnets():
    _, labels, splits, index, height, width, classes = image_table("fashion-mnist")
    assert (height, width, len(labels)) == (28, 28, 70_000) and classes[0] == "T-shirt/top"
    assert [splits.count(s) for s in ("train", "val", "test")] == [55_000, 5_000, 10_000]
    assert int(index[60_000]) == 0  # test images are indexed within the test part


def test_show_inr_writes_a_grid(tmp_path):
    make_image_inr_zoo(tmp_path / "z", "digits", per_class=1, fit=SirenFit(steps=30), shard_size=10)
    result = CliRunner().invoke(app, ["zoo", "show-inr", str(tmp_path / "z"), "--out", str(tmp_path / "g.png")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "g.png").read_bytes()[:4] == b"\x89PNG" and "mean PSNR" in result.output


def test_zoo_inr_cli_batch_size_does_not_change_the_networks(tmp_path):
    def fitted(batch: str):
        args = ["zoo", "inr", "--dataset", "digits", "--per-class", "1", "--steps", "20", "--batch", batch]
        result = CliRunner().invoke(app, [*args, "--out", str(tmp_path / batch)])
        assert result.exit_code == 0, result.output
        return Zoo.open(tmp_path / batch).flat()

    assert (fitted("3") - fitted("10")).abs().max() < 1e-6
