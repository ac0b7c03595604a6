"""Lineage: the code commit an artifact came from and the ids of the data it was built on."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from stat import S_ISLNK, S_ISREG

from gitmodel.artifacts import FileHasher, WorkFile, walk_folder
from gitmodel.errors import GitError, UsageError
from gitmodel.hashing import oid_of_bytes
from gitmodel.manifests import FileEntry, encode_dir_manifest
from gitmodel.pointer import DataRef, Lineage, pointer_path_for, read_pointer
from gitmodel.workspace import Workspace


class LineageInProgress:
    """A lineage whose code state (HEAD, and whether tracked code is dirty) Git works out in a
    background thread while the artifact is stored: `git status` of a big work tree can take
    as long as hashing a model. The data refs are checked first, so a bad --data refuses the
    add before anything is stored."""

    def __init__(self, ws: Workspace, data: list[Path]) -> None:
        self._refs = tuple(data_ref(ws, path) for path in data)
        self._code: tuple[str | None, bool] | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._ask_git, args=(ws,), daemon=True)
        self._thread.start()

    def _ask_git(self, ws: Workspace) -> None:
        try:
            self._code = (ws.repo.head_commit(), ws.repo.is_dirty())
        except BaseException as exc:  # re-raised in the caller's thread by result()
            self._error = exc

    def result(self) -> Lineage:
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._code is not None
        commit, dirty = self._code
        return Lineage(commit=commit, dirty=dirty, data=self._refs)


def _data_entry(hasher: FileHasher, file: WorkFile) -> FileEntry:
    """A data folder's file, by content. Data is only hashed, never placed, so a symlink is
    followed to the file it names; one that names no file counts by its target text."""
    if not S_ISLNK(file.st.st_mode):
        return FileEntry(
            file.relpath, hasher.oid_of(file.path, file.st), file.st.st_size, file.executable
        )
    try:
        st = os.stat(file.path)
    except OSError:
        st = None
    if st is None or not S_ISREG(st.st_mode):
        target = os.fsencode(os.readlink(file.path))
        return FileEntry(file.relpath, oid_of_bytes(b"symlink:" + target), len(target), False)
    return FileEntry(
        file.relpath, hasher.oid_of(file.path, st), st.st_size, bool(st.st_mode & 0o100)
    )


def data_ref(ws: Workspace, path: Path) -> DataRef:
    """Identify a data set: a git-model artifact by its oid, a Git file by its blob id, and
    anything else by the xxh128 of its content (a folder by its manifest's)."""
    absolute = Path(os.path.abspath(path))
    try:
        shown = ws.repo.relpath(absolute)
        inside = True
    except GitError:
        shown, inside = str(absolute), False
    pointer_file = pointer_path_for(absolute)
    if pointer_file.is_file():
        return DataRef(shown, read_pointer(pointer_file).oid)
    if not absolute.exists():
        raise UsageError(f"--data {path}: no such file or folder", "check the path")
    if inside and absolute.is_file() and ws.repo.is_tracked(shown):
        return DataRef(shown, "git:" + ws.repo.hash_object(absolute))
    hasher = FileHasher(ws)
    if absolute.is_dir():
        entries = [_data_entry(hasher, f) for f in walk_folder(absolute)]
        oid = oid_of_bytes(encode_dir_manifest(entries))
    else:
        oid = hasher.oid_of(absolute, os.stat(absolute))
    hasher.save()
    return DataRef(shown, oid)
