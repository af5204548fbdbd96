"""One writer per zoo: an exclusive `flock` on `ZOO/.lock`, held for a whole write.

The kernel drops the lock when its holder dies (kill -9 included), so a lock left by a dead process is simply taken
over; the file only says who holds it. Worker processes and Dask workers write shards under the parent's lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

from weightspace.zoo.manifest import ZooError

LOCK_NAME = ".lock"


@contextlib.contextmanager
def zoo_lock(root: str | Path) -> Iterator[Path]:
    """Hold the zoo directory `root` (created if missing) for writing; ZooError naming the holder if another has it.

    If this call created the directory and nothing but the lock is in it at the end (a run that failed before
    writing anything), the directory is removed again: a failed start leaves nothing half-made.
    """
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise ZooError(f"{root} is a file; give a directory for the zoo")
    created = not root.exists()
    root.mkdir(parents=True, exist_ok=True)
    path = root / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ZooError(f"{root} is being written by {_holder(path)}; wait for it to finish or stop it") from None
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": time.time()}).encode())
        try:
            yield root
        finally:
            os.ftruncate(fd, 0)
            if created and {p.name for p in root.iterdir()} <= {LOCK_NAME}:
                path.unlink()
                root.rmdir()
    finally:
        os.close(fd)  # releases the flock


def _holder(path: Path) -> str:
    try:
        info = json.loads(path.read_text())
        return f"PID {info['pid']} on host {info['host']} (since {time.ctime(info['since'])})"
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"
