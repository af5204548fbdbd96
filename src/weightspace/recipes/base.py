"""What every recipe config shares: strict fields, YAML in and out."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict

from weightspace.fileio import read_yaml_mapping


class RecipeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @classmethod
    def from_yaml(cls, path: str | Path):
        return cls.model_validate(read_yaml_mapping(path, f"{cls.__name__}"))

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)
