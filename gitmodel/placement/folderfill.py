"""Checkout of a folder artifact that is not in the work tree yet (a fresh clone, a switch of
branch): no file-by-file planning, since nothing can be in the way.

The folder is filled in a temp folder that is renamed into place (cache/placing.py), and
what was placed goes to the stat cache with the folder's fingerprint, as `add` records it,
so that the next `status` hashes nothing and compares no file. A folder whose recorded
fingerprint still holds is likewise known to be up to date without comparing its files.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path
from typing import cast

from gitmodel.artifacts import WorkFile, folder_fingerprint, walk_folder
from gitmodel.cache.objects import missing_object
from gitmodel.cache.placing import fill_new_folder
from gitmodel.cache.statcache import FolderState
from gitmodel.manifests import DirColumns, decode_dir_columns
from gitmodel.pointer import POINTER_SUFFIX
from gitmodel.progress import Progress
from gitmodel.workspace import Workspace


@dataclass(frozen=True)
class FolderFill:
    """A folder artifact to create whole: nothing of it is in the work tree yet."""

    folder: Path
    pointer_oid: str
    files: DirColumns
    generation: str  # the cache's, read before its objects were found present
    object_stats: dict[str, os.stat_result]  # of every object it names


def folder_unchanged(ws: Workspace, folder: Path, pointer_oid: str) -> bool:
    """Whether `folder` is as a checkout, add or status last found it up to date with this
    manifest (its fingerprint recorded then): if so, every file is unchanged, as `status`
    would say, without comparing them one by one."""
    recorded = ws.stat_cache.folder_state(folder)
    if recorded is None or recorded.oid != pointer_oid or recorded.cache != str(ws.store.root):
        return False  # e.g. another version's folder: not worth a walk to find out
    generation = ws.store.generation()
    if recorded.generation != generation or not folder.is_dir() or folder.is_symlink():
        return False
    return recorded.fingerprint == folder_fingerprint(walk_folder(folder))


def is_new_folder(folder: Path) -> bool:
    """Nothing at `folder`, or an empty real folder: nothing of the artifact is there yet."""
    try:
        st = os.lstat(folder)
    except FileNotFoundError:
        return True
    except NotADirectoryError:
        return False  # a file on the way: the general path reports it
    if not stat.S_ISDIR(st.st_mode):
        return False
    with os.scandir(folder) as entries:
        return next(entries, None) is None


def plan_fill(
    ws: Workspace,
    pointer_oid: str,
    folder: Path,
    verify: bool,
    digests: Mapping[str, str] | None = None,
) -> FolderFill:
    """Check that every object of the manifest is in the cache (all of them, before any file
    is made); the returned fill makes the folder."""
    # Read before the objects are looked for: a gc deleting some meanwhile changes it (and
    # takes the cache lock exclusively, which the caller holds shared).
    generation = ws.store.generation()
    files = decode_dir_columns(ws.store.read_bytes(pointer_oid), pointer_oid)
    stats = loose_stats(ws, files.oids)
    if len(stats) != len(dict.fromkeys(files.oids)):
        path, oid = next(
            (p, o) for p, o in zip(files.paths, files.oids, strict=True) if o not in stats
        )
        error = missing_object(oid)
        error.message += f" (needed for {ws.repo.relpath(folder / path)})"
        raise error
    if verify:
        for oid in stats:
            ws.store.verify(oid, (digests or {}).get(oid))
    return FolderFill(folder, pointer_oid, files, generation, stats)


def loose_stats(ws: Workspace, oids: list[str]) -> dict[str, os.stat_result]:
    """`store.stats_of(oids)`, after unpacking those that are only packed (the others that
    are missing stay missing)."""
    stats = ws.store.stats_of(oids)
    if len(stats) != len(dict.fromkeys(oids)):
        unpacked = [oid for oid in dict.fromkeys(oids) if oid not in stats and ws.ensure_loose(oid)]
        stats.update(ws.store.stats_of(unpacked))
    return stats


def execute_fill(ws: Workspace, fill: FolderFill, progress: Progress) -> None:
    """Create the folder, then record what was placed: a stat cache row per file (only rows
    that changed are written: after `add` in hardlink mode, none) and the folder's fingerprint
    as `status` computes it, so that `status` right after finds the folder up to date."""
    files = fill.files
    top = str(fill.folder)
    stats = fill_new_folder(
        str(ws.store.objects_dir),
        top,
        files.paths,
        files.oids,
        files.executable,
        files.folders,
        ws.link_modes,
        fill.object_stats,
        ws.work_temps(),
        progress.advance,
    )
    ws.stat_cache.upsert_rows(
        [
            (f"{top}/{path}", st.st_ino, st.st_mtime_ns, st.st_size, oid)
            for path, st, oid in zip(files.paths, stats, files.oids, strict=True)
        ]
    )
    if any(path.endswith(POINTER_SUFFIX) for path in files.paths):
        return  # status never lists such files, so it could not match this folder anyway
    # What walk_folder would list, as (relpath, location, stat) triples: folder_fingerprint
    # reads nothing else (no WorkFile per file needed), in walk_folder's order.
    listed: Iterator[tuple[str, str, os.stat_result]]
    listed = zip(files.paths, repeat(""), stats, strict=False)
    if any(a > b for a, b in zip(files.paths, files.paths[1:], strict=False)):  # come sorted
        listed = iter(sorted(listed))
    fingerprint = folder_fingerprint(cast("Iterator[WorkFile]", listed))
    state = FolderState(fingerprint, fill.pointer_oid, str(ws.store.root), fill.generation)
    ws.stat_cache.record_folder(fill.folder, state)
