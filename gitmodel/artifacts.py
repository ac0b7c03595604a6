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
from gitmodel.pointer import POINTER_SUFFIX
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


def walk_folder(folder: Path) -> list[WorkFile]:
    """Every regular file (and symlink) under `folder`, sorted by relative path."""
    found: list[WorkFile] = []

    def visit(directory: str, prefix: str) -> None:
        with os.scandir(directory) as entries:
            for entry in entries:
                rel = prefix + entry.name
                st = entry.stat(follow_symlinks=False)
                if S_ISDIR(st.st_mode):
                    visit(entry.path, rel + "/")
                elif not entry.name.endswith(POINTER_SUFFIX) and (
                    S_ISREG(st.st_mode) or S_ISLNK(st.st_mode)
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
