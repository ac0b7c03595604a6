"""Advisory file locks (flock) so concurrent git-model processes cannot corrupt shared state."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def file_lock(path: Path, *, shared: bool = False) -> Iterator[None]:
    """Hold a lock on `path` for the duration of the block; waits for other holders.

    Shared holders (e.g. `add` writing objects) run together; an exclusive holder (e.g. `gc`
    deleting objects, or `add` rewriting a .gitignore) runs alone.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
