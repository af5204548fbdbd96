"""Zoos published as PyTorch files: plain state dicts, Schürholt et al.'s model-zoo trial folders, and per-image INR
state dicts as DWSNets and NFN publish them.

Files are read with `torch.load(..., weights_only=True)` only: PyTorch's restricted loader, which builds tensors and
plain containers and refuses anything else. A file that needs full pickle is refused in one line, never unpickled.
"""

from __future__ import annotations

import json
import pickle
import re
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from weightspace.errors import SpecError, WeightspaceError
from weightspace.limits import MAX_LAYERS, MAX_UNITS, check_bytes, label, whole_number
from weightspace.nets import Activation, ArchSpec, Conv2d, Dropout, Flatten, Linear, Pool2d, resnet18, state_for
from weightspace.nets.graph import GraphSpec, Spec
from weightspace.train import fold_siren_params, siren_spec
from weightspace.zoo.store import Zoo
from weightspace.zoo.writer import Pending, Rows, write_networks

WRAPPERS = ("state_dict", "model_state_dict", "model", "net")  # dicts people wrap a state dict in


def restricted_load(path: Path, stand_ins: Sequence[tuple[Any, str]] = ()) -> Any:
    """What a PyTorch file holds, through PyTorch's restricted loader (never full pickle). `stand_ins` names
    classes a format pickles beside its tensors and the inert stand-ins that take their place
    (`torch.serialization.safe_globals` pairs): their saved state is kept, none of their code runs."""
    if zipfile.is_zipfile(path):  # what torch.load would inflate, checked before it does
        try:
            with zipfile.ZipFile(path) as archive:
                check_bytes(sum(i.file_size for i in archive.infolist()), str(path))
        except (zipfile.BadZipFile, OSError) as err:
            raise WeightspaceError(f"{path} is not a readable PyTorch file ({err})") from None
    try:
        with torch.serialization.safe_globals(list(stand_ins)):
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        kind = re.search(r"GLOBAL (\S+)", str(err))
        what = f" (it holds {kind.group(1)})" if kind else ""
        raise WeightspaceError(
            f"{path} needs full pickle to load{what}; weightspace never unpickles files: save a state dict "
            "of tensors (model.state_dict()) instead"
        ) from None
    except Exception as err:  # a damaged file fails deep in zipfile, struct or the unpickler, in many ways
        first = (str(err).splitlines() or [type(err).__name__])[0]
        raise WeightspaceError(f"{path} is not a readable PyTorch file ({first})") from None


def load_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """The tensors of a .pt/.pth state dict, through PyTorch's restricted loader (never full pickle)."""
    path = Path(path)
    obj = restricted_load(path)
    return tensors_of(obj, path)


def tensors_of(obj: Any, path: Path) -> dict[str, torch.Tensor]:
    """The state dict in a loaded file (or in one of the usual wrappers), every tensor checked against its
    storage."""
    for key in WRAPPERS:
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
    if not isinstance(obj, dict) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise WeightspaceError(f"{path} does not hold a state dict (a mapping of names to tensors)")
    for name, t in obj.items():  # a view may claim far more elements than its storage holds (a zero stride)
        if t.numel() * t.element_size() > t.untyped_storage().nbytes():
            raise WeightspaceError(
                f"{path}: tensor {str(name)[:80]} claims {t.numel():,} elements over a storage of "
                f"{t.untyped_storage().nbytes():,} bytes; save tensors, not expanded views"
            )
    return {str(k): v for k, v in obj.items()}


def torch_files(folder: Path) -> list[Path]:
    """Every .pt/.pth file under `folder`, sorted."""
    return sorted(p for p in folder.rglob("*") if p.suffix in (".pt", ".pth") and p.is_file())


def fit_to_spec(spec: Spec, state: dict[str, torch.Tensor], where: str) -> dict[str, torch.Tensor]:
    """`state` under the spec's names (by name, else in order; shapes checked), or one error naming --arch."""
    try:
        return state_for(spec, state, where)
    except SpecError as err:
        raise WeightspaceError(f"{err}; give the matching --arch") from None


def _write(out, name, spec, items: Sequence[tuple[Path, dict[str, Any]]], source, transform=None) -> Zoo:
    """One network per (file, row); read one at a time."""
    pending = [Pending(i, 1, item) for i, item in enumerate(items)]

    def load(p: Pending) -> Rows:
        path, row = p.source
        params = fit_to_spec(spec, load_state_dict(path), str(path))
        return [(transform(params) if transform else params, row)]

    return write_networks(out, name, spec, pending, load, source)


def _need_spec(spec: ArchSpec | None, fmt: str) -> ArchSpec:
    if spec is None:
        raise WeightspaceError(f"{fmt} files carry no architecture: give --arch (a preset or a spec .json)")
    return spec


def import_state_dicts(folder: str | Path, out: str | Path, spec: ArchSpec | None = None) -> Zoo:
    """Every .pt/.pth under `folder`, one network each (task: its parent folder's name), in the given spec."""
    folder = Path(folder)
    spec = _need_spec(spec, "state-dict")
    files = torch_files(folder)
    if not files:
        raise WeightspaceError(f"no .pt or .pth files under {folder}")
    items = [(p, {"task": p.parent.name, "file": str(p.relative_to(folder))}) for p in files]
    return _write(out, f"{folder.name}-import", spec, items, {"format": "state-dicts", "folder": str(folder)})


# -- Schürholt et al.'s model zoos -----------------------------------------------------------------------------------
class ModelZooParams(BaseModel):
    """The fields of a model-zoo trial's params.json that fix its architecture, validated (any other key is kept
    as a hyperparameter column)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    type: Literal["CNN", "CNN2", "CNN3", "MLP", "Resnet18"] = Field(alias="model::type")
    nlin: Literal["leakyrelu", "relu", "tanh", "sigmoid", "gelu"] = Field("leakyrelu", alias="model::nlin")
    dropout: float = Field(0.0, ge=0, lt=1, alias="model::dropout", allow_inf_nan=False)
    channels_in: int = Field(1, ge=1, le=MAX_UNITS, alias="model::channels_in", strict=True)
    h_dim: (
        Annotated[int, Field(ge=1, le=MAX_UNITS, strict=True)]
        | list[Annotated[int, Field(ge=1, le=MAX_UNITS, strict=True)]]
    ) = Field([30, 15], alias="model::h_dim", max_length=MAX_LAYERS)
    o_dim: int = Field(10, ge=1, le=MAX_UNITS, alias="model::o_dim", strict=True)
    i_dim: int = Field(14, ge=1, le=MAX_UNITS, alias="model::i_dim", strict=True)


def model_zoo_spec(params: dict[str, Any], where: str = "params.json") -> Spec:
    """The architecture a model-zoo trial's params.json names (their CNN, CNN2, CNN3, MLP and Resnet18
    definitions; Resnet18 as a graph read by torchvision's names, on 32x32 inputs)."""
    if not isinstance(params, dict):
        raise WeightspaceError(f"{where} holds a {type(params).__name__}, not a mapping of parameters")
    try:
        p = ModelZooParams.model_validate(params)
    except ValidationError as err:
        e = err.errors()[0]
        field = next((str(x) for x in e["loc"] if isinstance(x, str)), "?")
        field = ModelZooParams.model_fields[field].alias if field in ModelZooParams.model_fields else field
        raise WeightspaceError(f"{where}: {field} {e['msg'].lower()}; or give --arch") from None
    kind, channels = p.type, p.channels_in
    if kind == "Resnet18":
        return resnet18((channels, 32, 32), p.o_dim)
    fn = {"leakyrelu": "leaky_relu"}.get(p.nlin, p.nlin)
    act = Activation(fn=fn)
    drop = [Dropout(p=p.dropout)] if p.dropout > 0 else []
    pool = Pool2d(op="max", kernel_size=2)
    if kind in ("CNN", "CNN2"):
        c1, c2, c3 = (8, 6, 4) if kind == "CNN" else (6, 9, 6)
        layers = [Conv2d(out_channels=c1, kernel_size=5), pool, act, *drop, Conv2d(out_channels=c2, kernel_size=5),
                  pool, act, *drop, Conv2d(out_channels=c3, kernel_size=2), act, Flatten(), Linear(out_features=20),
                  act, *drop, Linear(out_features=10)]  # fmt: skip
        return ArchSpec(input_shape=(channels, 28, 28), layers=layers, name=f"model-zoo-{kind.lower()}")
    if kind == "CNN3":
        d = Dropout(p=p.dropout)
        layers = [Conv2d(out_channels=16, kernel_size=3), pool, act, d, Conv2d(out_channels=32, kernel_size=3), pool,
                  act, d, Conv2d(out_channels=15, kernel_size=3), pool, act, d, Flatten(), Linear(out_features=20),
                  act, d, Linear(out_features=10)]  # fmt: skip
        return ArchSpec(input_shape=(channels, 32, 32), layers=layers, name="model-zoo-cnn3")
    hidden = p.h_dim if isinstance(p.h_dim, list) else [p.h_dim]
    layers = []
    for h in hidden:
        layers += [Linear(out_features=h), act, *drop]
    layers.append(Linear(out_features=p.o_dim))
    try:
        return ArchSpec(input_shape=(p.i_dim,), layers=layers, name="model-zoo-mlp")
    except ValidationError as err:
        raise WeightspaceError(f"{where}: {err.errors()[0]['msg']}; or give --arch") from None


def node_names(spec: Spec, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A module's state dict under a graph's node names ("layer1.0.conv1.weight" -> "layer1_0_conv1.weight");
    a chain's names are left as they are."""
    if not isinstance(spec, GraphSpec):
        return state
    return {k.rsplit(".", 1)[0].replace(".", "_") + "." + k.rsplit(".", 1)[1] if "." in k else k: v
            for k, v in state.items()}  # fmt: skip


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError) as err:  # UnicodeDecodeError is a ValueError
        raise WeightspaceError(f"{path} is not readable JSON ({' '.join(str(err).split())[:200]})") from None


def _results(trial: Path) -> dict[int, dict[str, Any]]:
    """Ray Tune's result.json: one JSON object per line (per epoch), keyed by training_iteration."""
    path = trial / "result.json"
    if not path.is_file():
        return {}
    out = {}
    for n, line in enumerate(path.read_bytes().splitlines(), 1):
        if line.strip():
            try:
                row = json.loads(line)
            except (ValueError, RecursionError):
                raise WeightspaceError(f"{path} line {n} is not JSON") from None
            if not isinstance(row, dict):
                raise WeightspaceError(f"{path} line {n} is not a JSON object of results")
            out[whole_number(row.get("training_iteration", n), f"{path} line {n}: training_iteration")] = row
    return out


def import_model_zoo(folder: str | Path, out: str | Path, spec: ArchSpec | None = None) -> Zoo:
    """Ray Tune trial folders: each trial's `checkpoint_NNNNNN/checkpoints` state dicts become the epochs of one
    network; hyperparameters come from params.json, numeric metrics of that epoch from result.json."""
    folder = Path(folder)
    trials = sorted({p.parent for p in folder.rglob("params.json")})
    if not trials:
        raise WeightspaceError(f"no trial folders (with params.json) under {folder}")
    specs, pending = [], []
    for model_id, trial in enumerate(trials):
        params = _read_json(trial / "params.json")
        if not isinstance(params, dict):
            raise WeightspaceError(f"{trial / 'params.json'} holds a {type(params).__name__}, not a mapping")
        trial_spec = spec or model_zoo_spec(params, str(trial / "params.json"))
        specs.append(trial_spec)
        results = _results(trial)
        hyper = {k.replace("::", "_"): v for k, v in params.items() if isinstance(v, int | float | str)}
        checkpoints = []
        for ckpt in sorted(trial.glob("checkpoint_*")):
            file = ckpt / "checkpoints"
            if file.is_dir():
                file = next(iter(sorted(file.glob("*"))), file)
            if not file.is_file() or not re.fullmatch(r"checkpoint_\d+", ckpt.name):
                continue
            epoch = int(ckpt.name.split("_")[1])
            numbers = {k: v for k, v in results.get(epoch, {}).items() if isinstance(v, int | float)}
            metrics = {k: float(v) for k, v in numbers.items() if not isinstance(v, bool) and k != "training_iteration"}
            checkpoints.append((file, {"trial": trial.name, "epoch": epoch, **hyper, **metrics}))
        if not checkpoints:
            raise WeightspaceError(f"{trial}: no checkpoint_NNNNNN/checkpoints files")
        pending.append(Pending(model_id, len(checkpoints), checkpoints))
    if len({s.model_dump_json() for s in specs}) > 1:
        raise WeightspaceError(f"{folder} mixes architectures; import one kind of trial at a time")

    def load(p: Pending) -> Rows:
        return [(fit_to_spec(specs[0], node_names(specs[0], load_state_dict(f)), str(f)), row) for f, row in p.source]

    source = {"format": "model-zoo", "folder": str(folder.resolve()), "trials": len(trials)}
    return write_networks(out, f"{folder.name}-import", specs[0], pending, load, source)


# -- INR state dicts (DWSNets, NFN) ----------------------------------------------------------------------------------
def inr_label(path: Path) -> str:
    """The class of an INR file: DWSNets names its folder `<dataset>_png_<split>_<label>_<index>`; otherwise the
    folder that holds the file (or its checkpoints/ folder) is the class."""
    folder = path.parent.parent if path.parent.name == "checkpoints" else path.parent
    m = re.fullmatch(r".+_(\d+)_\d+", folder.name)
    return m.group(1) if m else folder.name


def import_inr_dir(
    folder: str | Path, out: str | Path, spec: ArchSpec | None = None, w0: float = 30.0, offset: float = 0.5
) -> Zoo:
    """Per-image SIREN state dicts in class folders (DWSNets' `mnist-inrs` layout or NFN's), one network each, the
    class from the folder and the split from a `*splits*.json` when present ({split: {"path": [...], "label":
    [...]}}); DWSNets' w0 and output offset are folded into the weights so the Net computes the same image."""
    folder = Path(folder)
    spec = spec or siren_spec()
    files = torch_files(folder)
    if not files:
        raise WeightspaceError(f"no .pth INR files under {folder}")
    split_of: dict[str, str] = {}
    for splits in sorted(folder.glob("*split*.json")):
        data = _read_json(splits)
        if not isinstance(data, dict) or not all(
            isinstance(e, dict)
            and isinstance(e.get("path", []), list)
            and all(isinstance(p, str) for p in e.get("path", []))
            for e in data.values()
        ):
            raise WeightspaceError(f'{splits} is not a splits file: {{split: {{"path": [file, ...], ...}}, ...}}')
        for split, entries in data.items():
            for p in entries.get("path", []):
                split_of[Path(p).as_posix().split(folder.name + "/", 1)[-1]] = label(split, f"{splits}: split")
    items = []
    for p in files:
        rel = p.relative_to(folder).as_posix()
        items.append((p, {"task": inr_label(p), "split": split_of.get(rel, "unassigned"), "file": rel}))
    source = {"format": "inr-dir", "folder": str(folder.resolve()), "w0_folded": w0, "offset_folded": offset}
    return _write(out, f"{folder.name}-import", spec, items, source, lambda p: fold_siren_params(spec, p, w0, offset))
