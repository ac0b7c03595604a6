"""`git model du`: how many bytes the models take as files (raw) and as stored (loose objects,
packs, recipes), for the local cache.

The remote half (`du --remote NAME`) belongs with remote packs: a `Usage` of a remote, built
by a function beside `local_usage`, printed the same way.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from gitmodel.cache.lock import file_lock
from gitmodel.workspace import Workspace, open_workspace


@dataclass
class Usage:
    where: str
    objects: int = 0  # distinct files the place holds, loose or packed
    raw: int = 0  # their sizes added up: what they take as plain files
    loose: int = 0  # loose object files
    loose_bytes: int = 0
    packs: int = 0
    pack_bytes: int = 0  # packs and their indexes
    recipes: int = 0
    recipe_bytes: int = 0

    @property
    def stored(self) -> int:
        return self.loose_bytes + self.pack_bytes + self.recipe_bytes

    @property
    def ratio(self) -> float:
        """Stored bytes per raw byte (0.0 for an empty place)."""
        return self.stored / self.raw if self.raw else 0.0


def du(*, repo: str | Path = ".") -> Usage:
    ws = open_workspace(Path(repo))
    with file_lock(ws.cache_lock, shared=True):  # no gc moves objects meanwhile
        return local_usage(ws)


def local_usage(ws: Workspace) -> Usage:
    """The local cache: loose objects, plus the objects only its packs hold."""
    usage = Usage("local cache")
    present = set()
    for oid, path in ws.store.local_objects():
        size = path.stat().st_size
        present.add(oid)
        usage.loose += 1
        usage.loose_bytes += size
        usage.raw += size
    packs = ws.packs
    for oid in packs.recipe_oids():
        usage.recipes += 1
        usage.recipe_bytes += packs.recipe_path(oid).stat().st_size
        if oid not in present and packs.is_packed(oid):
            recipe = packs.recipe(oid)
            usage.raw += recipe.size if recipe else 0
            present.add(oid)
    usage.objects = len(present)
    if packs.packs_dir.is_dir():
        for entry in os.scandir(packs.packs_dir):
            if entry.name.startswith("pack-") and entry.name.endswith((".pack", ".idx")):
                usage.packs += entry.name.endswith(".pack")
                usage.pack_bytes += entry.stat().st_size
    return usage
