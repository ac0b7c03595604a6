"""How many bytes a remote's models take as files (raw) and as stored there (loose objects,
packs with their indexes, recipes): the remote half of `git model du`."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path

from gitmodel.packs.store import LocalPacks
from gitmodel.remotes.base import Remote, oid_from_key
from gitmodel.remotes.layout import PACKS, RemotePacks


@dataclass
class RemoteUsage:
    """The fields of `git model du`'s Usage, for a remote."""

    where: str
    objects: int = 0  # distinct files the remote holds, loose or as a recipe
    raw: int = 0  # their sizes added up
    loose: int = 0
    loose_bytes: int = 0
    packs: int = 0
    pack_bytes: int = 0  # packs and their indexes (packs without an index too: they cost)
    recipes: int = 0
    recipe_bytes: int = 0

    @property
    def stored(self) -> int:
        return self.loose_bytes + self.pack_bytes + self.recipe_bytes

    @property
    def ratio(self) -> float:
        return self.stored / self.raw if self.raw else 0.0


def remote_usage(remote: Remote, cache_root: Path) -> RemoteUsage:
    """One listing per folder of the remote; a file's size comes from its loose object's size
    or its recipe (the local copy when the cache has it, else read from the remote)."""
    view = RemotePacks.open(remote, cache_root)
    usage = RemoteUsage(remote.label)
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
