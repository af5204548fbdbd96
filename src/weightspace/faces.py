"""Lazy package faces: a package lists its public names, and each is imported from its module on first use, so
importing the package (a CLI command, say) costs only what that command touches."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

__all__ = ["lazy_face"]


def lazy_face(package: str, modules: dict[str, list[str]]) -> Callable[[str], Any]:
    """A module `__getattr__` for `package`: `modules` maps each submodule to the public names it defines
    ("name" or "public_name=name_there")."""
    where = {}
    for module, names in modules.items():
        for entry in names:
            public, _, there = entry.partition("=")
            where[public] = (module, there or public)

    def __getattr__(name: str) -> Any:
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, attribute = where[name]
        return getattr(importlib.import_module(f"{package}.{module}"), attribute)

    return __getattr__
