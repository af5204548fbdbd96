"""INR zoos of image datasets: one SIREN fitted to each image, the field's INR-classification benchmark regenerated.

Protocol (DWSNets, `train.siren.SirenFit`): SIREN 2-32-32-1, w0 = 30, Adam 5e-4, 1,000 full-image steps, early stop
at 40 dB PSNR, coordinates in [-1, 1], pixels in [0, 1]. Splits as DWSNets makes them: the dataset's test images are
`test`, a seeded 1/12 of its training images `val` (5,000 of Fashion-MNIST's 60,000), the rest `train`. With
`per_class` a stratified subset is drawn (the same number of images of every class, each keeping its split).
Stored networks are plain sine MLPs (`siren_spec`): w0 and the +0.5 output offset are folded into the weights, as
`zoo import inr-dir` stores the published INR sets, so both read the same way.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import torch
from rich.console import Console

from weightspace.data import load
from weightspace.device import compiler_works
from weightspace.errors import WeightspaceError
from weightspace.limits import Plan
from weightspace.train import SirenFit, fit_sirens, fold_sirens, pixel_grid, psnr, siren_spec, siren_values
from weightspace.zoo.store import Zoo
from weightspace.zoo.writer import Pending, Rows, write_networks

INR_DATASETS = ("fashion-mnist", "mnist5k", "digits")
VAL_FRACTION = 1 / 12  # DWSNets: 5,000 of MNIST's 60,000 training images


def image_table(dataset: str, seed: int = 0):
    """(images [N, H*W], labels [N], splits [N] of 'train'|'val'|'test', source index [N], height, width, classes) of
    every image of `dataset`, training images first, then test images."""
    if dataset not in INR_DATASETS:
        raise WeightspaceError(f"unknown INR dataset {dataset!r}; choose one of: {', '.join(INR_DATASETS)}")
    data = load(dataset)
    if data.x_train.shape[1] != 1:
        raise WeightspaceError(f"{dataset}: INRs are fitted to grey images, not {data.x_train.shape[1]} channels")
    x = torch.cat([data.x_train, data.x_test])
    height, width = x.shape[-2:]
    n_train = len(data.x_train)
    splits = ["train"] * n_train + ["test"] * len(data.x_test)
    g = torch.Generator().manual_seed(seed)
    for i in torch.randperm(n_train, generator=g)[: round(n_train * VAL_FRACTION)].tolist():
        splits[i] = "val"
    index = torch.cat([torch.arange(n_train), torch.arange(len(data.x_test))])
    labels = torch.cat([data.y_train, data.y_test])
    return x.reshape(len(x), -1), labels, splits, index, height, width, data.classes


def choose(labels: torch.Tensor, per_class: int | None, seed: int) -> torch.Tensor:
    """Sorted indices of `per_class` images of every class drawn without replacement (seeded); all when None."""
    if per_class is None:
        return torch.arange(len(labels))
    g = torch.Generator().manual_seed(seed + 1)
    picked = []
    for c in torch.unique(labels):
        idx = torch.nonzero(labels == c).flatten()
        if per_class > len(idx):
            raise WeightspaceError(f"per-class {per_class} exceeds the {len(idx)} images of class {int(c)}")
        picked.append(idx[torch.randperm(len(idx), generator=g)[:per_class]])
    return torch.cat(picked).sort().values


def make_image_inr_zoo(
    out: str | Path,
    dataset: str = "fashion-mnist",
    per_class: int | None = None,
    seed: int = 0,
    fit: SirenFit = SirenFit(),
    shard_size: int = 500,
    batch: int = 16,
    resume: bool = False,
    console: Console | None = None,
    device: str = "cpu",
) -> Zoo:
    """Fit one SIREN per image of `dataset` (or `per_class` per class) and write them as a resumable zoo.

    Rows: `task` (class name), `label`, `split`, `image_index` (in the dataset's train or test part), `source_split`,
    `mse`, `psnr`, `steps`, `fitter` (compiled or eager: their last bits differ). Network i is seeded with
    seed * 10**6 + its image's position, so a resumed or re-chunked run gives the same networks. `batch` images are
    fitted at a time (bounds memory; measured in inr_fit.py) on `device`."""
    if per_class is not None and per_class < 1:
        raise WeightspaceError(f"per-class must be at least 1, not {per_class}")
    x, labels, splits, index, height, width, classes = image_table(dataset, seed)
    chosen = choose(labels, per_class, seed)
    coords = pixel_grid(height, width)
    spec = siren_spec(in_dim=2, hidden=fit.hidden, layers=fit.layers)
    names = list(spec.state_shapes())
    # a batch of fits: weights and Adam's state, and [batch, pixels, hidden] activations a layer kept for backward
    memory = x.nbytes + min(batch, len(chosen)) * (
        spec.num_params() * 16 + len(coords) * fit.hidden * 4 * 4 * fit.layers
    )
    plan = Plan("zoo inr", len(chosen), spec.num_params(), len(chosen) * spec.num_params() * 4, memory)
    pending = [Pending(i, 1, int(g)) for i, g in enumerate(chosen)]
    protocol = json.loads(json.dumps(asdict(fit)))  # as zoo.json holds it (tuples as lists), so resume compares equal
    source = {"kind": "image-inr", "dataset": dataset, "per_class": per_class, "seed": seed, "fit": protocol}
    fitter = "compiled" if compiler_works() else "eager"  # what fit_sirens runs; the last bits differ
    fitter += "" if device == "cpu" else f" on {torch.device(device).type}"
    fitted: dict[int, dict[int, Rows]] = {}  # shard -> model_id -> rows, fitted when its first network is asked for

    def fit_shard(start: int) -> dict[int, Rows]:
        items = pending[start : start + shard_size]
        out: dict[int, Rows] = {}
        for b in range(0, len(items), batch):
            part = items[b : b + batch]
            rows = torch.tensor([p.source for p in part])
            params, mse, steps = fit_sirens(x[rows], coords, [seed * 10**6 + int(r) for r in rows], fit, device=device)
            folded = fold_sirens(params, fit)
            quality = psnr(mse)
            for j, p in enumerate(part):
                g = p.source
                row = {
                    "task": classes[int(labels[g])], "label": int(labels[g]), "split": splits[g],
                    "image_index": int(index[g]), "source_split": "test" if splits[g] == "test" else "train",
                    "mse": float(mse[j]), "psnr": float(quality[j]), "steps": int(steps[j]), "dataset": dataset,
                    "fitter": fitter,
                }  # fmt: skip
                out[p.model_id] = [({k: t[j] for k, t in zip(names, folded)}, row)]
        return out

    def load_one(item: Pending) -> Rows:
        start = item.model_id - item.model_id % shard_size
        if start not in fitted:
            fitted.clear()  # one shard in memory at a time
            fitted[start] = fit_shard(start)
        return fitted[start][item.model_id]

    name = f"{dataset}-inrs" + (f"-{per_class}pc" if per_class else "")
    return write_networks(out, name, spec, pending, load_one, source, shard_size, resume, console, plan=plan)


def decode_inrs(zoo: Zoo, rows: list[int] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(originals, reconstructions), each [n, H, W]: the images the INRs of `rows` (default all) were fitted to,
    read again from their dataset, and each stored network evaluated on that image's pixel grid."""
    table = zoo.table if rows is None else zoo.table.iloc[list(rows)]
    if "image_index" not in table.columns or "dataset" not in table.columns:
        raise WeightspaceError("not an image-INR zoo (no image_index/dataset columns); make one with `zoo inr`")
    datasets = set(table["dataset"])
    if len(datasets) != 1:
        raise WeightspaceError(f"an image-INR zoo of one dataset expected, not {sorted(datasets)}")
    data = load(datasets.pop())
    parts = {"train": data.x_train, "test": data.x_test}
    originals = torch.stack([parts[s][int(i), 0] for s, i in zip(table["source_split"], table["image_index"])])
    stacked = zoo.batch(rows).params
    linear = sorted({k.split(".")[0] for k in stacked}, key=int)
    params = [stacked[f"{i}.{kind}"] for i in linear for kind in ("weight", "bias")]
    height, width = originals.shape[-2:]
    plain = SirenFit(w0=1.0, offset=0.0)  # the stored networks have w0 and the offset folded in
    with torch.no_grad():
        images = siren_values(params, pixel_grid(height, width), plain).reshape(-1, height, width)
    return originals, images
