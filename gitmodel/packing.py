"""Local packing, the part of `git model gc` that packs the cache (docs/gc-fsck.md, "Packs").

Every needed object of at least `PACK_FLOOR` bytes (manifests excepted) goes into the local
packs, newest version of each tensor whole and older ones as deltas against newer; the loose
copies of those that no work tree, index, work-tree HEAD or stash of any repository sharing
the cache names, and that no work-tree file links to, are deleted. An object that stays
loose is packed only as far as the others need its chunks (shared, or delta bases). Packs
are never changed in place: when anything changes (new objects, garbage in a pack, leftovers
of a killed repack), the live chunks are written into new packs, and only then are the old
packs and loose copies deleted, so a kill at any moment leaves every object readable.
"""

from __future__ import annotations

import os
from collections.abc import Sequence, Set
from dataclasses import dataclass, field
from pathlib import Path

from gitmodel.fsutil import remove_quietly
from gitmodel.packs.recipe import Recipe
from gitmodel.packs.store import LOCAL_MAX_DEPTH, LocalPacks, chains
from gitmodel.reachability import CheckedOut, Needed, checked_out_by_git
from gitmodel.workspace import Workspace

# Smaller objects stay loose: manifests, configs, tokenizers. Packing them saves little, and
# `diff` and `status` read them often.
PACK_FLOOR = 1024 * 1024


@dataclass
class PackingResult:
    # Objects whose loose copy was (or would be) deleted, now only in packs: oid, size.
    packed: list[tuple[str, int]] = field(default_factory=list)
    kept_loose: int = 0  # packed objects kept loose too: checked out, or linked to
    only_packed: int = 0  # needed objects in packs with no loose copy (before this gc)
    packs_written: list[str] = field(default_factory=list)
    packs_deleted: list[str] = field(default_factory=list)


def pack_loose_enabled(ws: Workspace) -> bool:
    """`git config model.packLoose` (default true): false keeps every loose object."""
    return ws.bool_setting("model.packLoose", True)


def packed_garbage(
    ws: Workspace, needed: set[str], loose: dict[str, Path]
) -> list[tuple[str, int]]:
    """Unneeded objects that are only in packs (oid, raw size): gc deletes their recipes, and
    their chunks leave the packs at the next repack."""
    packs = LocalPacks(ws.store.root)
    garbage = []
    for oid in packs.recipe_oids():
        if oid not in needed and oid not in loose and packs.is_packed(oid):
            recipe = packs.recipe(oid)
            garbage.append((oid, recipe.size if recipe else 0))
    return garbage


def pack_cache(
    ws: Workspace, needed: Needed, loose: dict[str, Path], dry_run: bool
) -> PackingResult:
    """Pack the local cache as described above; call it with the cache lock held exclusively,
    before gc deletes the loose objects nothing needs (`loose`: the ones it keeps): a packed
    version may need chunks that only such an object holds."""
    packs = LocalPacks(ws.store.root)
    result = PackingResult()
    if not dry_run:
        _sweep_leftovers(packs)
    with_recipe = set(packs.recipe_oids())
    live: dict[str, Recipe] = {}
    for oid in sorted(needed.oids & with_recipe):  # what is packed stays packed (or loose)
        recipe = packs.recipe(oid)
        assert recipe is not None
        if oid in loose:  # packed if its chunks are all in packs; not only in its loose copy
            if all(c.id in packs.packs for c in recipe.chunks):
                live[oid] = recipe
        else:  # in packs, or some chunks in a loose copy; what is left of it stays, at least
            live[oid] = recipe
            result.only_packed += packs.is_packed(oid)
    candidates = []
    if pack_loose_enabled(ws):
        for oid, path in loose.items():
            if oid in needed.oids and oid not in needed.metadata:
                st = path.stat()
                if st.st_size >= PACK_FLOOR:
                    candidates.append((oid, path, st))
    checked_out = checked_out_by_git(ws) if candidates else CheckedOut(set(), [])
    linked = _linked_objects(ws, checked_out.artifacts)
    stay = {
        oid
        for oid, _, st in candidates
        if oid in checked_out.oids or oid in linked or st.st_nlink > 1  # a hard link
    }
    # A work-tree file that is a link to the object could be written through: only the loose
    # copies of the others are trusted to hold chunks that packed versions need.
    backing = {
        oid for oid, _, st in candidates if oid in stay and oid not in linked and st.st_nlink == 1
    }
    result.kept_loose = len(stay)
    if dry_run:
        result.packed = [(oid, st.st_size) for oid, _, st in candidates if oid not in stay]
        return result
    for oid, _, _ in candidates:
        if oid not in live:
            live[oid] = packs.recipe_or_chunk(oid, ws.store)
    old = [index.pack.stem for index in packs.packs.indexes]
    newest_first = sorted(live.values(), key=lambda r: (-_recipe_mtime(packs, r.oid), r.oid))
    held = {c.id for oid in backing for c in live[oid].chunks}
    wanted = chunks_to_pack(newest_first, stay, held) & packs.available_chunks()
    repack = _needs_repack(packs, wanted)
    if repack:
        result.packs_written = packs.write_packs(
            newest_first, lambda c: _read_raw(packs, c), only=wanted
        )
    doomed = []
    for oid, path, st in candidates:
        if oid not in stay and all(c.id in held or c.id in packs.packs for c in live[oid].chunks):
            result.packed.append((oid, st.st_size))
            doomed.append(path)
    garbage = sorted(with_recipe - needed.oids)
    if doomed or repack or garbage:
        ws.store.bump_generation()  # objects leave: status re-checks what it trusted
    for path in doomed:
        path.unlink()
    if repack:
        for name in old:
            if name not in result.packs_written:
                remove_quietly(packs.packs_dir / f"{name}.idx")  # readers find packs by index
                remove_quietly(packs.packs_dir / f"{name}.pack")
                result.packs_deleted.append(name)
    for oid in garbage:
        remove_quietly(packs.recipe_path(oid))
    if doomed or repack or garbage:
        ws.store.bump_generation()
    return result


def chunks_to_pack(
    newest_first: Sequence[Recipe], kept: Set[str], held: Set[bytes] = frozenset()
) -> set[bytes]:
    """The chunks the packs must hold: each chunk of a recipe whose object does not stay
    loose (`kept`), unless the loose copy of an object that stays holds it (`held`), and each
    chunk the delta of such a chunk is based on, transitively (its chain's newer links,
    `chains`): delta bases are always in packs. So a checked-out version is not stored twice:
    the packs hold only the chunks of it that are bases of older versions' deltas."""
    packed = {c.id for recipe in newest_first if recipe.oid not in kept for c in recipe.chunks}
    packed -= held
    wanted = set()
    for chain in chains(newest_first, LOCAL_MAX_DEPTH):
        base_of_wanted = False  # the next older link is wanted and a delta against this one
        for link in reversed(chain):
            if link.id in packed or base_of_wanted:
                wanted.add(link.id)
                base_of_wanted = link.delta_base
            else:
                base_of_wanted = False
    return wanted


def _needs_repack(packs: LocalPacks, wanted: set[bytes]) -> bool:
    """Whether the packs are not exactly the wanted chunks, each once."""
    have = [chunk for index in packs.packs.indexes for chunk in index.ids]
    return len(have) != len(set(have)) or set(have) != wanted


def _recipe_mtime(packs: LocalPacks, oid: str) -> float:
    """When the object first came into the cache: its recipe carries the loose object's
    mtime from when it was written (`LocalPacks.recipe_or_chunk`)."""
    try:
        return packs.recipe_path(oid).stat().st_mtime
    except FileNotFoundError:
        return 0.0


def _read_raw(packs: LocalPacks, chunk: bytes) -> bytes:
    """A chunk's bytes, from a loose object if one has it (no decoding), else from a pack."""
    data = packs.read_loose_chunk(chunk)
    if data is None:
        data = packs.packs.read_chunk(chunk)
    return data


def _linked_objects(ws: Workspace, artifacts: list[Path]) -> set[str]:
    """Objects that a work-tree file is a symbolic link to (symlink link mode)."""
    objects = os.path.realpath(ws.store.objects_dir) + "/"
    found: set[str] = set()

    def note(link: str) -> None:
        target = os.path.realpath(link)
        if target.startswith(objects):
            digits = target[len(objects) :].replace("/", "")
            found.add("xxh128:" + digits)

    for artifact in artifacts:
        if os.path.islink(artifact):
            note(str(artifact))
        elif os.path.isdir(artifact):
            for folder, dirs, files in os.walk(artifact):
                for name in files + dirs:
                    if os.path.islink(os.path.join(folder, name)):
                        note(os.path.join(folder, name))
    return found


def _sweep_leftovers(packs: LocalPacks) -> None:
    """What a killed repack left in `packs/`: temp files, and packs whose index was never
    written (readers never saw them)."""
    if not packs.packs_dir.is_dir():
        return
    for entry in os.scandir(packs.packs_dir):
        unindexed = entry.name.endswith(".pack") and not os.path.exists(entry.path[:-5] + ".idx")
        if entry.name.startswith("tmp-") or unindexed:
            remove_quietly(entry.path)
