"""The bounds every input is held to, and the preflight a long command passes before it starts.

A spec, a file or a flag beyond these bounds is refused in one line when it is read, before anything is
allocated; a long job prints what it plans (networks, parameters, bytes on disk and in memory, an estimated time)
and is refused when it cannot fit the disk or the memory. The bounds are documented in docs/design-notes.md.
"""

from __future__ import annotations

import math
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from weightspace.errors import WeightspaceError

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_LAYERS",
    "MAX_NETWORKS",
    "MAX_PARAMS",
    "MAX_UNITS",
    "MAX_VALUES",
    "Plan",
    "available_memory",
    "check_bytes",
    "check_shape",
    "human_bytes",
    "human_seconds",
    "label",
    "whole_number",
    "plain_name",
]

MAX_LAYERS = 1_000  # layers in one spec
MAX_UNITS = 65_536  # features or channels of one layer, one input dimension, a kernel's side
MAX_VALUES = 1 << 26  # values of one example's activation at any layer (256 MB in float32)
MAX_PARAMS = 1_000_000_000  # parameters of one network (4 GB in float32)
MAX_NETWORKS = 100_000_000  # networks in one zoo
# what one file a user hands us may hold or unpack to; WEIGHTSPACE_MAX_FILE_BYTES raises it for a larger model
MAX_FILE_BYTES = int(os.environ.get("WEIGHTSPACE_MAX_FILE_BYTES", 8 << 30))

PLAIN_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+=,@-]{0,199}")


def plain_name(name: object, what: str) -> str:
    """`name` if it is a plain file name (letters, digits, `_.+=,@-`; no separator, no `..`, not hidden), else
    one error saying so: names a user gives or a file carries never choose where something is written."""
    text = str(name)
    if not PLAIN_NAME.fullmatch(text) or ".." in text:
        raise WeightspaceError(
            f"{what} {text[:80]!r} is not a plain name: use letters, digits and _ . + = , @ - (no /, no '..')"
        )
    return text


def label(value: object, what: str) -> str:
    """A label read from a file (a task, a class, a split): printable text of at most 200 characters that could
    not climb out of a folder were it ever used as a path (no '..' part, no leading separator)."""
    text = str(value)
    parts = text.replace("\\", "/").split("/")
    if len(text) > 200 or not text.isprintable() or ".." in parts or text.startswith(("/", "\\")):
        raise WeightspaceError(
            f"{what} {text[:80]!r} is not a plain label (printable, at most 200 characters, no '..')"
        )
    return text


def whole_number(value: object, what: str, low: int = 0, high: int = 2**63 - 1) -> int:
    """`value` as an int in [low, high]; text, fractions, NaN and infinities are refused in one line."""
    try:
        number = float(value) if not isinstance(value, int) else value
        if isinstance(value, bool) or number != int(number):
            raise ValueError
        number = int(number)
    except (TypeError, ValueError, OverflowError):
        raise WeightspaceError(f"{what} {str(value)[:80]!r} is not a whole number") from None
    if not low <= number <= high:
        raise WeightspaceError(f"{what} {number} is outside {low}..{high}")
    return number


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if abs(n) < 1000 or unit == "PB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError


def human_seconds(s: float) -> str:
    if not math.isfinite(s):
        return "forever"
    for unit, size in (("years", 365 * 86400), ("days", 86400), ("h", 3600), ("min", 60)):
        if s >= size:
            return f"{s / size:.1f} {unit}"
    return f"{s:.0f} s"


def check_shape(shape, where: str, limit_bytes: int | None = None, itemsize: int = 4) -> tuple[int, ...]:
    """A declared tensor shape as ints, refused in one line when a dimension is negative or the tensor would
    exceed `limit_bytes` (checked before anything is allocated)."""
    try:
        dims = tuple(int(d) for d in shape)
    except (TypeError, ValueError, OverflowError):
        raise WeightspaceError(f"{where}: shape {shape!r} is not a list of whole numbers") from None
    if any(d < 0 for d in dims):
        raise WeightspaceError(f"{where}: shape {list(dims)} has a negative dimension")
    check_bytes(math.prod(dims) * itemsize, f"{where}: a tensor of shape {list(dims)}", limit_bytes)
    return dims


def check_bytes(declared: int, where: str, limit: int | None = None) -> int:
    """`declared` bytes, refused when above `limit` (MAX_FILE_BYTES unless a tighter one is known, e.g. what a
    network of the expected spec can need)."""
    bound = MAX_FILE_BYTES if limit is None else limit
    if declared > bound:
        hint = " (set WEIGHTSPACE_MAX_FILE_BYTES to read a larger file you trust)" if bound >= MAX_FILE_BYTES else ""
        raise WeightspaceError(
            f"{where} holds {human_bytes(declared)} or more, beyond the {human_bytes(bound)} it may hold{hint}"
        )
    return declared


def available_memory() -> int:
    """Bytes of memory this process can still use (MemAvailable; the cgroup limit where lower)."""
    avail = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                avail = int(line.split()[1]) * 1024
    except OSError:
        pass
    if avail is None:
        try:
            avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            avail = 1 << 62
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = int(Path("/sys/fs/cgroup/memory.current").read_text())
        if limit != "max":
            avail = min(avail, int(limit) - used)
    except (OSError, ValueError):
        pass
    return avail


def _free_disk(path: Path) -> int:
    for folder in (path, *path.resolve().parents):
        if folder.exists():
            return shutil.disk_usage(folder).free
    return 1 << 62


@dataclass(frozen=True)
class Plan:
    """What a long command is about to do, printed before it starts and checked against the machine."""

    what: str  # "zoo generate", ...
    networks: int
    parameters: int  # per network
    disk_bytes: int  # written to `out`
    memory_bytes: int  # peak, this process
    seconds: float | None = None  # estimated from a measured rate

    def line(self) -> str:
        eta = "" if self.seconds is None else f", about {human_seconds(self.seconds)}"
        return (
            f"plan: {self.networks:,} networks of {self.parameters:,} parameters, {human_bytes(self.disk_bytes)} on "
            f"disk, {human_bytes(self.memory_bytes)} in memory{eta}"
        )

    def check(self, out: str | os.PathLike) -> Plan:
        """Refuse, in one line with the numbers, a plan that cannot fit the disk under `out` or the memory."""
        if self.networks > MAX_NETWORKS:
            raise WeightspaceError(
                f"{self.what}: {self.networks:,} networks is more than the {MAX_NETWORKS:,} a zoo holds"
            )
        free = _free_disk(Path(out))
        if self.disk_bytes > free:
            raise WeightspaceError(
                f"{self.what} needs {human_bytes(self.disk_bytes)} on disk; {out} has {human_bytes(free)} free "
                "(fewer networks or checkpoints, or another --out)"
            )
        memory = available_memory()
        if self.memory_bytes > memory:
            raise WeightspaceError(
                f"{self.what} needs {human_bytes(self.memory_bytes)} of memory; {human_bytes(memory)} is available "
                "(smaller networks or batches)"
            )
        return self
