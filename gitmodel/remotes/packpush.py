"""Push in the packed layout: only the chunks a remote lacks, in new packs, deltas against what
the remote already has (docs/pack-format.md, section 10).

Order on the remote: the format marker, raised to 3 before the first file without a recipe;
the keep file naming the packs this push reuses; then each new pack, then its index (a pack
whose index arrived is on the remote: a later push does not send its chunks again, and a file
that is one chunk is on the remote from then on, without a recipe); then the recipes of files
of several chunks, the commit point (such a file is on the remote once its recipe is); then
the keep file is removed. A killed push leaves packs without indexes, which gc --remote
deletes, and packs with indexes, which the next push reuses.
"""

from __future__ import annotations

import itertools
import os
import shutil
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from gitmodel.cache.objects import ObjectStore, corrupt_object
from gitmodel.errors import GitModelError
from gitmodel.packs.chunking import CDC_MIN, TensorSlot, chunk_id, is_one_chunk
from gitmodel.packs.encoding import plane_width
from gitmodel.packs.packfile import PACK_TARGET_SIZE, PackWriter
from gitmodel.packs.recipe import (
    Recipe,
    chunk_of,
    encode_recipe,
    is_single_chunk,
    single_chunk_recipe,
)
from gitmodel.packs.store import LocalPacks
from gitmodel.remotes.base import KeyInfo, Remote
from gitmodel.remotes.layout import (
    FORMAT_VERSION,
    KEEPS,
    PACKS,
    RemotePacks,
    recipe_key,
    write_format,
)


@dataclass
class PackPushResult:
    objects: list[str] = field(default_factory=list)  # oids now on the remote
    raw: int = 0  # their sizes: the model bytes this push put on the remote
    sent: int = 0  # bytes uploaded: packs, indexes, recipes
    new_chunks: int = 0
    reused_chunks: int = 0  # chunks of these files the remote already had
    packs: list[str] = field(default_factory=list)


SlotKey = tuple[TensorSlot, int, int]
KEPT_BYTES = 64 * 1024 * 1024  # small files' bytes held between reading and packing them
PACK_SIZE_ENV = "GIT_MODEL_PACK_SIZE"  # bytes; for tests, which want many small packs


def pack_target_size() -> int:
    value = os.environ.get(PACK_SIZE_ENV, "")
    return (
        int(value) if value.isdigit() and int(value) > 0 else PACK_TARGET_SIZE
    )  # tensor slot, part, size: where a delta base fits


def push_packed(
    store: ObjectStore,
    remote: Remote,
    view: RemotePacks,
    oids: list[str],
    jobs: int,
) -> PackPushResult:
    """Upload the recipes of `oids` (which the remote lacks) and the chunks they need."""
    local = LocalPacks(store.root)
    result = PackPushResult()
    # Oldest first, by when each entered the cache: each version then deltas against the one
    # before it, whatever order the oids came in (a push of ten versions at once).
    ages: dict[str, float] = {}
    kept: dict[bytes, bytes] = {}
    recipes = sorted(_recipes(local, store, oids, ages, kept), key=lambda r: ages[r.oid])
    bases = _remote_bases(local, view)
    plan: list[tuple[Recipe, list[int]]] = []
    relied: set[str] = set()
    planned: set[bytes] = set()
    for recipe in recipes:
        fresh = []
        for at, chunk in enumerate(recipe.chunks):
            there = view.chunks.get(chunk.id)
            if there is not None:
                relied.add(there[0])
                result.reused_chunks += 1
            elif chunk.id not in planned:
                planned.add(chunk.id)
                fresh.append(at)
        plan.append((recipe, fresh))
    for recipe, fresh in plan:  # the packs of the delta bases it may use
        for at in fresh:
            chunk = recipe.chunks[at]
            slot = recipe.slot(chunk)
            found = bases.get((slot, chunk.part, chunk.size)) if slot is not None else None
            if found is not None and found[0] in view.chunks:
                relied.add(view.chunks[found[0]][0])
    singles = [r for r in recipes if is_single_chunk(r)]
    if view.version is None or (singles and view.version < FORMAT_VERSION):
        # A reader of version 2 would take a file without a recipe for missing: the marker
        # tells it to upgrade before any such file is there.
        write_format(remote)
        view.version = FORMAT_VERSION
    keep = _write_keep(remote, relied) if relied else None
    work = store.tmp_dir / f"push-{os.getpid()}-{os.urandom(4).hex()}"
    try:
        _send_packs(store, local, remote, view, plan, bases, work, jobs, result, kept)
        if relied:
            _check_still_there(remote, relied)
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            several = [r for r in recipes if not is_single_chunk(r)]
            result.sent += sum(pool.map(partial(_send_recipe, remote), several))
        result.objects = [r.oid for r in recipes]
        result.raw = sum(r.size for r in recipes)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if keep is not None:
        remote.call(partial(remote.delete_key, keep))
    return result


def _recipes(
    local: LocalPacks,
    store: ObjectStore,
    oids: list[str],
    ages: dict[str, float],
    kept: dict[bytes, bytes],
) -> Iterator[Recipe]:
    """The recipe of each of `oids`, and in `ages` when each entered the cache. A small loose
    object that is one chunk is read once and needs no recipe, stored or cut (thousands of
    small files: the per-file cost is what counts); its bytes wait in `kept` for the pack
    writer, up to KEPT_BYTES in all."""
    stats = store.stats_of(oids)
    budget = KEPT_BYTES
    for oid in oids:
        st = stats.get(oid)
        if st is not None and st.st_size < CDC_MIN:
            data = _read_small(store, oid)
            if is_one_chunk(data):
                if chunk_id(data) != chunk_of(oid):
                    raise corrupt_object(oid, store.path(oid))
                ages[oid] = st.st_mtime
                if budget >= len(data):
                    kept[chunk_of(oid)] = data
                    budget -= len(data)
                yield single_chunk_recipe(oid, len(data))
                continue
        recipe = local.recipe_or_chunk(oid, store)
        ages[oid] = _age(local, oid, store)
        yield recipe


def _read_small(store: ObjectStore, oid: str) -> bytes:
    with open(store.location(oid), "rb") as f:
        return f.read(CDC_MIN)


def _remote_bases(local: LocalPacks, view: RemotePacks) -> dict[SlotKey, tuple[bytes, int]]:
    """Delta bases the remote has in its packs: per tensor slot, part and size, a chunk id and
    its chain depth, from the local copies of the recipes the remote holds. Loose remote
    objects are never bases (an older release's gc may delete them)."""
    bases: dict[SlotKey, tuple[bytes, int]] = {}
    # Only recipes this cache holds can be bases (their chunks' bytes are needed), so they
    # are ordered by when each object entered the cache: a push uploads its recipes in
    # parallel, so the remote's write times do not follow the versions.
    by_age = sorted(
        view.recipes, key=lambda oid: (_age(local, oid), view.recipes[oid].written or 0.0)
    )
    for oid in by_age:  # newest last: each version deltas against the one before it
        recipe = local.recipe(oid)
        for chunk in recipe.chunks if recipe is not None else ():
            slot = recipe.slot(chunk) if recipe is not None else None
            there = view.chunks.get(chunk.id)
            if slot is not None and there is not None:
                _offer(bases, (slot, chunk.part, chunk.size), chunk.id, there[1].depth)
    return bases


def _age(local: LocalPacks, oid: str, store: ObjectStore | None = None) -> float:
    """When the object entered this cache: its recipe's mtime (`recipe_or_chunk` gives it
    the loose object's), else the loose object's (a file of one chunk has no recipe); 0.0
    when the cache has neither."""
    for path in (local.recipe_path(oid), *([store.path(oid)] if store else [])):
        try:
            return path.stat().st_mtime
        except OSError:
            continue
    return 0.0


def _offer(bases: dict[SlotKey, tuple[bytes, int]], at: SlotKey, chunk: bytes, depth: int) -> None:
    """The newest chunk of a slot is its base (the closest version, the smallest delta); a
    base at the maximum depth makes the next chunk whole, which starts a new chain."""
    bases[at] = (chunk, depth)


def _send_packs(
    store: ObjectStore,
    local: LocalPacks,
    remote: Remote,
    view: RemotePacks,
    plan: list[tuple[Recipe, list[int]]],
    bases: dict[SlotKey, tuple[bytes, int]],
    work: Path,
    jobs: int,
    result: PackPushResult,
    kept: dict[bytes, bytes],
) -> None:
    """Encode the new chunks into packs of ~64 MiB in `work`, each uploaded (pack, then index)
    while the next is written. `kept`: bytes of chunks already read (`_recipes`)."""
    pool = ThreadPoolExecutor(max_workers=max(1, jobs))
    uploads: list[Future[int]] = []
    writer = PackWriter(work, pack_target_size(), durable=False)  # only read back to upload
    try:
        for recipe, fresh in plan:
            new = set(fresh)
            kept_all = all(recipe.chunks[at].id in kept for at in fresh)
            loose = _LooseFile(store.path(recipe.oid), recipe) if fresh and not kept_all else None
            for at, chunk in enumerate(recipe.chunks):
                slot = recipe.slot(chunk)
                if at not in new:  # on the remote already: still the newest of its slot
                    there = view.chunks.get(chunk.id)
                    if slot is not None and there is not None:
                        _offer(bases, (slot, chunk.part, chunk.size), chunk.id, there[1].depth)
                    continue
                data = kept.pop(chunk.id, None)
                if data is None and loose is not None:
                    data = loose.read(at)
                if data is None:
                    data = local.read_chunk(chunk.id)
                if data is None:
                    raise GitModelError(
                        f"chunk {chunk.id.hex()} of {recipe.oid} is not in the local cache",
                        "run `git model fsck`; fetch the object again, or re-add it",
                    )
                base = None
                if slot is not None:
                    found = bases.get((slot, chunk.part, chunk.size))
                    base_bytes = local.read_chunk(found[0]) if found else None
                    if found and base_bytes is not None:
                        base = (found[0], base_bytes, found[1])  # PackWriter: none at the max
                record = writer.add(
                    chunk.id, data, plane_width(slot.dtype if slot else None, chunk.size), base
                )
                result.new_chunks += 1
                if slot is not None:
                    _offer(bases, (slot, chunk.part, chunk.size), chunk.id, record.depth)
                while len(writer.written) > len(result.packs):
                    name = writer.written[len(result.packs)]
                    result.packs.append(name)
                    uploads.append(pool.submit(_send_pack, remote, view, work, name))
            if loose is not None:
                loose.close()
        writer.close()
        while len(writer.written) > len(result.packs):
            name = writer.written[len(result.packs)]
            result.packs.append(name)
            uploads.append(pool.submit(_send_pack, remote, view, work, name))
        for upload in uploads:
            result.sent += upload.result()
    except BaseException:
        writer.abort()
        remote.cancel()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


class _LooseFile:
    """The chunks of a recipe read from its loose object in order, through one open file, each
    checked against its id; `read` gives None when the object is not loose."""

    def __init__(self, path: Path, recipe: Recipe) -> None:
        self.path = path
        self.recipe = recipe
        self.offsets = list(itertools.accumulate((c.size for c in recipe.chunks), initial=0))
        try:
            self.fd: int | None = os.open(path, os.O_RDONLY)
        except OSError:
            self.fd = None

    def read(self, at: int) -> bytes | None:
        if self.fd is None:
            return None
        chunk = self.recipe.chunks[at]
        parts, got = [], 0
        while got < chunk.size:
            part = os.pread(self.fd, chunk.size - got, self.offsets[at] + got)
            if not part:
                break
            parts.append(part)
            got += len(part)
        data = parts[0] if len(parts) == 1 else b"".join(parts)
        if len(data) != chunk.size or chunk_id(data) != chunk.id:
            raise corrupt_object(self.recipe.oid, self.path)
        return data

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def _send_pack(remote: Remote, view: RemotePacks, work: Path, name: str) -> int:
    """Upload one pack, then its index; the local files go once both are up."""
    pack, index = work / f"{name}.pack", work / f"{name}.idx"
    pack_key, index_key = f"{PACKS}{name}.pack", f"{PACKS}{name}.idx"
    remote.call(partial(remote.put_file, str(pack), pack_key))
    remote.call(partial(remote.put_file, str(index), index_key))
    sizes = pack.stat().st_size, index.stat().st_size
    now = time.time()
    view.add_index(name, index, KeyInfo(pack_key, sizes[0], now), KeyInfo(index_key, sizes[1], now))
    for path in (pack, index):
        path.chmod(0o644)
        path.unlink()
    return sum(sizes)


def _send_recipe(remote: Remote, recipe: Recipe) -> int:
    data = encode_recipe(recipe)
    remote.call(partial(remote.put_bytes, recipe_key(recipe.oid), data))
    return len(data)


def _write_keep(remote: Remote, packs: set[str]) -> str:
    """A keep file: `gc --remote` leaves the packs it names alone while it is younger than
    the grace period, so a push can rely on chunks that no live recipe uses yet."""
    key = f"{KEEPS}{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{os.urandom(8).hex()}"
    remote.call(partial(remote.put_bytes, key, "".join(f"{p}\n" for p in sorted(packs)).encode()))
    return key


def _check_still_there(remote: Remote, packs: set[str]) -> None:
    """A gc --remote that started before our keep file appeared may have removed a pack we
    rely on: then the recipes must not go up (they would name chunks that are gone)."""
    listed = {k.key for k in remote.call(partial(remote.list_keys, PACKS))}
    gone = sorted(p for p in packs if f"{PACKS}{p}.idx" not in listed)
    if gone:
        raise GitModelError(
            f"pack {gone[0]} left remote {remote.label} during the push (a gc --remote ran)",
            "run `git model push` again; what arrived is kept",
        )
