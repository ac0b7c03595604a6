"""Lineage: the code commit an artifact came from and the ids of the data it was built on."""

from __future__ import annotations

import os
from pathlib import Path

from gitmodel.artifacts import FileHasher, walk_folder
from gitmodel.errors import GitError, UsageError
from gitmodel.hashing import oid_of_bytes
from gitmodel.manifests import FileEntry, encode_dir_manifest
from gitmodel.pointer import DataRef, Lineage, pointer_path_for, read_pointer
from gitmodel.workspace import Workspace


def build_lineage(ws: Workspace, data: list[Path]) -> Lineage:
    refs = tuple(data_ref(ws, path) for path in data)
    return Lineage(commit=ws.repo.head_commit(), dirty=ws.repo.is_dirty(), data=refs)


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
        entries = [
            FileEntry(f.relpath, hasher.oid_of(f.path, f.st), f.st.st_size, f.executable)
            for f in walk_folder(absolute)
        ]
        oid = oid_of_bytes(encode_dir_manifest(entries))
    else:
        oid = hasher.oid_of(absolute, os.stat(absolute))
    hasher.save()
    return DataRef(shown, oid)
