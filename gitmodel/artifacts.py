"""What an artifact in the work tree holds now, by oid, using the stat cache to avoid rehashing."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from gitmodel.cache.statcache import StatKey, stat_key
from gitmodel.errors import UsageError
from gitmodel.hashing import OID_PREFIX, hash_file
from gitmodel.pointer import POINTER_SUFFIX
from gitmodel.workspace import Workspace


@dataclass(frozen=True)
class WorkFile:
    """One file of a folder artifact as found on disk."""

    relpath: str
    location: str  # the absolute path as a string; `path` makes the Path only when asked
    st: os.stat_result

    @cached_property
    def path(self) -> Path:
        return Path(self.location)

    @property
    def executable(self) -> bool:
        return bool(self.st.st_mode & 0o100)


def object_link_oid(ws: Workspace, path: Path) -> str | None:
    """The oid a symlink into the object store stands for (symlink link mode), else None."""
    target = Path(os.readlink(path))
    try:
        rel = target.relative_to(ws.store.objects_dir.resolve())
    except ValueError:
        return None
    digits = "".join(rel.parts)
    return OID_PREFIX + digits if len(rel.parts) == 2 and len(digits) == 32 else None


def walk_folder(folder: Path) -> list[WorkFile]:
    """Every regular file (and symlink) under `folder`, sorted by relative path."""
    found: list[WorkFile] = []

    def visit(directory: str, prefix: str) -> None:
        with os.scandir(directory) as entries:
            for entry in entries:
                rel = prefix + entry.name
                st = entry.stat(follow_symlinks=False)
                if stat.S_ISDIR(st.st_mode):
                    visit(entry.path, rel + "/")
                elif not entry.name.endswith(POINTER_SUFFIX) and (
                    stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)
                ):
                    found.append(WorkFile(rel, entry.path, st))

    visit(str(folder), "")
    found.sort(key=lambda f: f.relpath)
    return found


class FileHasher:
    """Oids of work-tree files, from the stat cache when (inode, mtime, size) still match.

    With a `folder`, the stat cache entries below it are read in one query, on first use.
    """

    def __init__(self, ws: Workspace, folder: Path | None = None) -> None:
        self.ws = ws
        self.folder = folder
        self._known: dict[str, tuple[StatKey, str]] | None = None
        self.fresh: list[tuple[Path, os.stat_result, str]] = []

    def cached_oid(self, path: Path | str, st: os.stat_result) -> str | None:
        """The stat cache's oid for `path` if its (inode, mtime, size) still match, else None."""
        if self.folder is None:
            return self.ws.stat_cache.lookup(Path(path), st)
        if self._known is None:
            self._known = self.ws.stat_cache.entries_under(self.folder)
        hit = self._known.get(str(path))
        return hit[1] if hit is not None and hit[0] == stat_key(st) else None

    def oid_of(self, path: Path | str, st: os.stat_result) -> str:
        if stat.S_ISLNK(st.st_mode):
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
