"""Net: one network as data: its spec (a chain or a graph), its tensors in PyTorch layout, and metadata."""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file
from torch import nn

from weightspace.errors import SpecError, WeightspaceError
from weightspace.fileio import atomic_path, read_safetensors
from weightspace.nets.graph import GraphModule, GraphSpec, Spec, build, load_spec
from weightspace.nets.trace import read_module
from weightspace.seeding import seeded


@dataclass(frozen=True)
class Slot:
    """Where one named tensor lives in a flat vector."""

    name: str
    offset: int
    shape: tuple[int, ...]

    @property
    def size(self) -> int:
        return math.prod(self.shape)


@dataclass(frozen=True)
class Layout:
    """The explicit order of named tensors in a flat vector (state_dict order)."""

    slots: tuple[Slot, ...]

    @classmethod
    def of(cls, spec: Spec, buffers: bool = True) -> Layout:
        return cls.of_shapes(spec.state_shapes(buffers=buffers))

    @classmethod
    def of_shapes(cls, shapes: dict[str, tuple[int, ...]]) -> Layout:
        """Named shapes laid end to end, in the given order."""
        slots, offset = [], 0
        for name, shape in shapes.items():
            slots.append(Slot(name, offset, tuple(shape)))
            offset += math.prod(shape)
        return cls(tuple(slots))

    @property
    def size(self) -> int:
        return self.slots[-1].offset + self.slots[-1].size if self.slots else 0

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.slots)

    @property
    def shapes(self) -> tuple[tuple[int, ...], ...]:
        return tuple(s.shape for s in self.slots)

    def __iter__(self):
        return iter(self.slots)

    def split(self, flat: torch.Tensor) -> dict[str, torch.Tensor]:
        """[..., P] -> {name: [..., *shape]}: views into `flat`, so gradients flow through them."""
        if flat.shape[-1] != self.size:
            raise SpecError(f"a vector of {flat.shape[-1]} numbers does not fill this layout of {self.size}")
        lead = flat.shape[:-1]
        return {s.name: flat[..., s.offset : s.offset + s.size].reshape(*lead, *s.shape) for s in self.slots}


def check_params(spec: Spec, params: dict[str, torch.Tensor]) -> None:
    """Raise SpecError, naming every mismatch, unless `params` has exactly the tensors `spec` implies."""
    expected = spec.state_shapes()
    problems = [f"missing {k} {list(s)}" for k, s in expected.items() if k not in params]
    problems += [f"unexpected {k}" for k in params if k not in expected]
    problems += [
        f"{k} has shape {list(params[k].shape)}, the spec needs {list(s)}"
        for k, s in expected.items()
        if k in params and tuple(params[k].shape) != s
    ]
    if problems:
        label = f" {spec.name!r}" if spec.name else ""
        raise SpecError(f"weights do not match their spec{label}: " + "; ".join(problems))


def state_for(spec: Spec, state: dict[str, torch.Tensor], where: str = "state dict") -> dict[str, torch.Tensor]:
    """`state` under the spec's tensor names: by name when all are there, else in order of the floating-point
    tensors (counters such as BatchNorm's num_batches_tracked are left out); each shape is checked."""
    expected = spec.state_shapes()
    if all(k in state for k in expected):
        pairs = [(k, k) for k in expected]
    else:
        values = [k for k, v in state.items() if v.is_floating_point()]
        if len(values) != len(expected):
            raise SpecError(
                f"{where}: {len(values)} tensors, the architecture {spec.name or ''} has {len(expected)} "
                f"({', '.join(expected)})"
            )
        pairs = list(zip(values, expected))
    out = {}
    for source, name in pairs:
        if tuple(state[source].shape) != expected[name]:
            raise SpecError(f"{where}: {source} has shape {tuple(state[source].shape)}, the architecture's {name} "
                            f"needs {expected[name]}")  # fmt: skip
        out[name] = state[source].detach().clone().float().cpu()
    return out


def _traced_state(spec: GraphSpec, module: nn.Module, state: dict, where: str) -> dict[str, torch.Tensor]:
    """A foreign module's tensors under the names of `spec`: by name when they match, else traced and taken in the
    traced graph's order (the same tensors under other node names)."""
    if all(k in state for k in spec.state_shapes()):
        return state
    traced, mine = read_module(module, spec.input_shape)
    if mine is None:  # a chain: its tensors in order
        mine = dict(zip(traced.state_shapes(), (v for v in state.values() if v.is_floating_point())))
    if list(traced.state_shapes().values()) != list(spec.state_shapes().values()):
        raise SpecError(f"{where}: its traced graph has other tensors than the spec {spec.name!r}")
    return dict(zip(spec.state_shapes(), (mine[k] for k in traced.state_shapes())))


@dataclass
class Net:
    """One network: spec + tensors (name -> tensor, PyTorch layout, batchnorm running stats included) + metadata."""

    spec: Spec
    params: dict[str, torch.Tensor]
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_params(self.spec, self.params)

    # -- construction -------------------------------------------------------------------------------------------
    @classmethod
    def init(cls, spec: Spec, seed: int, **meta: Any) -> Net:
        """A freshly initialised network (PyTorch default init), reproducible from `seed`."""
        with seeded(seed):  # the caller's random state is left alone
            module = build(spec)
        return cls.from_module(spec, module, seed=seed, **meta)

    @classmethod
    def from_module(cls, spec: Spec | None, module: nn.Module, input_shape=None, **meta: Any) -> Net:
        """Copy the tensors of `module` into a Net of `spec`: by name when the module was built from the spec, else
        as the module's traced graph places them (any feed-forward module, e.g. with layers named fc1, fc2).
        Without a spec, it is traced from the module (`spec_of`, which needs `input_shape`)."""
        where, state = type(module).__name__, module.state_dict()
        if spec is None:
            if input_shape is None:
                raise SpecError("Net.from_module without a spec needs input_shape, to trace the module")
            spec, traced = read_module(module, input_shape)
            state = state if traced is None else traced
        elif isinstance(spec, GraphSpec) and not isinstance(module, GraphModule):
            state = _traced_state(spec, module, state, where)
        return cls(spec, state_for(spec, state, where), dict(meta))

    def as_module(self) -> nn.Module:
        """A new module of the spec (an `nn.Sequential` for a chain) holding copies of these tensors, in eval
        mode."""
        module = build(self.spec)
        missing, unexpected = module.load_state_dict(self.params, strict=False)
        assert not unexpected and all(k.endswith("num_batches_tracked") for k in missing)
        return module.eval()

    def __repr__(self) -> str:
        meta = ", ".join(f"{k}={v!r}" for k, v in list(self.meta.items())[:6])
        more = ", ..." if len(self.meta) > 6 else ""
        return f"Net({self.spec.name or 'unnamed'!r}, {self.num_params():,} parameters, meta: {meta}{more})"

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Evaluate the network (eval mode) on a batch."""
        with torch.no_grad():
            return self.as_module()(x)

    # -- flat views ---------------------------------------------------------------------------------------------
    @property
    def layout(self) -> Layout:
        return Layout.of(self.spec)

    def flat(self) -> torch.Tensor:
        """All tensors concatenated in layout order."""
        return torch.cat([self.params[s.name].reshape(-1) for s in self.layout])

    @classmethod
    def from_flat(cls, spec: Spec, vector: torch.Tensor, **meta: Any) -> Net:
        layout = Layout.of(spec)
        if vector.dim() != 1 or vector.numel() != layout.size:
            raise SpecError(
                f"a flat vector for spec {spec.name or '(unnamed)'} needs {layout.size} numbers, "
                f"got shape {list(vector.shape)}"
            )
        params = {name: t.clone() for name, t in layout.split(vector).items()}
        return cls(spec, params, dict(meta))

    def num_params(self) -> int:
        """The number of parameters its spec declares."""
        return self.spec.num_params()

    def replace(self, **changes: Any) -> Net:
        """A copy with some fields replaced (the tensors are shared unless replaced)."""
        fields = {"spec": self.spec, "params": dict(self.params), "meta": dict(self.meta)} | changes
        return Net(**fields)

    # -- single-file storage ------------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> Path:
        """Write one safetensors file (spec and metadata in its header); atomic: whole or absent."""
        path = Path(path)
        header = {"weightspace.spec": self.spec.to_json(), "weightspace.meta": json.dumps(self.meta)}
        tensors = {k: v.contiguous() for k, v in self.params.items()}
        with atomic_path(path) as tmp:
            save_file(tensors, tmp, metadata=header)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> Net:
        """Read a file written by `save` (safetensors: nothing in it can run code)."""
        path = Path(path)
        if not path.is_file():
            raise WeightspaceError(f"no network file at {path}")
        tensors, header = read_safetensors(path)
        if "weightspace.spec" not in header:
            raise WeightspaceError(f"{path} is a safetensors file but not a weightspace network (no spec in header)")
        spec = load_spec(header["weightspace.spec"])
        return cls(spec, tensors, json.loads(header.get("weightspace.meta", "{}")))


def count_parameters(module: nn.Module) -> int:
    """The parameters a module trains: every element of every `module.parameters()` tensor."""
    return sum(p.numel() for p in module.parameters())
