"""File-system helpers shared by the storage layer: atomic writes and safe temp names."""

from __future__ import annotations

import contextlib
import errno
import functools
import os
from pathlib import Path
from typing import Any

# errno values that mean "this file system cannot make that kind of link": fall back, don't fail.
LINK_REFUSALS = {
    errno.EXDEV,
    errno.EPERM,
    errno.EOPNOTSUPP,
    errno.ENOTSUP,
    errno.EINVAL,
    errno.EMLINK,
    errno.ENOTTY,
    errno.EACCES,
}
FICLONE = 0x40049409  # Linux ioctl: make dest a copy-on-write clone of src


def temp_name_beside(path: Path) -> Path:
    """A hidden, unique name in the same folder, so a rename onto `path` is atomic."""
    return path.with_name(f".{path.name}.tmp-{os.urandom(6).hex()}")


def atomic_write_bytes(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write `data` to `path` so that readers see the old bytes or the new, never a mix."""
    temp = temp_name_beside(path)
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        raise


def remove_quietly(path: Path | str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def make_writable(path: Path) -> None:
    """Give the owner write permission back (objects and linked files are read-only)."""
    with contextlib.suppress(FileNotFoundError):
        mode = os.lstat(path).st_mode
        os.chmod(path, mode | 0o200)


def try_link(kind: str, source: Path, dest: Path) -> bool:
    """Make `dest` a hardlink, symlink or reflink of `source`.

    True if it worked, False if this file system refuses that kind of link (callers then fall
    back to the next link mode); any other failure is raised.
    """
    try:
        if kind == "hardlink":
            os.link(source, dest)
        elif kind == "symlink":
            os.symlink(source.resolve(), dest)
        elif kind == "reflink":
            reflink(source, dest)
        else:
            raise ValueError(f"not a link kind: {kind}")
    except OSError as exc:
        if exc.errno in LINK_REFUSALS:
            return False
        raise
    return True


def hard_link(source: str, dest: str) -> bool:
    """`try_link("hardlink", ...)` for string paths (no Path objects in hot loops)."""
    try:
        os.link(source, dest)
    except OSError as exc:
        if exc.errno in LINK_REFUSALS:
            return False
        raise
    return True


@functools.cache
def libc_function(name: str) -> Any:
    """A C library function by name (errno kept for ctypes.get_errno), or None."""
    import ctypes

    try:
        return getattr(ctypes.CDLL(None, use_errno=True), name)
    except (AttributeError, OSError):
        return None


# renameat2 flag: swap two names atomically. On ext4 this also skips the write-back that a
# rename over an existing file starts for the new file's delayed blocks (auto_da_alloc):
# 0.8 s for a 2 GiB file here, more than the copy itself.
RENAME_EXCHANGE = 2
AT_FDCWD = -100


def exchange(first: str, second: str) -> bool:
    """Swap the files at two existing paths in one atomic step; False where the system or
    file system cannot (the caller then renames instead). Other failures are raised."""
    import ctypes

    renameat2 = libc_function("renameat2")
    if renameat2 is None:
        return False
    result = renameat2(AT_FDCWD, os.fsencode(first), AT_FDCWD, os.fsencode(second), RENAME_EXCHANGE)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV):
        return False
    raise OSError(code, os.strerror(code), first, None, second)


# fallocate flag: reserve blocks without changing the file's size.
FALLOC_FL_KEEP_SIZE = 1
# Files at least this big are preallocated before a copy (for small ones the call costs more).
PREALLOCATE_MIN_SIZE = 64 * 1024 * 1024


def preallocate(fd: int, size: int) -> None:
    """Reserve disk blocks for the first `size` bytes of a file about to be written, without
    changing its size. Best effort: where the file system cannot, the writes allocate as usual.

    ext4 then skips allocating blocks as the pages are written back: a 2 GiB kernel copy took
    0.55-0.7 s with it and 0.8-1.1 s without here (`cp` 0.7-1.05 s).
    """
    import ctypes

    fallocate = libc_function("fallocate")
    if fallocate is None:
        return
    fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]
    fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, size)  # a refusal leaves the file as it was


def reflink(source: Path, dest: Path) -> None:
    import fcntl

    with source.open("rb") as src, dest.open("wb") as dst:
        try:
            fcntl.ioctl(dst.fileno(), FICLONE, src.fileno())
        except OSError:
            dst.close()
            remove_quietly(dest)
            raise
