"""Work files that a killed copy-mode `add` left sharing their inode with a cache object.

A big file added in copy mode is adopted (cache/adopt.py): its inode is published as the
object, then a fresh copy takes its place in the work tree. Killed between the two, the work
file *is* the object: read-only, two links, so a write through it (by root, or after a chmod)
would corrupt the only copy. Where the link modes never hard-link, no work file may share an
inode with an object, so `add`, `status` and `checkout` give such a file a copy of its own
(its bytes are the object's: nothing is lost). The copy gets the mode a checkout gives it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from gitmodel.artifacts import FileHasher, WorkFile
from gitmodel.cache.links import materialise
from gitmodel.workspace import Workspace


def shares_object_inode(ws: Workspace, st: os.stat_result, oid: str) -> bool:
    """Whether the work file whose lstat is `st` is object `oid`'s inode although the link
    modes never make hard links (the leftover of a killed adopt)."""
    if st.st_nlink < 2 or not stat.S_ISREG(st.st_mode) or "hardlink" in ws.link_modes:
        return False
    obj = ws.store.stat(oid)
    return obj is not None and (obj.st_dev, obj.st_ino) == (st.st_dev, st.st_ino)


def give_own_copy(ws: Workspace, location: str, oid: str, executable: bool) -> os.stat_result:
    """Replace the work file at `location` (object `oid`'s inode) atomically with the object's
    bytes, placed as a checkout places them; returns its new lstat (for the stat cache)."""
    materialise(ws.store.location(oid), Path(location), ws.link_modes, executable, ws.work_temps())
    return os.lstat(location)


def unshare_files(ws: Workspace, hasher: FileHasher, files: list[WorkFile]) -> bool:
    """Give each of a folder's `files` that is a cache object's inode a copy of its own (the
    object is the one its bytes hash to: no manifest needed). True if any was replaced."""
    if "hardlink" in ws.link_modes:
        return False
    replaced = False
    for work in files:
        if work.st.st_nlink > 1 and stat.S_ISREG(work.st.st_mode):
            oid = hasher.oid_of(work.location, work.st)
            if shares_object_inode(ws, work.st, oid):
                st = give_own_copy(ws, work.location, oid, executable=False)
                hasher.fresh.append((work.location, st, oid))  # after the old stat: it wins
                replaced = True
    return replaced
