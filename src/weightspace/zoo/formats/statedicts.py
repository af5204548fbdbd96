"""A directory with one safetensors file per network (weightspace Net files, or plain state dicts + a spec)."""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import load_file

from weightspace.errors import WeightspaceError
from weightspace.nets import ArchSpec, Net, NetBatch, check_params
from weightspace.zoo.store import Zoo
from weightspace.zoo.writer import write_zoo


def export_statedicts(zoo: Zoo, out: str | Path) -> list[Path]:
    """Every row as a standalone Net file: <model_id>_e<epoch>.safetensors."""
    out = Path(out)
    paths = []
    for i in range(len(zoo)):
        net = zoo.net(i)
        meta = {k: v for k, v in net.meta.items() if k not in ("shard", "index")}
        name = f"{int(meta.get('model_id', i)):06d}_e{int(meta.get('epoch', 0)):03d}.safetensors"
        paths.append(net.replace(meta=meta).save(out / name))
    return paths


def import_statedicts(folder: str | Path, out: str | Path, spec: ArchSpec | None = None) -> Zoo:
    """Files written by Net.save carry their spec; plain state dicts need `spec`."""
    files = sorted(Path(folder).glob("*.safetensors"))
    if not files:
        raise WeightspaceError(f"no .safetensors files in {folder}")
    params, rows = [], []
    for i, path in enumerate(files):
        try:
            net = Net.load(path)
            if spec is not None and net.spec != spec:
                raise WeightspaceError(f"{path} holds a different architecture than the one given")
            spec = net.spec
            tensors, meta = net.params, net.meta
        except WeightspaceError as err:
            if "not a weightspace network" not in str(err):
                raise
            if spec is None:
                raise WeightspaceError(
                    f"{path} holds plain tensors and no architecture: give one with --arch (a preset or a spec .json)"
                ) from None
            tensors, meta = load_file(path), {}
            check_params(spec, tensors)
        params.append(tensors)
        rows.append(
            {"model_id": i} | {k: v for k, v in meta.items() if isinstance(v, (int, float, str))} | {"file": path.name}
        )
    stacked = {k: torch.stack([p[k] for p in params]) for k in params[0]}
    return write_zoo(
        out, f"{Path(folder).name}-import", NetBatch(spec, stacked), rows, source={"format": "safetensors-dir"}
    )
