"""Filling a folder artifact that is not in the work tree yet, in one go.

The files go into a temp folder that is renamed to NAME at the end, so the user sees no folder
or the whole folder, never half of one. The temp folder is made where Git never sees it (see
cache/tempfiles.py), and a killed checkout's is removed by the next run. The folder being
new, nothing can be in its way: no file is looked for before it is made. Subfolders are made
once, and every file is linked or copied relative to open folder descriptors (the objects folder and
the new folder) instead of through two full paths: with many small files, resolving paths
and checking for existing files cost more than the links themselves.
"""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Callable, Iterable, Sequence

from gitmodel.cache.tempfiles import WorkTemps
from gitmodel.errors import GitModelError, WouldOverwriteError
from gitmodel.fsutil import FICLONE, LINK_REFUSALS
from gitmodel.pointer import git_folder_error, has_git_segment

Advance = Callable[[int], None]
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW


class _Refused(Exception):
    """The file system refuses this link mode; files from `index` on need another."""

    def __init__(self, index: int) -> None:
        super().__init__(index)
        self.index = index


def fill_new_folder(
    objects_dir: str,
    target: str,
    paths: Sequence[str],
    oids: Sequence[str],
    executable: Sequence[bool],
    folders: Iterable[str],
    modes: Sequence[str],
    object_stats: dict[str, os.stat_result],
    temps: WorkTemps,
    advance: Advance | None = None,
) -> list[os.stat_result]:
    """Make `target` (absent, or an empty folder) a folder where each `paths[i]` holds the
    bytes of object `oids[i]`, using the first link mode in `modes` that works here.

    `folders`: every folder the paths need (e.g. a manifest's `folders`); `object_stats`: the
    stat of every object (hard links share it). Returns each file's stat as placed, in the
    order of `paths`. Refuses, touching nothing, if `target` became non-empty meanwhile.
    """
    if has_git_segment("\0".join(paths)):  # manifests are checked when read; never place one
        raise git_folder_error(f"{target}: path {next(p for p in paths if has_git_segment(p))!r}")
    os.makedirs(os.path.dirname(target), exist_ok=True)
    temp = temps.name_for(target)
    os.mkdir(temp)
    done = False
    try:
        root = os.open(temp, _DIR_FLAGS)
        try:
            for folder in sorted(folders):  # a folder sorts before what it holds
                os.mkdir(folder, dir_fd=root)
            objects = os.open(objects_dir, os.O_RDONLY | os.O_DIRECTORY)
            try:
                placer = _Placer(objects_dir, objects, root, paths, oids, executable, object_stats)
                stats = placer.place(modes, advance)
            finally:
                os.close(objects)
        finally:
            os.close(root)
        try:
            os.rename(temp, target)  # replaces an empty folder, refuses anything else
        except OSError as exc:
            if exc.errno in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR, errno.EISDIR):
                raise WouldOverwriteError(
                    f"{target} appeared in the work tree during the checkout; left untouched",
                    "run the checkout again",
                ) from None
            raise
        done = True
        return stats
    finally:
        if not done:
            shutil.rmtree(temp, ignore_errors=True)


class _Placer:
    def __init__(
        self,
        objects_dir: str,
        objects: int,
        root: int,
        paths: Sequence[str],
        oids: Sequence[str],
        executable: Sequence[bool],
        object_stats: dict[str, os.stat_result],
    ) -> None:
        self.objects_dir = objects_dir
        self.objects = objects
        self.root = root
        self.paths = paths
        self.oids = oids
        self.executable = executable
        self.object_stats = object_stats
        self.sources = [f"{oid[7:9]}/{oid[9:]}" for oid in oids]  # relative to `objects`
        self.stats: list[os.stat_result] = []  # one per file placed so far, in order

    def place(self, modes: Sequence[str], advance: Advance | None) -> list[os.stat_result]:
        start = 0
        for mode in modes:
            try:
                if mode == "hardlink":
                    self._hardlink(start)
                elif mode == "copy":
                    self._copy(start, advance, clone=False)
                elif mode == "reflink":
                    self._copy(start, advance, clone=True)
                elif mode == "symlink":
                    self._symlink(start)
                else:
                    continue
            except _Refused as refused:
                start = refused.index
                continue
            if advance is not None and mode in ("hardlink", "symlink"):
                advance(sum(self.object_stats[oid].st_size for oid in self.oids[start:]))
            return self.stats
        raise GitModelError(
            f"could not check out {len(self.paths) - start} file(s): no link mode in "
            f"{list(modes)} works here",
            "add 'copy' to `git config model.linkType`",
        )

    def _hardlink(self, start: int) -> None:
        link, objects, root = os.link, self.objects, self.root
        done = start
        try:
            for source, path in zip(self.sources[start:], self.paths[start:], strict=True):
                link(source, path, src_dir_fd=objects, dst_dir_fd=root)
                done += 1
        except OSError as exc:
            if exc.errno not in LINK_REFUSALS:
                raise
            self._linked(start, done)
            raise _Refused(done) from None
        self._linked(start, len(self.paths))

    def _linked(self, start: int, end: int) -> None:
        """Hard links share the object's inode, so its stat is theirs: no stat per file."""
        object_stats = self.object_stats
        self.stats.extend([object_stats[oid] for oid in self.oids[start:end]])

    def _symlink(self, start: int) -> None:
        objects_dir = os.path.realpath(self.objects_dir)
        root = self.root
        for index in range(start, len(self.paths)):
            path = self.paths[index]
            try:
                os.symlink(f"{objects_dir}/{self.sources[index]}", path, dir_fd=root)
            except OSError as exc:
                if exc.errno in LINK_REFUSALS:
                    raise _Refused(index) from None
                raise
            self.stats.append(os.stat(path, dir_fd=root, follow_symlinks=False))

    def _copy(self, start: int, advance: Advance | None, *, clone: bool) -> None:
        """Copy (or with `clone`, reflink) each file: a writable file of its own."""
        umask = os.umask(0o022)
        os.umask(umask)
        objects, root, stats = self.objects, self.root, self.stats
        for index in range(start, len(self.paths)):
            path = self.paths[index]
            mode = 0o755 if self.executable[index] else 0o644
            size = self.object_stats[self.oids[index]].st_size
            src = os.open(self.sources[index], os.O_RDONLY, dir_fd=objects)
            try:
                dst = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode, dir_fd=root)
                try:
                    if clone:
                        if not _clone(src, dst):
                            os.close(dst)
                            dst = -1
                            os.unlink(path, dir_fd=root)
                            raise _Refused(index)
                    else:
                        _copy_bytes(src, dst, size)
                    if mode & umask:
                        os.fchmod(dst, mode)  # the exact mode, whatever the umask
                    stats.append(os.fstat(dst))
                finally:
                    if dst >= 0:
                        os.close(dst)
            finally:
                os.close(src)
            if advance is not None:
                advance(size)


def _clone(src: int, dst: int) -> bool:
    import fcntl

    try:
        fcntl.ioctl(dst, FICLONE, src)
    except OSError as exc:
        if exc.errno in LINK_REFUSALS:
            return False
        raise
    return True


def _copy_bytes(src: int, dst: int, size: int) -> None:
    """`size` bytes from `src` to `dst` in the kernel (sendfile); plain reads where refused."""
    offset = 0
    try:
        while offset < size:
            sent = os.sendfile(dst, src, offset, size - offset)
            if not sent:
                break  # the object is shorter than its stat said: it is being replaced
            offset += sent
    except OSError:
        if offset:
            raise
        os.lseek(src, 0, os.SEEK_SET)
        while chunk := os.read(src, 1 << 20):
            view = memoryview(chunk)
            while view:
                view = view[os.write(dst, view) :]
