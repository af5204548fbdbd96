"""Zoo generation as a recipe: the config is `ZooConfig` (YAML: `ZooConfig.from_yaml`), the run `zoo.generate`
(seeded, batched, resumable, on any executor)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from weightspace.zoo import Zoo, ZooConfig, generate


def run(config: ZooConfig, out: str | Path, device: str = "cpu", **executor: Any) -> Zoo:
    """Generate (resume with `resume=True`) the zoo `config` describes into `out`; `executor` takes generate's
    `workers`, `dask`, `resume`, `console`, `deterministic`, `stop_on_damage`, `kernels`."""
    return generate(config, out, device=device, **executor)
