"""Kurtenbach & Shamir's seed zoo, as its training script writes it and as it is published.

A seed run folder holds, per network, files named `binary_oneVall_<class>_<count>_<kind>.h5` (the class may contain
underscores, e.g. `english_springer`): `_model.h5` (full model), `_weights.h5` (`save_weights`),
`_best_model.weights.h5` (Keras 3 weights format, the published files), `_epochN.h5` (checkpoints), and `.keras`
archives; plus `model_performance_metrics.csv` (Class, Count, Accuracy, Precision, Recall, F1 Score, AUC).

One network is one `model_id`, whichever of its files are present: its final weights (the first of model, weights,
best_model.weights) are the row at `epoch = epochs`, its checkpoints the rows at their epochs. The metrics CSV is
joined on (class, count) into the final row's `test_*` columns. Files are read one network at a time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch
from rich.console import Console

from weightspace.errors import WeightspaceError
from weightspace.fileio import sha256_bytes
from weightspace.nets import ArchSpec, check_params, lenet5_seed
from weightspace.zoo.formats.keras import keras_to_torch
from weightspace.zoo.formats.keras_h5 import read_keras, spec_limit
from weightspace.zoo.store import Zoo
from weightspace.zoo.writer import Pending, Rows, write_networks

SEED_FILE = re.compile(
    r"binary_oneVall_(?P<task>.+?)_(?P<count>\d+)_(?P<kind>model|weights|best_model\.weights|epoch(?P<epoch>\d+))"
    r"\.(?:h5|keras)"
)
FINAL_KINDS = ("model", "weights", "best_model.weights")  # which file stands for the trained network, in order
# ImageNette's classes in the seed's order (its task_index); other class names follow, sorted.
IMAGENETTE = ("tench", "english_springer", "cassette_player", "chain_saw", "church", "french_horn", "garbage_truck",
              "gas_pump", "golf_ball", "parachute")  # fmt: skip
METRICS = {"Accuracy": "test_accuracy", "Precision": "test_precision", "Recall": "test_recall",
           "F1 Score": "test_f1", "AUC": "test_auc"}  # fmt: skip


@dataclass(frozen=True)
class SeedFile:
    path: Path
    task: str
    count: int
    kind: str  # model | weights | best_model.weights | checkpoint
    epoch: int | None


def parse_name(path: Path) -> SeedFile | None:
    """The class, replicate and kind a seed file's name carries; None when the name is not a seed file's."""
    m = SEED_FILE.fullmatch(path.name)
    if m is None:
        return None
    kind = "checkpoint" if m["epoch"] else m["kind"]
    return SeedFile(path, m["task"], int(m["count"]), kind, int(m["epoch"]) if m["epoch"] else None)


def _natural(text: str) -> tuple:
    return tuple((0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", text))


def scan(folder: Path) -> tuple[dict[tuple[str, int], list[SeedFile]], list[Path]]:
    """Every seed file under `folder`, grouped by network (class, count); and the Keras files whose names do not
    parse (reported, never guessed)."""
    networks: dict[tuple[str, int], list[SeedFile]] = {}
    unparsed = []
    for path in sorted(folder.rglob("*"), key=lambda p: _natural(str(p))):
        if path.suffix not in (".h5", ".keras") or not path.is_file():
            continue
        parsed = parse_name(path)
        if parsed is None:
            unparsed.append(path)
            continue
        networks.setdefault((parsed.task, parsed.count), []).append(parsed)
    return networks, unparsed


def read_metrics(folder: Path) -> pd.DataFrame | None:
    """The run's metrics table, indexed by (class, count); None when the folder has none."""
    found = sorted(folder.rglob("model_performance_metrics.csv"))
    if not found:
        return None
    if len(found) > 1:
        raise WeightspaceError(f"{folder} holds {len(found)} metrics tables ({found[0]}, {found[1]}); import one run")
    try:
        table = pd.read_csv(found[0])
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as err:
        raise WeightspaceError(f"{found[0]} is not a readable CSV ({err})") from None
    missing = [c for c in ("Class", "Count", *METRICS) if c not in table.columns]
    if missing:
        raise WeightspaceError(f"{found[0]} lacks the column(s) {', '.join(missing)} of the seed's metrics table")
    table["Class"] = table["Class"].astype(str)
    return table.set_index(["Class", "Count"])


def task_order(tasks: set[str]) -> list[str]:
    return [t for t in IMAGENETTE if t in tasks] + sorted(tasks - set(IMAGENETTE))


def import_seed_keras(
    folder: str | Path,
    out: str | Path,
    spec: ArchSpec | None = None,
    epochs: int = 20,
    shard_size: int = 256,
    resume: bool = False,
    console: Console | None = None,
) -> Zoo:
    """A seed run folder (or a folder of published files) as a zoo: one network per (class, count), final weights
    at `epochs` (the seed trains 20), checkpoints at their epochs, the metrics CSV joined in."""
    folder = Path(folder)
    spec = spec or lenet5_seed()
    if not folder.is_dir():
        raise WeightspaceError(f"{folder} is not a folder")
    networks, unparsed = scan(folder)
    if not networks:
        hint = f"; {len(unparsed)} Keras file(s) have other names, e.g. {unparsed[0].name}" if unparsed else ""
        raise WeightspaceError(f"no seed files (binary_oneVall_<class>_<count>_<kind>.h5) under {folder}{hint}")
    if unparsed:
        raise WeightspaceError(
            f"{unparsed[0]}: the name does not parse as binary_oneVall_<class>_<count>_<kind>.h5 "
            f"({len(unparsed)} such file(s)); move them out or rename them"
        )
    metrics = read_metrics(folder)
    order = task_order({task for task, _ in networks})
    keys = sorted(networks, key=lambda k: (order.index(k[0]), k[1]))
    pending, plans = [], {}
    for model_id, key in enumerate(keys):
        files = networks[key]
        finals = [f for kind in FINAL_KINDS for f in files if f.kind == kind]
        if len({f.path.parent for f in finals if f.kind == finals[0].kind}) > 1:
            raise WeightspaceError(
                f"{key[0]} {key[1]}: two runs hold this network ({finals[0].path}, {finals[1].path})"
            )
        checkpoints = sorted((f for f in files if f.kind == "checkpoint"), key=lambda f: f.epoch)
        if len({f.epoch for f in checkpoints}) != len(checkpoints):
            raise WeightspaceError(f"{key[0]} {key[1]}: two checkpoints of the same epoch under {folder}")
        if finals:
            checkpoints = [f for f in checkpoints if f.epoch != epochs]  # the final file stands for that epoch
        if metrics is not None and finals and key not in metrics.index:
            raise WeightspaceError(f"the metrics table has no row for class {key[0]!r} count {key[1]}")
        chosen = ([finals[0]] if finals else []) + checkpoints
        plans[model_id] = chosen
        pending.append(Pending(model_id, len(chosen), key))

    def load(item: Pending) -> Rows:
        task, count = item.source
        rows = []
        for file in plans[item.model_id]:
            layers, info = read_keras(file.path, spec_limit(spec))
            try:
                params = keras_to_torch(spec, layers)
                check_params(spec, params)
            except (ValueError, KeyError) as err:
                raise WeightspaceError(f"{file.path}: not a Keras model of {spec.name or 'the spec'} ({err})") from None
            final = file.kind != "checkpoint"
            row = {"task": task, "task_index": order.index(task), "replicate": count,
                   "epoch": epochs if final else file.epoch, "checkpoint": "final" if final else "epoch",
                   "keras_file": file.kind, "file": str(file.path.relative_to(folder)),
                   "keras_policy": info["policy"], "stored_dtype": info["stored"]}  # fmt: skip
            if final and metrics is not None:
                row |= {col: float(metrics.loc[(task, count), name]) for name, col in METRICS.items()}
            rows.append(({k: torch.as_tensor(v) for k, v in params.items()}, row))
        return rows

    listing = sha256_bytes("\n".join(f"{f.path.relative_to(folder)} {f.path.stat().st_size}"
                                      for files in plans.values() for f in files).encode())  # fmt: skip
    source = {"format": "seed-keras", "folder": str(folder.resolve()), "networks": len(pending),
              "files": sum(map(len, plans.values())), "files_sha256": listing, "final_epoch": epochs,
              "stored": "float32 variables (Keras keeps float32 weights under mixed_float16)"}  # fmt: skip
    return write_networks(out, "seed-keras-import", spec, pending, load, source, shard_size, resume, console)
