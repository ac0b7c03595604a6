"""How many bytes a remote's models take as files (raw) and as stored there (loose objects,
packs with their indexes, recipes): the remote half of `git model du`."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from gitmodel.hashing import OID_PREFIX
from gitmodel.packs.store import LocalPacks
from gitmodel.packs.usage import Usage
from gitmodel.remotes.base import Remote, oid_from_key
from gitmodel.remotes.layout import PACKS, RemotePacks


def remote_usage(remote: Remote, cache_root: Path) -> Usage:
    """One listing per folder of the remote; a file's size comes from its loose object's size,
    its recipe (the local copy when the cache has it, else read from the remote), or for a
    file of one chunk (a chunk that no recipe lists) its index record."""
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
    named: set[bytes] = set()  # chunks that recipes list
    for oid, info in sorted(view.recipes.items()):
        usage.recipes += 1
        usage.recipe_bytes += info.size
        recipe = local.recipe(oid) or view.read_recipe(oid)
        named.update(c.id for c in recipe.chunks)
        if oid not in present:
            usage.raw += recipe.size
            present.add(oid)
    for chunk, (_, record) in view.chunks.items():  # the others are files of one chunk
        single = OID_PREFIX + chunk.hex()
        if chunk not in named and single not in present:
            usage.raw += record.size
            present.add(single)
    for info in remote.call(partial(remote.list_keys, PACKS)):
        usage.packs += info.key.endswith(".pack")
        usage.pack_bytes += info.size
    usage.objects = len(present)
    return usage
