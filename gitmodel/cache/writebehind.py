"""Write-behind: start writing a file's dirty pages to disk while the file is still written.

Without it the kernel keeps a big copy dirty in memory and writes it only when the final fsync
asks, so the disk idles during the copy and then the caller waits for all of it. Starting the
write-back every few tens of MiB overlaps the disk's work with the copy; the fsync then finds
little left to do. This only starts writes (Linux sync_file_range, SYNC_FILE_RANGE_WRITE):
durability is still the fsync's job, and where the call does not exist nothing happens.

The calls run on a thread of their own because submitting the writes blocks for a while
(block allocation, a full device queue), and the copy should not wait for that.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from types import TracebackType
from typing import cast

from gitmodel.fsutil import libc_function

MiB = 1024 * 1024
# Start write-back each time this many more bytes were written.
WRITE_BEHIND_STEP = 64 * MiB
SYNC_FILE_RANGE_WRITE = 2


class WriteBehind:
    """Use as `with WriteBehind(fd) as behind:` around the writes, and report progress with
    `reached(offset)` (or `wrote(chunk)`): the thread, started only once there is something
    to flush, is joined when the block ends, before the caller can close `fd`."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.offset = 0  # bytes written so far
        self._target = 0  # write-back wanted for [0, target)
        self._started = 0  # write-back started for [0, started)
        self._closing = False
        self._changed: threading.Condition | None = None  # made with the thread: most files
        self._thread: threading.Thread | None = None  # are small and never need either

    def __enter__(self) -> WriteBehind:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def wrote(self, chunk: memoryview) -> None:
        self.reached(self.offset + len(chunk))

    def reached(self, offset: int) -> None:
        self.offset = offset
        if offset - self._target < WRITE_BEHIND_STEP:
            return
        if self._changed is None:
            if _sync_file_range() is None:
                return
            self._changed = threading.Condition()
            self._thread = threading.Thread(target=self._run, name="git-model-flush", daemon=True)
            self._thread.start()
        with self._changed:
            self._target = offset
            self._changed.notify()

    def close(self) -> None:
        """Stop the thread without starting more writes (the fsync that follows does them)."""
        if self._changed is None or self._thread is None:
            return
        with self._changed:
            self._closing = True
            self._changed.notify()
        self._thread.join()
        self._thread = None

    def _run(self) -> None:
        sync_file_range = _sync_file_range()
        assert sync_file_range is not None and self._changed is not None
        while True:
            with self._changed:
                while self._started == self._target and not self._closing:
                    self._changed.wait()
                if self._closing:
                    return
                begin, end = self._started, self._target
            # Advisory: a failure shows again in the fsync (or syncfs) that makes the file
            # durable, which reports it; the return value is ignored here.
            sync_file_range(self.fd, begin, end - begin, SYNC_FILE_RANGE_WRITE)
            with self._changed:
                self._started = end


@functools.cache
def _sync_file_range() -> Callable[[int, int, int, int], int] | None:
    import ctypes

    func = libc_function("sync_file_range")
    if func is None:  # not Linux
        return None
    func.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    func.restype = ctypes.c_int
    return cast("Callable[[int, int, int, int], int]", func)
