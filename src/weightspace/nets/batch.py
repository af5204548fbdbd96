"""NetBatch: many networks of one spec at once, each tensor stacked along a leading network axis.

This is the `torch.func.stack_module_state` layout, {name: [B, ...]}: what the zoo reader returns, what the
batched engine trains and records, and what every encoder reads (`encode.WeightBatch.of`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from weightspace.errors import SpecError
from weightspace.nets.graph import Spec
from weightspace.nets.net import Layout, Net


@dataclass(frozen=True)
class NetBatch:
    """B networks of `spec`: `params[name]` is [B, *shape] for every tensor the spec implies (running statistics
    included). `metas` holds one metadata dict per network, or is empty."""

    spec: Spec
    params: dict[str, torch.Tensor]
    metas: tuple[dict[str, Any], ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        expected = self.spec.state_shapes()
        sizes = {t.shape[0] for t in self.params.values() if t.dim() > 0}
        problems = [f"missing {k} [B, {', '.join(map(str, s))}]" for k, s in expected.items() if k not in self.params]
        problems += [f"unexpected {k}" for k in self.params if k not in expected]
        problems += [
            f"{k} has shape {list(self.params[k].shape[1:])} per network, the spec needs {list(s)}"
            for k, s in expected.items()
            if k in self.params and tuple(self.params[k].shape[1:]) != tuple(s)
        ]
        if len(sizes) > 1 or any(t.dim() == 0 for t in self.params.values()):
            problems.append("the tensors hold different numbers of networks")
        if self.metas and sizes and len(self.metas) != sizes.pop():
            problems.append(f"{len(self.metas)} metadata rows for {len(self)} networks")
        if problems:
            label = f" {self.spec.name!r}" if self.spec.name else ""
            raise SpecError(f"stacked weights do not match their spec{label}: " + "; ".join(problems))

    @classmethod
    def of(cls, nets: Sequence[Net]) -> NetBatch:
        """Networks of one architecture (the first one's spec), stacked; their metadata kept."""
        if not nets:
            raise SpecError("nothing to stack: give at least one network")
        shapes = nets[0].spec.state_shapes()
        if any(n.spec.state_shapes() != shapes for n in nets):
            raise SpecError("networks of different shapes cannot share a batch; batch each architecture apart")
        params = {k: torch.stack([n.params[k] for n in nets]) for k in nets[0].params}
        return cls(nets[0].spec, params, tuple(dict(n.meta) for n in nets))

    @classmethod
    def empty(cls, spec: Spec) -> NetBatch:
        """No networks: [0, ...] tensors of the spec's shapes."""
        return cls(spec, {k: torch.empty((0, *s)) for k, s in spec.state_shapes().items()})

    def __len__(self) -> int:
        return next(iter(self.params.values())).shape[0] if self.params else 0

    def __getitem__(self, i: int) -> Net:
        """Network i, holding its own copy of its tensors."""
        meta = dict(self.metas[i]) if self.metas else {}
        return Net(self.spec, {k: v[i].detach().clone() for k, v in self.params.items()}, meta)

    def nets(self) -> list[Net]:
        """Every network, each holding its own copy of its tensors."""
        return [self[i] for i in range(len(self))]

    def index(self, idx: torch.Tensor | slice | Sequence[int]) -> NetBatch:
        """The networks at `idx` (positions, a mask or a slice), in that order."""
        if not isinstance(idx, slice):
            idx = torch.as_tensor(idx)
        params = {k: v[idx.to(v.device) if isinstance(idx, torch.Tensor) else idx] for k, v in self.params.items()}
        metas = ()
        if self.metas:  # the same rows of the metadata
            rows = torch.arange(len(self))[idx.cpu() if isinstance(idx, torch.Tensor) else idx].tolist()
            metas = tuple(self.metas[r] for r in rows)
        return NetBatch(self.spec, params, metas)

    def to(self, *args: Any, **kwargs: Any) -> NetBatch:
        """Every tensor moved or cast, as `torch.Tensor.to` does."""
        return NetBatch(self.spec, {k: v.to(*args, **kwargs) for k, v in self.params.items()}, self.metas)

    def flat(self) -> torch.Tensor:
        """[B, P]: each network's tensors laid end to end in layout order (`Net.flat` for every network)."""
        return torch.cat([self.params[s.name].reshape(len(self), s.size) for s in Layout.of(self.spec)], 1)

    @staticmethod
    def concat(batches: Sequence[NetBatch]) -> NetBatch:
        """The networks of several batches of one architecture, in order."""
        first = batches[0]
        if any(b.spec.state_shapes() != first.spec.state_shapes() for b in batches):
            raise SpecError("batches of different shapes cannot be joined")
        params = {k: torch.cat([b.params[k] for b in batches]) for k in first.params}
        metas = tuple(m for b in batches for m in b.metas) if all(b.metas for b in batches) else ()
        return NetBatch(first.spec, params, metas)
