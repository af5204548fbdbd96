"""Errors a user can cause. Each carries one message that says what was wrong and how to fix it."""

__all__ = [
    "DataNotFoundError",
    "SpecError",
    "WeightspaceError",
]


class WeightspaceError(Exception):
    """Base of every error weightspace raises on purpose; the CLI prints these without a traceback."""


class SpecError(WeightspaceError, ValueError):
    """An ArchSpec, or weights said to belong to one, is inconsistent."""


class DataNotFoundError(WeightspaceError, FileNotFoundError):
    """A dataset is not on this machine."""
