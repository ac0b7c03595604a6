"""What state an artifact is in: up to date, modified, stale, missing, in conflict…

`git model status`, the pre-commit check and `git model tag` ask it of each pointer.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from gitmodel.artifacts import FileHasher, WorkFile, folder_fingerprint, walk_folder
from gitmodel.cache.statcache import FolderState
from gitmodel.conflicts import read_conflict
from gitmodel.errors import CorruptObjectError, GitModelError
from gitmodel.pointer import POINTER_SUFFIX, Pointer, read_pointer
from gitmodel.sizecheck import check_file_size, check_folder_sizes
from gitmodel.unshare import give_own_copy, shares_object_inode, unshare_files
from gitmodel.workspace import Workspace, locate_artifact

ArtifactState = Literal[
    "up to date",
    "modified",
    "stale",
    "conflict",
    "missing from work tree",
    "missing from cache",
    "invalid pointer",
]
UP_TO_DATE: Final = "up to date"
MODIFIED: Final = "modified"
# stale: the bytes are in the cache, but the pointer names others: it changed under them
STALE: Final = "stale"
CONFLICT: Final = "conflict"
STALE_DETAIL = "pointer changed; run `git model checkout`"
MISSING_FROM_WORKTREE: Final = "missing from work tree"
MISSING_FROM_CACHE: Final = "missing from cache"
INVALID: Final = "invalid pointer"


@dataclass(frozen=True)
class ArtifactStatus:
    path: str  # the artifact, relative to the repository root
    pointer_path: str
    name: str | None
    state: ArtifactState
    oid: str | None
    detail: str = ""  # e.g. which files of a folder changed, or why a pointer is invalid
    kind: str | None = None  # the pointer's kind ("file" or "dir"); None if unreadable

    @property
    def ok(self) -> bool:
        return self.state == UP_TO_DATE

    def to_json(self) -> dict[str, object]:
        return {
            "path": self.path,
            "pointer": self.pointer_path,
            "name": self.name,
            "state": self.state,
            "oid": self.oid,
            "detail": self.detail,
        }


def artifact_status(ws: Workspace, pointer_file: Path, *, thorough: bool = False) -> ArtifactStatus:
    rel_pointer = ws.repo.relpath(pointer_file)
    try:
        pointer = read_pointer(pointer_file)
        artifact = locate_artifact(ws, pointer_file, pointer)
    except GitModelError as exc:
        conflict = read_conflict(pointer_file)
        state: ArtifactState = INVALID
        detail = exc.message
        if conflict is not None:
            state = CONFLICT
            detail = f"both sides changed {conflict.clash}; {conflict.hint(rel_pointer)}"
        return ArtifactStatus(
            rel_pointer.removesuffix(".gitmodel"), rel_pointer, None, state, None, detail
        )
    rel = ws.repo.relpath(artifact)
    ws.work_temps().sweep_beside(str(artifact))

    def result(state: ArtifactState, detail: str = "") -> ArtifactStatus:
        return ArtifactStatus(
            rel, rel_pointer, pointer.name, state, pointer.oid, detail, pointer.kind
        )

    if not os.path.lexists(artifact):
        return result(MISSING_FROM_WORKTREE)
    if pointer.kind == "dir":
        return result(*_folder_state(ws, artifact, pointer, thorough))
    if artifact.is_dir() and not artifact.is_symlink():
        return result(MODIFIED, "a folder where the pointer names a file")
    hasher = FileHasher(ws)
    st = os.lstat(artifact)
    oid = hasher.oid_of(artifact, st)
    if shares_object_inode(ws, st, oid):
        hasher.fresh.append((artifact, give_own_copy(ws, str(artifact), oid, False), oid))
    hasher.save()
    if oid != pointer.oid:
        return result(STALE, STALE_DETAIL) if ws.in_cache(oid) else result(MODIFIED)
    stored = ws.store.stat(pointer.oid)  # what `has` would stat, with the size to check
    if stored is None and not ws.packs.is_packed(pointer.oid):
        return result(MISSING_FROM_CACHE)
    try:
        check_file_size(rel_pointer, pointer.oid, pointer.size, stored)  # packed: at checkout
    except CorruptObjectError as exc:
        return result(INVALID, exc.message)
    return result(UP_TO_DATE)


def _folder_state(
    ws: Workspace, folder: Path, pointer: Pointer, thorough: bool
) -> tuple[ArtifactState, str]:
    if not ws.store.has(pointer.oid):
        return MISSING_FROM_CACHE, "folder manifest"
    if not folder.is_dir() or folder.is_symlink():
        return MODIFIED, "a file where the pointer names a folder"
    # The generation is read before any object is checked: a gc deleting one meanwhile
    # changes it, so what is recorded below is never trusted afterwards.
    generation = ws.store.generation()
    files = walk_folder(folder)
    hasher = FileHasher(ws, folder)
    if unshare_files(ws, hasher, files):
        hasher.save()
        files = walk_folder(folder)
    now = FolderState(folder_fingerprint(files), pointer.oid, str(ws.store.root), generation)
    recorded = ws.stat_cache.folder_state(folder)
    if not thorough and recorded == now:
        return UP_TO_DATE, ""  # these very files were found up to date, their objects present
    try:
        state, detail = _compare_folder(ws, folder, pointer, files, hasher)
    except CorruptObjectError as exc:
        return INVALID, exc.message
    if (
        state == MODIFIED
        and recorded is not None
        and (recorded.fingerprint, recorded.cache) == (now.fingerprint, now.cache)
        and recorded.oid != pointer.oid
        and ws.in_cache(recorded.oid)
    ):
        # exactly the files found or placed for another manifest (one that listed fewer
        # files, say); a manifest with the same files, such as `migrate` writes, is up to date
        return STALE, STALE_DETAIL
    if state == UP_TO_DATE:
        ws.stat_cache.record_folder(folder, now)
    return state, detail


def _compare_folder(
    ws: Workspace, folder: Path, pointer: Pointer, files: list[WorkFile], hasher: FileHasher
) -> tuple[ArtifactState, str]:
    """Every file against the manifest, and every object it names against the cache (and
    its size against the manifest's)."""
    from gitmodel.manifests import decode_dir_columns

    columns = decode_dir_columns(ws.store.read_bytes(pointer.oid), pointer.oid)
    stats = ws.store.stats_of(columns.oids)
    pointer_file = ws.repo.relpath(folder) + POINTER_SUFFIX
    check_folder_sizes(pointer_file, pointer.oid, pointer.size, columns, stats)
    expected = dict(zip(columns.paths, zip(columns.oids, columns.sizes, strict=True), strict=True))
    missing_objects = [
        p for p, (oid, _) in expected.items() if oid not in stats and not ws.packs.is_packed(oid)
    ]
    changed: list[str] = []
    seen = set()
    all_cached = True  # every new or changed file's bytes are in the cache
    for work in files:
        seen.add(work.relpath)
        entry = expected.get(work.relpath)
        if entry is None or _differs(hasher, work, *entry):
            changed.append(work.relpath if entry else f"+{work.relpath}")
            all_cached = all_cached and ws.in_cache(hasher.oid_of(work.location, work.st))
    hasher.save()
    if changed and all_cached:
        return STALE, STALE_DETAIL
    changed += [f"-{p}" for p in expected if p not in seen]
    if changed:
        return MODIFIED, ", ".join(sorted(changed, key=lambda c: c.lstrip("+-"))[:20])
    if missing_objects:
        return MISSING_FROM_CACHE, ", ".join(missing_objects[:20])
    return UP_TO_DATE, ""


def _differs(hasher: FileHasher, work: WorkFile, oid: str, size: int) -> bool:
    if size != work.st.st_size and not stat.S_ISLNK(work.st.st_mode):
        return True  # a different size needs no hashing to tell
    return hasher.oid_of(work.location, work.st) != oid
