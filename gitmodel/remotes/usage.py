"""How many bytes a remote's models take as files (raw) and as stored there (loose objects,
packs with their indexes, recipes): the remote half of `git model du`."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from gitmodel.packs.store import LocalPacks
from gitmodel.packs.usage import Usage
from gitmodel.remotes.base import Remote, oid_from_key
from gitmodel.remotes.layout import PACKS, RemotePacks


def remote_usage(remote: Remote, cache_root: Path) -> Usage:
    """One listing per folder of the remote; a file's size comes from its loose object's size
    or its recipe (the local copy when the cache has it, else read from the remote)."""
    view = RemotePacks.open(remote, cache_root)
    usage = Usage(remote.label)
    present: set[str] = set()
    for info in remote.call(partial(remote.list_keys, "objects/")):
        oid = oid_from_key(info.key)
        if oid is not None:
            present.add(oid)
            usage.loose += 1
            usage.loose_bytes += info.size
            usage.raw += info.size
    local = LocalPacks(cache_root)
    for oid, info in sorted(view.recipes.items()):
        usage.recipes += 1
        usage.recipe_bytes += info.size
        if oid not in present:
            recipe = local.recipe(oid) or view.read_recipe(oid)
            usage.raw += recipe.size
            present.add(oid)
    for info in remote.call(partial(remote.list_keys, PACKS)):
        usage.packs += info.key.endswith(".pack")
        usage.pack_bytes += info.size
    usage.objects = len(present)
    return usage
