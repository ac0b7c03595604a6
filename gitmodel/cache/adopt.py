"""Copy-mode add of a big file that writes its bytes once: the file itself becomes the object.

In copy mode the cache and the work tree each keep the bytes. Writing a fresh object and
syncing it costs a second full write to disk, though a file the user made a while ago is on
disk already. So a big file is *adopted*: its inode is hard-linked into the cache's temp folder
and hashed there, while the kernel copies it to a fresh file in the cache's temp folder; after
an fsync (nearly free for bytes already written back) the inode is published as the object,
and the fresh copy swaps names with the work-tree path (renameat2 RENAME_EXCHANGE: a plain
rename over the path makes ext4 write the whole copy out first), with the same mode and
mtime. The user sees the same bytes at the same path, writable as before; the object is never
visible before its bytes are durable.

Only a regular file the user owns with no other hard link is adopted (its inode must not stay
reachable, and writable, from another name), and only when the kernel copies it in place.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from gitmodel.cache.copying import COPY_RANGE_REFUSALS, KERNEL_COPY_MIN_SIZE, KernelCopier
from gitmodel.errors import GitModelError
from gitmodel.fsutil import exchange, hard_link, preallocate, remove_quietly
from gitmodel.hashing import ByteRange, StreamDigest, hash_stream

ADOPT_MIN_SIZE = KERNEL_COPY_MIN_SIZE


def adoptable(st: os.stat_result) -> bool:
    """Whether a work file with this lstat may become an object (see the module's doc)."""
    return (
        stat.S_ISREG(st.st_mode)
        and st.st_nlink == 1
        and st.st_uid == os.geteuid()
        and st.st_size >= ADOPT_MIN_SIZE
    )


@dataclass(frozen=True)
class Adopted:
    """A work file whose inode is now linked at a cache temp path, hashed and durable."""

    digest: StreamDigest
    source: str  # the work-tree path
    fresh_copy: str  # a copy of its bytes in the cache's temp folder, for the work-tree path
    inode: tuple[int, int]  # (st_dev, st_ino) of the adopted inode

    def swap_in(self) -> os.stat_result:
        """Put the fresh copy at the work-tree path (call after the object is published);
        returns the work file's new lstat."""
        try:
            current = os.lstat(self.source)
        except FileNotFoundError:
            current = None
        if current is None or (current.st_dev, current.st_ino) != self.inode:
            self._replaced()
        if exchange(self.fresh_copy, self.source):
            swapped_out = os.lstat(self.fresh_copy)
            if (swapped_out.st_dev, swapped_out.st_ino) != self.inode:
                exchange(self.fresh_copy, self.source)  # replaced just now: give it back
                self._replaced()
            os.unlink(self.fresh_copy)  # the adopted inode's old name: the object keeps it
        else:
            os.replace(self.fresh_copy, self.source)
        return os.lstat(self.source)

    def _replaced(self) -> NoReturn:
        self.abandon()  # the user put something else there meanwhile: theirs stays
        raise GitModelError(
            f"{self.source} was replaced while it was being added",
            "add it again once nothing else writes it",
        )

    def abandon(self) -> None:
        """Drop the fresh copy; the work file stays the adopted inode."""
        remove_quietly(Path(self.fresh_copy))


def adopt(
    source: str,
    st: os.stat_result,
    temp: str,
    fresh_copy: str,
    ranges_of: Callable[[int], Iterable[ByteRange]] = lambda fd: (),
    progress: Callable[[int], None] | None = None,
) -> Adopted | None:
    """Link `source` (whose lstat is `st`) at `temp` and hash it (with the byte ranges that
    `ranges_of` finds in the open file hashed on their own) while copying it to
    `fresh_copy` (a new name on the same file system); fsync the inode. None, with no fresh
    copy left behind, where this cannot be done here (the caller then copies as usual);
    `temp` is the caller's to remove whatever happens."""
    if not hard_link(source, temp):
        return None
    fd = os.open(temp, os.O_RDONLY)
    try:
        linked = os.fstat(fd)
        if (linked.st_dev, linked.st_ino) != (st.st_dev, st.st_ino):
            return None  # the work file was replaced between its lstat and the link
        ranges = ranges_of(fd)  # a format reader's header read, from the adopted inode
        digest = _hash_while_copying(fd, source, fresh_copy, linked, ranges, progress)
        if digest is None:
            return None
        try:
            os.fsync(fd)
        except OSError:
            os.unlink(fresh_copy)
            raise
        return Adopted(digest, source, fresh_copy, (st.st_dev, st.st_ino))
    finally:
        os.close(fd)


def _hash_while_copying(
    fd: int,
    source: str,
    fresh_copy: str,
    linked: os.stat_result,
    ranges: Iterable[ByteRange],
    progress: Callable[[int], None] | None,
) -> StreamDigest | None:
    dst = os.open(fresh_copy, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    kept = False
    try:
        preallocate(dst, linked.st_size)
        try:
            first = os.copy_file_range(fd, dst, KERNEL_COPY_MIN_SIZE, 0, 0)
        except (AttributeError, OSError) as exc:
            if isinstance(exc, OSError) and exc.errno not in COPY_RANGE_REFUSALS:
                raise
            return None
        if not first:
            return None
        copier = KernelCopier(fd, dst, first)
        copier.start()
        try:
            with open(fd, "rb", buffering=0, closefd=False) as reader:
                digest = hash_stream(reader, ranges, progress=progress)
        finally:
            copier.join()
        if copier.error is not None:
            raise copier.error
        after = os.fstat(fd)
        if copier.copied != digest.size or _changed(linked, after):
            raise GitModelError(
                f"{source} changed while it was being added",
                "add it again once nothing writes it any more",
            )
        os.fchmod(dst, stat.S_IMODE(linked.st_mode))
        os.utime(dst, ns=(linked.st_atime_ns, linked.st_mtime_ns))
        kept = True
        return digest
    finally:
        os.close(dst)
        if not kept:
            os.unlink(fresh_copy)


def _changed(before: os.stat_result, after: os.stat_result) -> bool:
    return (before.st_size, before.st_mtime_ns, before.st_ctime_ns) != (
        after.st_size,
        after.st_mtime_ns,
        after.st_ctime_ns,
    )
