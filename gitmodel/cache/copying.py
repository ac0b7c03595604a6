"""Copy a file into the cache while hashing it: in the kernel when it can, else in Python.

A big file is copied by a thread with `copy_file_range` (no trip through user space, and on
file systems that support it no data copy at all) while the calling thread hashes the bytes
that have already landed in the destination. Hashing the destination, not the source, keeps
the guarantee that an object holds exactly the bytes its id was computed from, even if the
source changes during the copy.

Either way, write-back of the copy to disk is started as it goes (`WriteBehind`), so the fsync
that makes the object durable finds little left to write.
"""

from __future__ import annotations

import errno
import os
import stat
import threading
from collections.abc import Callable, Iterable

from gitmodel.cache.writebehind import WriteBehind
from gitmodel.fsutil import preallocate
from gitmodel.hashing import CHUNK_SIZE, ByteRange, StreamDigest, digest_of_bytes, hash_stream

MiB = 1024 * 1024
# Below this size a file is read, hashed and written in Python: for small files the thread
# and the extra system calls cost more than the kernel copy saves.
KERNEL_COPY_MIN_SIZE = 64 * MiB
# Below this size a file is read whole, hashed and written in one call each: for the many
# small files of a folder, the streaming loop's set-up costs more than the copy.
SMALL_FILE_SIZE = 1 * MiB
# Bytes per copy_file_range call in the copier thread. Big enough that the thread rarely
# wakes the hasher, small enough that little is left to hash once the copy ends.
KERNEL_COPY_BLOCK = 64 * MiB

# errno values with which copy_file_range says "not here" (old kernel, cross-device, a file
# system that does not implement it, ...): the Python copy takes over.
COPY_RANGE_REFUSALS = {
    errno.EXDEV,
    errno.ENOSYS,
    errno.EINVAL,
    errno.EOPNOTSUPP,
    errno.ENOTSUP,
    errno.ETXTBSY,
    errno.EPERM,
}


def copy_hashing(
    src: int,
    dst: int,
    ranges: Iterable[ByteRange] = (),
    progress: Callable[[int], None] | None = None,
) -> StreamDigest:
    """Copy the whole of `src` into the empty file `dst` (open for reading and writing) and
    return the hash of the bytes written, with one hash per range as in `hash_stream`.

    Copies until the source ends, whatever its size said when the copy began. Does not sync.
    """
    st = os.fstat(src)
    size = st.st_size
    if size < SMALL_FILE_SIZE and stat.S_ISREG(st.st_mode):
        data = _read_small(src, size)
        if data is not None:
            _write_all(dst, data)
            if progress is not None:
                progress(len(data))
            return digest_of_bytes(data, ranges)
        os.lseek(src, 0, os.SEEK_SET)  # it grew past the limit meanwhile: stream it
    if size >= KERNEL_COPY_MIN_SIZE:
        preallocate(dst, size)
        copied = _first_kernel_copy(src, dst)
        if copied:
            return _hash_while_copying(src, dst, copied, ranges, progress)
    return copy_hashing_in_python(src, dst, ranges, progress)


def _read_small(src: int, size: int) -> bytes | None:
    """The whole of `src` (whose stat said `size`) from where it is to its end, or None if
    that is more than SMALL_FILE_SIZE. One read when the size held."""
    chunks = []
    total = 0
    want = size + 1  # one more than the stat said: an empty read after it proves the end
    while chunk := os.read(src, min(want, SMALL_FILE_SIZE + 1 - total)):
        chunks.append(chunk)
        total += len(chunk)
        if total > SMALL_FILE_SIZE:
            return None
        want = 64 * 1024
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _write_all(dst: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(dst, view) :]


def copy_hashing_in_python(
    src: int,
    dst: int,
    ranges: Iterable[ByteRange] = (),
    progress: Callable[[int], None] | None = None,
) -> StreamDigest:
    """The portable path: read a chunk, hash it, write it; memory stays at one chunk."""

    def write(chunk: memoryview) -> None:
        _write_all(dst, chunk)

    with WriteBehind(dst) as behind, open(src, "rb", buffering=0, closefd=False) as reader:
        return hash_stream(reader, ranges, sinks=[write, behind.wrote], progress=progress)


def _first_kernel_copy(src: int, dst: int) -> int:
    """Copy the first chunk with copy_file_range; 0 if the kernel will not do it here.

    A first call that copies nothing is not trusted either: some files (those in /proc, for
    one) copy nothing though reading them gives bytes, so the Python copy reads the file.
    """
    try:
        return os.copy_file_range(src, dst, CHUNK_SIZE, 0, 0)
    except AttributeError:  # not Linux
        return 0
    except OSError as exc:
        if exc.errno in COPY_RANGE_REFUSALS:
            return 0
        raise


def _hash_while_copying(
    src: int,
    dst: int,
    copied: int,
    ranges: Iterable[ByteRange],
    progress: Callable[[int], None] | None,
) -> StreamDigest:
    copier = KernelCopier(src, dst, copied)
    copier.start()
    try:
        with WriteBehind(dst) as behind:
            return hash_stream(CopiedBytes(dst, copier, behind), ranges, progress=progress)
    finally:
        copier.stop()
        copier.join()


class KernelCopier(threading.Thread):
    """Copies src to dst from `start` on with copy_file_range, until the source ends.

    Publishes how far it got (`copied`) after every block; an error ends the copy and is kept
    for the reader to raise.
    """

    def __init__(self, src: int, dst: int, start: int) -> None:
        super().__init__(name="git-model-copy", daemon=True)
        self.src = src
        self.dst = dst
        self.copied = start
        self.done = False
        self.error: BaseException | None = None
        self.changed = threading.Condition()
        self._stopping = False

    def run(self) -> None:
        offset = self.copied
        try:
            while not self._stopping:
                n = os.copy_file_range(self.src, self.dst, KERNEL_COPY_BLOCK, offset, offset)
                if n == 0:
                    break
                offset += n
                with self.changed:
                    self.copied = offset
                    self.changed.notify_all()
        except BaseException as exc:  # handed to the reader, which raises it in the caller
            self.error = exc
        finally:
            with self.changed:
                self.done = True
                self.changed.notify_all()

    def stop(self) -> None:
        """Ask the thread to end after the block it is copying (the caller then joins it)."""
        self._stopping = True

    def wait_past(self, offset: int) -> int:
        """Block until more than `offset` bytes are copied or the copy ended; the copied count.

        Raises the copy's error, if it failed.
        """
        with self.changed:
            while self.copied <= offset and not self.done:
                self.changed.wait()
            if self.error is not None:
                raise self.error
            return self.copied


class CopiedBytes:
    """Reads the destination file as far as the copier has written it, waiting for more."""

    def __init__(self, dst: int, copier: KernelCopier, behind: WriteBehind) -> None:
        self.dst = dst
        self.copier = copier
        self.offset = 0
        self.behind = behind

    def readinto(self, buffer: bytearray, /) -> int:
        copied = self.copier.wait_past(self.offset)
        if copied <= self.offset:
            return 0  # the copy is complete and everything was read
        want = min(len(buffer), copied - self.offset)
        n = os.preadv(self.dst, [memoryview(buffer)[:want]], self.offset)
        if n == 0:
            raise OSError(errno.EIO, "the copy in the cache's temp folder shrank while hashed")
        self.offset += n
        self.behind.reached(self.offset)
        return n
