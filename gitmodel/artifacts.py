"""What an artifact in the work tree holds now, by oid, using the stat cache to avoid rehashing."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from stat import S_ISDIR, S_ISLNK, S_ISREG
from typing import NamedTuple

import xxhash

from gitmodel.cache.statcache import StatKey, stat_key
from gitmodel.errors import UsageError
from gitmodel.hashing import OID_PREFIX, hash_file
from gitmodel.pointer import POINTER_SUFFIX, is_git_name
from gitmodel.workspace import Workspace


class WorkFile(NamedTuple):
    """One file of a folder artifact as found on disk (a tuple: folders hold many files)."""

    relpath: str
    location: str  # the absolute path as a string; `path` makes a Path when asked
    st: os.stat_result

    @property
    def path(self) -> Path:
        return Path(self.location)

    @property
    def executable(self) -> bool:
        return bool(self.st.st_mode & 0o100)


_SUBFOLDER_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW


def folder_fingerprint(files: Iterable[WorkFile]) -> str:
    """xxh3-128 over each file's relative path, inode, mtime, size and owner-execute bit.

    `files` sorted by relpath, as `walk_folder` lists them. Equal fingerprints mean no file was
    added, removed, replaced, rewritten (as far as a stat cache can tell) or chmod +/-x'd.
    Every field ends in NUL, which no file name holds, so distinct lists never collide as text.
    """
    text = "".join(
        [
            f"{rel}\0{st.st_ino}\0{st.st_mtime_ns}\0{st.st_size}\0{st.st_mode & 0o100}\0"
            for rel, _, st in files
        ]
    )
    return xxhash.xxh3_128_hexdigest(text.encode("utf-8", "surrogateescape"))


def object_link_oid(ws: Workspace, path: Path) -> str | None:
    """The oid a symlink into the object store stands for (symlink link mode), else None."""
    target = Path(os.readlink(path))
    try:
        rel = target.relative_to(ws.store.objects_dir.resolve())
    except ValueError:
        return None
    digits = "".join(rel.parts)
    return OID_PREFIX + digits if len(rel.parts) == 2 and len(digits) == 32 else None


def walk_folder(folder: Path, skipped: list[str] | None = None) -> list[WorkFile]:
    """Every regular file (and symlink) under `folder`, sorted by relative path.

    A nested Git folder (`.git`, as a folder or a file, in any spelling Git refuses) is no
    part of an artifact: it is left out, and its relative path added to `skipped`.
    Each folder is listed through an open descriptor, so stat resolves only a file's own name
    rather than its whole path again: a folder of many small files is mostly stat calls.
    """
    found: list[WorkFile] = []
    append = found.append

    def visit(dir_fd: int, location: str, prefix: str) -> None:
        with os.scandir(dir_fd) as entries:
            for entry in entries:
                name = entry.name
                if is_git_name(name):
                    if skipped is not None:
                        skipped.append(prefix + name)
                    continue
                st = entry.stat(follow_symlinks=False)
                mode = st.st_mode
                if S_ISDIR(mode):
                    sub = os.open(name, _SUBFOLDER_FLAGS, dir_fd=dir_fd)
                    try:
                        visit(sub, f"{location}/{name}", f"{prefix}{name}/")
                    finally:
                        os.close(sub)
                elif (S_ISREG(mode) or S_ISLNK(mode)) and not name.endswith(POINTER_SUFFIX):
                    append(WorkFile(prefix + name, f"{location}/{name}", st))

    top = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        visit(top, str(folder), "")
    finally:
        os.close(top)
    found.sort()  # by relpath: no two files share one
    return found


class FileHasher:
    """Oids of work-tree files, from the stat cache when (inode, mtime, size) still match.

    With a `folder`, the stat cache entries below it are read in one query, on first use.
    """

    def __init__(self, ws: Workspace, folder: Path | None = None) -> None:
        self.ws = ws
        self.folder = folder
        self._known: dict[str, tuple[StatKey, str]] | None = None
        self.fresh: list[tuple[Path | str, os.stat_result, str]] = []

    def cached_oid(self, path: Path | str, st: os.stat_result) -> str | None:
        """The stat cache's oid for `path` if its (inode, mtime, size) still match, else None."""
        if self.folder is None:
            return self.ws.stat_cache.lookup(path, st)
        if self._known is None:
            self._known = self.ws.stat_cache.entries_under(self.folder)
        hit = self._known.get(str(path))
        return hit[1] if hit is not None and hit[0] == stat_key(st) else None

    def oid_of(self, path: Path | str, st: os.stat_result) -> str:
        if S_ISLNK(st.st_mode):
            path = Path(path)
            oid = object_link_oid(self.ws, path)
            if oid is None:
                raise UsageError(
                    f"{path} is a symlink that does not point into the git-model cache",
                    "replace it with the file it points to, then run the command again",
                )
            return oid
        cached = self.cached_oid(path, st)
        if cached is not None:
            return cached
        path = Path(path)
        oid = hash_file(path)
        self.fresh.append((path, st, oid))
        return oid

    def save(self) -> None:
        self.ws.stat_cache.record_many(self.fresh)
        self.fresh.clear()


def placed_oid(ws: Workspace, path: Path) -> str | None:
    """The oid of what git-model last placed, stored or hashed at `path`, if that is still
    there untouched (same stat) and its bytes are in the cache; None otherwise. Cheap: no
    hashing, one stat cache lookup (and for a folder, a walk only when its record differs)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    if S_ISDIR(st.st_mode):
        recorded = ws.stat_cache.folder_state(path)
        if recorded is None or recorded.cache != str(ws.store.root):
            return None
        if recorded.fingerprint != folder_fingerprint(walk_folder(path)):
            return None
        oid: str | None = recorded.oid
    elif S_ISLNK(st.st_mode):
        oid = object_link_oid(ws, path)
    else:
        oid = ws.stat_cache.lookup(path, st)
    return oid if oid is not None and ws.store.has(oid) else None
