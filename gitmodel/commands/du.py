"""`git model du`: how many bytes the models take as files (raw) and as stored (loose objects,
packs, recipes), in the local cache or on a remote."""

from __future__ import annotations

import os
from pathlib import Path

from gitmodel.cache.lock import file_lock
from gitmodel.packs.usage import Usage
from gitmodel.remotes.config import resolve_remote
from gitmodel.remotes.usage import remote_usage
from gitmodel.workspace import Workspace, open_workspace


def du(*, remote: str | None = None, repo: str | Path = ".") -> Usage:
    """Raw size, stored size and their ratio for the local cache, or for the model remote
    named `remote`."""
    ws = open_workspace(Path(repo))
    if remote is not None:
        return remote_usage(resolve_remote(ws.repo, remote), ws.store.root)
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
