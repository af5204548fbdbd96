"""Writing networks that already exist (imports, generated networks) into a zoo: streamed shard by shard, so any
number of networks fits in bounded memory, under the zoo's lock, and resumable like `zoo generate`."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from rich.console import Console

from weightspace.errors import WeightspaceError
from weightspace.fileio import atomic_path, sha256_file, write_json
from weightspace.limits import Plan, label, whole_number
from weightspace.nets import Net, NetBatch
from weightspace.nets.graph import Spec
from weightspace.progress import progress_bar
from weightspace.zoo.lock import LOCK_NAME, zoo_lock
from weightspace.zoo.manifest import ZooError, new_manifest, read_manifest, write_manifest
from weightspace.zoo.shards import check_shard, read_header, shard_path, write_shard
from weightspace.zoo.store import Zoo

Rows = list[tuple[dict[str, torch.Tensor], dict[str, Any]]]  # (state dict, table row) per checkpoint
PLACEMENT = ("shard", "index", "spec")  # columns the writer sets; a row read from another zoo may carry them
LABELS = ("task", "split", "dataset")  # text columns that name things
COUNTS = ("epoch", "task_index", "replicate")  # whole-number columns


# What may sit in a zoo's folder besides zoo.json, models.parquet and shards/, and what writes it. Every command
# that writes or reads one of these names it through `beside`; docs/zoo-format.md lists them.
BESIDE = {
    "encoders": "trained encoders: ENCODER-TARGET.safetensors + .json + .report.json + .png (`encode train`)",
    "embeddings": "NAME.safetensors: every row's embedding by a trained encoder (`encode embed`)",
    "classify.json": "which task each network solves, read from its weights (`zoo classify`; kind `classify`)",
    "classify.png": "the confusion matrix of classify.json",
    "metrics.png": "per-task histograms of the test metrics (`zoo info`)",
    "report.html": "the zoo's report page (`weightspace report`)",
    "rejected": "damaged or foreign shards set aside by `zoo generate --resume`",
}


def beside(root: str | Path, name: str) -> Path:
    """The path of `name` (one of BESIDE) in the zoo folder `root`; nothing is created."""
    if name not in BESIDE:
        raise ZooError(f"{name!r} is not kept beside a zoo; what is: {', '.join(BESIDE)}")
    return Path(root) / name


def write_classify(root: str | Path, result, target: str = "task") -> Path:
    """A `zoo.classify` result as classify.json beside the zoo (what its report page reads)."""
    return write_json(beside(root, "classify.json"), {"kind": "classify"} | result.as_dict(target))


def finalize(root: Path, manifest: dict[str, Any], shard_ids: Sequence[int]) -> dict[str, Any]:
    """Hash every shard, gather all rows into models.parquet (hashed too), and mark the zoo complete."""
    root = Path(root)
    rows, shards = [], []
    for sid in sorted(shard_ids):
        path = shard_path(root, sid)
        shard_rows = read_header(path)["rows"]
        for i, row in enumerate(shard_rows):
            rows.append({"shard": sid, "index": i} | row)
        shards.append(
            {"id": sid, "file": path.relative_to(root).as_posix(), "sha256": sha256_file(path), "rows": len(shard_rows)}
        )
    table = pd.DataFrame(rows)
    with atomic_path(root / "models.parquet") as tmp:
        table.to_parquet(tmp, index=False)
    models_sha256 = sha256_file(root / "models.parquet")
    manifest = manifest | {"shards": shards, "complete": True, "rows": len(table), "models_sha256": models_sha256}
    return write_manifest(root, manifest)


def remove_stale_temps(root: Path) -> None:
    """Temporary files of writers that were killed (only call while holding the zoo's lock)."""
    for folder in (Path(root), Path(root) / "shards"):
        for stale in folder.glob(".*.tmp"):
            stale.unlink()


def checked_row(row: dict[str, Any], where: str) -> dict[str, Any]:
    """A table row read from someone's files, validated: ids and counts are whole numbers, labels plain text,
    every other value a number, text or null (what a Parquet column can hold). One error names the field."""
    where = f"{where} ({row['file']})" if isinstance(row.get("file"), str) else where
    out = {}
    for key, value in row.items():
        key = label(key, f"{where}: column name")
        if hasattr(value, "item") and not isinstance(value, str | bytes):
            value = value.item()  # numpy scalars
        if value is None or (isinstance(value, float) and value != value):
            out[key] = None
        elif key == "model_id" or (key in COUNTS and not isinstance(value, str)):
            out[key] = whole_number(value, f"{where}: {key}")
        elif key in COUNTS or key in LABELS:
            out[key] = label(value, f"{where}: {key}")
        elif isinstance(value, bool | int | float | str):
            out[key] = value
        else:
            raise WeightspaceError(f"{where}: {key} holds a {type(value).__name__}; a row holds numbers and text")
    return out


@dataclass(frozen=True)
class Pending:
    """One network to write: its id, how many rows (checkpoints) it gives, what `load` needs to read it, and which
    of the zoo's specs it has."""

    model_id: int
    rows: int
    source: Any = field(default=None, compare=False)
    spec: int = 0


def shards_to_make(
    root: Path, planned: dict[int, list[int]], config_sha256: str, stop: bool, console: Console
) -> list[int]:
    """The planned shard ids without a whole file of this config holding exactly the planned model ids (`planned`:
    shard id -> sorted model id of every row). Damaged or foreign files are moved to ROOT/rejected, not trusted."""
    todo = []
    for sid, ids in planned.items():
        path = shard_path(root, sid)
        if not path.is_file():
            todo.append(sid)
            continue
        try:
            rows = check_shard(path, config_sha256, sid).rows
            if sorted(r.get("model_id") for r in rows) != ids:
                raise ZooError(f"{path} does not hold the networks planned for shard {sid}")
        except ZooError as err:
            if stop:
                raise ZooError(f"{err} (resume stopped: move the file away to have it made again)") from None
            _reject(root, path, str(err), console)
            todo.append(sid)
    names = {shard_path(root, sid).name for sid in planned}
    for path in sorted((root / "shards").glob("*.safetensors")):
        if path.name not in names:
            if stop:
                raise ZooError(f"{path} is not a shard this zoo plans (resume stopped)")
            _reject(root, path, f"{path} is not a shard this zoo plans", console)
    return todo


def _reject(root: Path, path: Path, why: str, console: Console) -> None:
    rejected = beside(root, "rejected")
    rejected.mkdir(exist_ok=True)
    shutil.move(path, rejected / f"{path.name}.{int(time.time())}")
    console.print(f"[yellow]set aside[/yellow] {why}; moved to {rejected}, making it again", highlight=False)


def start_zoo(root: Path, name: str, specs: list[Spec], config: dict[str, Any], resume: bool) -> dict[str, Any]:
    """The zoo's manifest: read back (resume, same config only) or written new. Call under the lock."""
    remove_stale_temps(root)
    if (root / "zoo.json").is_file():
        if not resume:
            raise ZooError(f"{root} already holds a zoo; pass --resume to complete it, or choose another --out")
        manifest = read_manifest(root)
        if manifest["config"] != config:
            raise ZooError(f"{root} was started with a different config (or inputs); --resume needs the same")
        return manifest
    if any(p.name != LOCK_NAME for p in root.iterdir()):
        raise ZooError(f"{root} exists and is not a zoo; choose an empty or new --out")
    return write_manifest(root, new_manifest(name, specs, config))


def _chunks(pending: Sequence[Pending], shard_size: int) -> dict[int, Sequence[Pending]]:
    """Shard id -> its networks: consecutive networks of one spec, at most `shard_size` of them."""
    chunks: list[list[Pending]] = []
    for p in pending:
        if not chunks or len(chunks[-1]) == shard_size or chunks[-1][0].spec != p.spec:
            chunks.append([])
        chunks[-1].append(p)
    return dict(enumerate(chunks))


def write_networks(
    out: str | Path,
    name: str,
    spec: Spec | Sequence[Spec],
    pending: Sequence[Pending],
    load: Callable[[Pending], Rows],
    source: dict[str, Any],
    shard_size: int = 256,
    resume: bool = False,
    console: Console | None = None,
    stop_on_damage: bool = False,
    plan: Plan | None = None,
) -> Zoo:
    """A complete zoo from networks read one at a time by `load`; at most `shard_size` networks are in memory.
    `spec` is the zoo's one spec, or its list of specs (each Pending names its own; a shard holds one).
    With `resume`, shards already written whole from the same `source` are kept. The plan (by default the writer's
    own estimate; a caller whose `load` does more work gives its own) is printed and checked first."""
    if not pending:
        raise ZooError("no networks to write: a zoo needs at least one")
    if shard_size < 1:
        raise ZooError(f"shard size must be at least 1, not {shard_size}")
    root = Path(out)
    console = console or Console(quiet=True)
    specs = list(spec) if isinstance(spec, Sequence) else [spec]
    if any(not 0 <= p.spec < len(specs) for p in pending):
        raise ZooError(f"a network names a spec outside the zoo's {len(specs)}")
    if plan is None:  # what the writer itself holds: a shard's networks as read, stacked and written
        rows, params = sum(p.rows for p in pending), max(s.num_params() for s in specs)
        in_memory = min(shard_size, len(pending)) * max(p.rows for p in pending) * params * 4 * 3
        plan = Plan("writing the zoo", len(pending), params, rows * params * 4, in_memory)
    console.print(plan.check(root).line(), highlight=False, soft_wrap=True)
    chunks = _chunks(pending, shard_size)
    with zoo_lock(root):
        fresh, written = not (root / "zoo.json").exists(), []
        try:
            return _write_locked(
                root, name, specs, pending, load, source, chunks, resume, console, stop_on_damage, written
            )
        except WeightspaceError as err:
            if fresh and not written:  # a new import stopped by a bad input before its first shard: leave nothing
                _remove_zoo_files(root)
                raise
            kept = f"{len(written)} shard(s) already written are kept: fix it and rerun with --resume"
            raise type(err)(f"{err} ({kept})") from None


def _remove_zoo_files(root: Path) -> None:
    for name in ("zoo.json", "models.parquet"):
        (root / name).unlink(missing_ok=True)
    shutil.rmtree(root / "shards", ignore_errors=True)
    remove_stale_temps(root)


def _write_locked(root, name, specs, pending, load, source, chunks, resume, console, stop, written: list) -> Zoo:
    manifest = start_zoo(root, name, specs, {"source": source}, resume)
    planned = {sid: sorted(p.model_id for p in chunk for _ in range(p.rows)) for sid, chunk in chunks.items()}
    todo = shards_to_make(root, planned, manifest["config_sha256"], stop, console)
    with progress_bar(console, "networks") as progress:
        done = sum(len(chunks[s]) for s in chunks if s not in todo)
        bar = progress.add_task(name, total=len(pending), completed=done)
        for sid in todo:
            spec = specs[chunks[sid][0].spec]
            expected = spec.state_shapes()
            tensors: dict[str, list[torch.Tensor]] = {k: [] for k in expected}
            rows = []
            for item in chunks[sid]:
                got = load(item)
                if len(got) != item.rows:
                    raise ZooError(f"network {item.model_id} gave {len(got)} rows, {item.rows} expected")
                for params, row in got:
                    row = checked_row(row, f"network {item.model_id}")
                    if {k: tuple(v.shape) for k, v in params.items()} != expected:
                        raise ZooError(f"network {item.model_id}: its tensors do not match {spec.name or 'the spec'}")
                    for k in expected:
                        tensors[k].append(params[k].detach().to(torch.float32).cpu())
                    own = {k: v for k, v in row.items() if k not in PLACEMENT}  # where a row sits is the writer's
                    rows.append({"spec": item.spec, "model_id": item.model_id} | own)
                progress.advance(bar)
            write_shard(root, sid, {k: torch.stack(v) for k, v in tensors.items()}, rows, manifest["config_sha256"])
            written.append(sid)
    finalize(root, manifest, list(chunks))
    return Zoo.open(root)


def write_zoo(
    root: str | Path,
    name: str,
    nets: NetBatch,
    rows: Sequence[dict[str, Any]],
    shard_size: int = 256,
    source: dict[str, Any] | None = None,
) -> Zoo:
    """Networks already in memory (one table row each) as a complete zoo of their spec, in a new or empty
    directory."""
    root = Path(root)
    if len(rows) != len(nets):
        raise ZooError(f"{len(rows)} table rows for {len(nets)} networks: give one row per network")
    if root.is_dir() and _has_files(root):
        raise ZooError(f"{root} already holds files; choose a new or empty directory")
    rows = [checked_row(r, f"row {i}") for i, r in enumerate(rows)]
    pending = [Pending(int(r.get("model_id", i)), 1, i) for i, r in enumerate(rows)]

    def load(item: Pending) -> Rows:
        return [({k: v[item.source] for k, v in nets.params.items()}, dict(rows[item.source]))]

    return write_networks(root, name, nets.spec, pending, load, source or {}, shard_size)


def _has_files(root: Path) -> bool:
    return any(
        not (p.name == LOCK_NAME or (p.name.startswith(".") and p.name.endswith(".tmp"))) for p in root.iterdir()
    )


def write_nets(root: str | Path, nets: Sequence[Net], name: str = "nets", source: dict[str, Any] | None = None) -> Zoo:
    """Networks of one spec written as a new zoo in `root`; each Net's metadata becomes its table row."""
    if not nets:
        raise ZooError("no networks to write: a zoo needs at least one")
    spec = nets[0].spec
    if any(n.spec != spec for n in nets):
        raise ZooError("write_nets needs networks of one spec; write one zoo per architecture")
    rows = [{k: v for k, v in n.meta.items() if isinstance(v, int | float | str | bool)} for n in nets]
    return write_zoo(root, name, NetBatch.of(nets), rows, source=source or {"format": "nets"})
