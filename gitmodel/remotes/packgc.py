"""gc --remote in the packed layout (docs/pack-format.md, section 10.5).

Recipes nothing in Git needs go first (older than the grace period), then packs: a chunk is
live when a live recipe uses it, when it is a file of one chunk (its id is its oid) that Git
needs or whose pack is recent, or when it is the delta base of a live chunk, transitively. A
pack of only live chunks stays; one of none is deleted; one with both is rewritten: its live
entries are copied, as they are stored, into a new pack, which goes up (pack, then index)
before the old index and then the old pack are deleted. Packs younger than the grace period,
and packs a keep file of a running push names, are left alone.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from gitmodel.errors import GitModelError
from gitmodel.hashing import OID_PREFIX
from gitmodel.packs.encoding import Encoded
from gitmodel.packs.packfile import PackWriter, Record, parse_entry
from gitmodel.packs.recipe import Recipe, chunk_of, single_chunk_recipe
from gitmodel.remotes.base import KeyInfo, Remote
from gitmodel.remotes.layout import KEEPS, MARKER_LIMIT, PACKS, RemotePacks, recipe_key
from gitmodel.remotes.packpush import pack_target_size
from gitmodel.remotes.repack import needs_repack, repack


@dataclass
class PackGcResult:
    deleted_recipes: list[tuple[str, int]] = field(default_factory=list)  # oid, recipe size
    recent_recipes: int = 0
    deleted_packs: list[tuple[str, int]] = field(default_factory=list)  # name, bytes
    rewritten: list[tuple[str, int]] = field(default_factory=list)  # old name, its bytes
    new_packs: list[str] = field(default_factory=list)
    new_bytes: int = 0  # what the new packs of a rewrite take
    repacked: bool = False  # the whole remote rewritten, newest versions whole
    kept_packs: int = 0
    recent_packs: int = 0  # younger than the grace, or named by a push's keep file
    expired_keeps: list[tuple[str, int]] = field(default_factory=list)  # key, size
    # Files of one chunk (no recipe): those that go with their pack's rewrite (oid, size),
    # and how many stay because Git needs them or their pack is recent.
    deleted_files: list[tuple[str, int]] = field(default_factory=list)
    kept_files: int = 0
    recent_files: int = 0

    @property
    def freed(self) -> int:
        return (
            sum(s for _, s in self.deleted_recipes)
            + sum(s for _, s in self.deleted_packs)
            + sum(s for _, s in self.rewritten)
            + sum(s for _, s in self.expired_keeps)
            - self.new_bytes
        )


def is_recent(info: KeyInfo, cutoff: float | None) -> bool:
    """Younger than the grace period (`cutoff` None: --grace 0, nothing is)."""
    return cutoff is not None and (info.written is None or info.written > cutoff)


def gc_packs(
    remote: Remote,
    view: RemotePacks,
    needed: set[str],
    recipe_of: Callable[[str], Recipe],
    cutoff: float | None,
    dry_run: bool,
    work: Path,
) -> PackGcResult:
    """`recipe_of(oid)`: a recipe on the remote (the local copy, or read from the remote and
    checked). When every pack may be rewritten and the chains do not run newest-whole, the
    whole remote is repacked instead of rewriting packs one by one."""
    result = PackGcResult()
    live_recipes = []
    for oid, info in sorted(view.recipes.items()):
        if oid in needed:
            live_recipes.append(oid)
        elif is_recent(info, cutoff):
            result.recent_recipes += 1
            live_recipes.append(oid)
        else:
            result.deleted_recipes.append((oid, info.size))
    recipes = {oid: recipe_of(oid) for oid in live_recipes}
    protected = _kept_by_pushes(remote, cutoff, result)
    singles = _single_files(view, recipes, result, recipe_of, needed, protected, cutoff)
    used = [c.id for r in recipes.values() for c in r.chunks]
    live = _live_chunks(view, used + [chunk_of(r.oid) for r in singles])
    doomed: list[str] = []
    rewrite: list[str] = []
    for name, pack in sorted(view.packs.items()):
        index = view.indexes[name]
        keeps = [r for r in index.records if r.id in live]
        if name in protected or is_recent(pack, cutoff):
            result.recent_packs += 1
        elif len(keeps) == len(index.records):
            result.kept_packs += 1
        elif not keeps:
            doomed.append(name)
            result.deleted_packs.append((name, pack.size + view.index_keys[name].size))
        else:
            rewrite.append(name)
    orphans = [
        k
        for k in remote.call(partial(remote.list_keys, PACKS))
        if k.key.endswith(".pack")
        and k.key[len(PACKS) : -len(".pack")] not in view.index_keys
        and not is_recent(k, cutoff)
    ]
    result.deleted_packs += [(k.key[len(PACKS) : -len(".pack")], k.size) for k in orphans]
    newest_first = [
        recipes[oid]
        for oid in sorted(recipes, key=lambda o: view.recipes[o].written or 0.0, reverse=True)
    ] + singles
    whole = not result.recent_packs and bool(view.packs)  # every pack may be replaced
    result.repacked = whole and needs_repack(view, newest_first)
    if dry_run:
        result.rewritten = [(n, _garbage_bytes(view, n, live)) for n in rewrite]  # about
        return result
    for oid, _ in result.deleted_recipes:  # recipes first: a file leaves the remote whole
        remote.call(partial(remote.delete_key, recipe_key(oid)))
    if result.repacked:
        result.new_packs, result.new_bytes = repack(
            remote, view, newest_first, work, pack_target_size()
        )
        # A new pack may have the name of an old one (the same chunks, stored the same
        # way: a repack killed before its deletes, run again): that one stays.
        old = [n for n in sorted(view.packs) if n not in result.new_packs]
        dead = {n for n, _ in result.deleted_packs}
        result.rewritten = [
            (n, view.packs[n].size + view.index_keys[n].size) for n in old if n not in dead
        ]
        rewrite, doomed = [], old
        result.kept_packs = 0
    if rewrite:
        _rewrite(remote, view, rewrite, live, work, result)
    for name in doomed:
        _delete_pack(remote, name)
    for orphan in orphans:
        remote.call(partial(remote.delete_key, orphan.key))
    for key, _ in result.expired_keeps:
        remote.call(partial(remote.delete_key, key))
    return result


def _single_files(
    view: RemotePacks,
    recipes: dict[str, Recipe],
    result: PackGcResult,
    recipe_of: Callable[[str], Recipe],
    needed: set[str],
    protected: set[str],
    cutoff: float | None,
) -> list[Recipe]:
    """The files of one chunk that stay, as recipes. A chunk whose id is the oid of a file
    Git needs is that file, and stays. Of the others, those that no recipe on the remote
    lists are files of one chunk nothing needs: one stays while its pack is recent (its
    index, its commit point, was written within the grace period, or a push relies on it);
    the others are listed in `result.deleted_files`."""
    named = {c.id for r in recipes.values() for c in r.chunks}
    for oid, _ in result.deleted_recipes:  # their chunks are not files of their own
        try:
            named.update(c.id for c in recipe_of(oid).chunks)
        except GitModelError:
            continue  # a damaged recipe that goes anyway: fsck --remote reports it
    staying = []
    for chunk, (pack, record) in sorted(view.chunks.items()):
        oid = OID_PREFIX + chunk.hex()
        if oid in view.recipes:  # a file with a recipe (layout 2): kept or not with it
            continue
        if oid in needed:
            result.kept_files += 1
        elif chunk in named:
            continue
        elif pack in protected or is_recent(view.packs[pack], cutoff):
            result.recent_files += 1
        else:
            result.deleted_files.append((oid, record.size))
            continue
        staying.append(single_chunk_recipe(oid, record.size))
    return staying


def _live_chunks(view: RemotePacks, used: list[bytes]) -> set[bytes]:
    live: set[bytes] = set()
    for chunk in used:
        wanted: bytes | None = chunk
        while wanted is not None and wanted not in live:
            live.add(wanted)
            found = view.chunks.get(wanted)
            wanted = found[1].base if found is not None else None
    return live


def _kept_by_pushes(remote: Remote, cutoff: float | None, result: PackGcResult) -> set[str]:
    """Packs named by keep files younger than the grace; older keep files are expired."""
    protected: set[str] = set()
    for keep in remote.call(partial(remote.list_keys, KEEPS)):
        if not is_recent(keep, cutoff):
            result.expired_keeps.append((keep.key, keep.size))
            continue
        try:
            data = remote.call(partial(remote.read_key, keep.key, 64 * MARKER_LIMIT))
        except Exception:
            continue
        protected |= set(data.decode("ascii", "replace").split())
    return protected


def _garbage_bytes(view: RemotePacks, name: str, live: set[bytes]) -> int:
    return sum(r.length for r in view.indexes[name].records if r.id not in live)


def _rewrite(
    remote: Remote,
    view: RemotePacks,
    names: list[str],
    live: set[bytes],
    work: Path,
    result: PackGcResult,
) -> None:
    """Copy the live entries of `names` into new packs, as stored (no re-encoding), upload
    them, then delete the old packs."""
    work.mkdir(parents=True, exist_ok=True)
    try:
        with PackWriter(work) as writer:
            for name in names:
                records = {r.offset: r for r in view.indexes[name].records if r.id in live}
                for span, data in remote.read_ranges(
                    f"{PACKS}{name}.pack", [(r.offset, r.length) for r in records.values()]
                ):
                    for offset, length in span.ranges:
                        record = records[offset]
                        entry = data[offset - span.start : offset - span.start + length]
                        encoded = parse_entry(entry, record, f"pack {name}: {record.id.hex()}")
                        _copy(writer, record, encoded)
        for new in writer.written:
            for suffix in (".pack", ".idx"):
                path = work / f"{new}{suffix}"
                remote.call(partial(remote.put_file, str(path), f"{PACKS}{new}{suffix}"))
                result.new_bytes += path.stat().st_size
            result.new_packs.append(new)
        for name in names:
            size = view.packs[name].size + view.index_keys[name].size
            if name not in writer.written:  # not a new pack that came out the same
                _delete_pack(remote, name)
            result.rewritten.append((name, size))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _copy(writer: PackWriter, record: Record, encoded: Encoded) -> None:
    writer.add_encoded(record.id, record.size, encoded, record.base, record.depth)


def _delete_pack(remote: Remote, name: str) -> None:
    """The index first: a pack without its index is invisible to readers."""
    remote.call(partial(remote.delete_key, f"{PACKS}{name}.idx"))
    remote.call(partial(remote.delete_key, f"{PACKS}{name}.pack"))
