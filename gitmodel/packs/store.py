"""The packs of the local cache (docs/pack-format.md, section 9): recipes by file oid, chunks in
`packs/`, and loose objects rebuilt from them.

An object is *loose* when `objects/<2>/<30>` exists and *packed* when its recipe exists and
every chunk the recipe lists is in a local pack; it may be both. Commands read loose objects
as before; `unpack` turns a packed object back into a loose one (reassembled, hashed, renamed
into place) when its bytes are needed. `write_packs` is the writer `git model gc` uses.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitmodel.cache.objects import OBJECT_MODE, ObjectStore, corrupt_object, missing_object
from gitmodel.cache.tempfiles import TempFolder
from gitmodel.errors import CorruptObjectError, ObjectMissingError
from gitmodel.fsutil import remove_quietly
from gitmodel.hashing import OID_PREFIX, oid_hex
from gitmodel.packs.chunking import GRID, TensorSlot, chunk_file, chunk_id
from gitmodel.packs.encoding import HINT, decode_chain_into, plane_width
from gitmodel.packs.packfile import (
    PackIndex,
    PackStore,
    PackWriter,
    Record,
    load_index,
    read_entry,
)
from gitmodel.packs.reassembly import reassemble_decoded
from gitmodel.packs.recipe import Recipe, decode_recipe, encode_recipe, is_single_chunk, recipe_of

PACKS_DIR = "packs"
RECIPES_DIR = "recipes"
# Delta chains in local packs are at most this deep (the format allows 10): every link is one
# more entry to read and inflate, and checkout of an old version should stay fast.
LOCAL_MAX_DEPTH = 4


@dataclass(frozen=True, slots=True)
class LooseChunk:
    """Where a chunk is inside a loose object whose recipe lists it."""

    oid: str
    offset: int
    size: int


class LocalPacks:
    """The local cache's packs and recipes, read and written under `<cache_root>`."""

    def __init__(self, cache_root: Path) -> None:
        self.root = cache_root
        self.packs_dir = cache_root / PACKS_DIR
        self.recipes_dir = cache_root / RECIPES_DIR
        self._objects = ObjectStore(cache_root)
        self._temps = TempFolder(str(cache_root / "tmp"))
        self._store: PackStore | None = None
        self._loose_chunks: dict[bytes, LooseChunk] | None = None

    # --- reading -------------------------------------------------------------------------

    @property
    def packs(self) -> PackStore:
        """The local packs, found through their indexes (loaded once; `reload` re-reads)."""
        if self._store is None:
            self._store = PackStore(self.packs_dir, self._load_indexes())
        return self._store

    def reload(self) -> None:
        self._store = None
        self._loose_chunks = None

    def _load_indexes(self) -> list[PackIndex]:
        indexes = []
        try:
            paths = sorted(self.packs_dir.glob("pack-*.idx"))
        except OSError:
            return []
        for path in paths:
            try:
                indexes.append(load_index(path))
            except (CorruptObjectError, FileNotFoundError):
                if path.exists():  # else a gc deleted the pack while we looked: not there
                    raise
        return indexes

    def recipe_path(self, oid: str) -> Path:
        digits = oid_hex(oid)
        return self.recipes_dir / digits[:2] / digits[2:]

    def recipe(self, oid: str) -> Recipe | None:
        """The stored recipe of `oid`, checked (CorruptObjectError if it is damaged)."""
        try:
            data = self.recipe_path(oid).read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return None
        return decode_recipe(data, f"recipe of {oid}", oid)

    def recipe_oids(self) -> list[str]:
        """The oid of every stored recipe, sorted."""
        found = []
        if self.recipes_dir.is_dir():
            for prefix in sorted(os.scandir(self.recipes_dir), key=lambda e: e.name):
                if len(prefix.name) == 2 and prefix.is_dir():
                    for entry in sorted(os.scandir(prefix.path), key=lambda e: e.name):
                        if len(entry.name) == 30:
                            found.append(OID_PREFIX + prefix.name + entry.name)
        return found

    def not_in_cache(self, oids: Iterable[str], store: ObjectStore) -> set[str]:
        """Which of `oids` are neither loose nor packed: one stat per object, and one listing
        of the recipes rather than a lookup per object."""
        wanted = list(oids)
        loose = store.stats_of(wanted)
        absent = {o for o in wanted if o not in loose}
        if len(absent) > 64:
            with_recipe = set(self.recipe_oids())
            return {o for o in absent if o not in with_recipe or not self.is_packed(o)}
        return {o for o in absent if not self.is_packed(o)}

    def is_packed(self, oid: str) -> bool:
        """Whether `oid` can be rebuilt from its recipe without its own loose copy: each chunk
        in a local pack, or in another loose object whose stored recipe lists it (gc leaves
        a checked-out version's chunks only there)."""
        recipe = self.recipe(oid)
        if recipe is None:
            return False
        packs = self.packs
        if self._loose_chunks is None:
            self._loose_chunks = self._index_loose_chunks()
        loose = self._loose_chunks

        def held(chunk: bytes) -> bool:
            where = loose.get(chunk)
            return where is not None and where.oid != oid

        return all(c.id in packs or held(c.id) for c in recipe.chunks)

    def available_chunks(self) -> set[bytes]:
        """Every chunk id the cache holds: in a local pack, or in a loose object whose stored
        recipe lists it."""
        if self._loose_chunks is None:
            self._loose_chunks = self._index_loose_chunks()
        return set(self.packs.chunk_ids()) | self._loose_chunks.keys()

    def read_chunk(self, chunk: bytes, *, whole: bool = True) -> bytes | None:
        """The raw bytes of a chunk, checked against its id: from a local pack, else from a
        loose object whose stored recipe lists it; None if neither has it. `whole=False`:
        the caller knows that no loose object is that chunk (see `read_loose_chunk`)."""
        if chunk in self.packs:
            return self.packs.read_chunk(chunk)
        return self.read_loose_chunk(chunk, whole=whole)

    def read_loose_chunk(self, chunk: bytes, *, whole: bool = True) -> bytes | None:
        """A chunk's bytes from the loose object that is that chunk (its oid is the chunk's
        id; not looked for with `whole=False`), else from a loose object whose stored recipe
        lists it (None if none)."""
        data = self._read_whole_object(chunk) if whole else None
        if data is not None:
            return data
        if self._loose_chunks is None:
            self._loose_chunks = self._index_loose_chunks()
        where = self._loose_chunks.get(chunk)
        if where is None:
            return None
        path = self._objects.path(where.oid)
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            data = _pread_exactly(fd, where.size, where.offset)
        finally:
            os.close(fd)
        if data is None or chunk_id(data) != chunk:
            raise corrupt_object(where.oid, path)
        return data

    def _read_whole_object(self, chunk: bytes) -> bytes | None:
        """The loose object whose oid is `chunk` (a file of one chunk has no recipe), if it is
        there and no bigger than a chunk may be; checked against its id."""
        oid = OID_PREFIX + chunk.hex()
        try:
            with open(self._objects.location(oid), "rb") as f:
                data = f.read(GRID + 1)
        except (FileNotFoundError, NotADirectoryError):
            return None
        if len(data) > GRID:
            return None
        if chunk_id(data) != chunk:
            raise corrupt_object(oid, self._objects.path(oid))
        return data

    def _index_loose_chunks(self) -> dict[bytes, LooseChunk]:
        found: dict[bytes, LooseChunk] = {}
        for oid in self.recipe_oids():
            if not self._objects.has(oid):
                continue
            recipe = self.recipe(oid)
            assert recipe is not None
            found.update(loose_chunks(recipe))
        return found

    # --- writing -------------------------------------------------------------------------

    def store_recipe(self, recipe: Recipe, mtime: float | None = None) -> None:
        """Write a recipe (read-only, atomically: temp in `tmp/`, fsync, rename), unless one
        is there. `mtime`: the time to give it (gc orders versions by it, newest first)."""
        path = self.recipe_path(recipe.oid)
        if path.exists():
            return
        temp = self._temps.new_name()
        try:
            with open(temp, "xb") as f:
                os.fchmod(f.fileno(), OBJECT_MODE)
                f.write(encode_recipe(recipe))
                f.flush()
                os.fsync(f.fileno())
            if mtime is not None:
                os.utime(temp, (mtime, mtime))
            path.parent.mkdir(parents=True, exist_ok=True)
            os.replace(temp, path)
        finally:
            remove_quietly(temp)
        self._loose_chunks = None

    def recipe_or_chunk(self, oid: str, store: ObjectStore) -> Recipe:
        """The stored recipe of `oid`, else the loose object cut into chunks now (one streaming
        read), its recipe stored (unless the file is one chunk: it needs none) and returned."""
        found = self.recipe(oid)
        if found is not None:
            return found
        path = store.path(oid)
        try:
            mtime = path.stat().st_mtime
        except FileNotFoundError:
            raise missing_object(oid) from None
        chunked = chunk_file(path, lambda chunk: None)
        if chunked.oid != oid:
            raise corrupt_object(oid, path)
        recipe = recipe_of(chunked)
        if not is_single_chunk(recipe):
            self.store_recipe(recipe, mtime)
        return recipe

    def unpack(self, oid: str, store: ObjectStore) -> None:
        """Make `oid` a loose object again from its recipe and the local packs: reassembled in
        `tmp/`, hashed, renamed into `objects/` only when it hashes to `oid` (CorruptObjectError
        otherwise, and nothing is left behind)."""
        if store.has(oid):
            return
        recipe = self.recipe(oid)
        if recipe is None:
            raise missing_object(oid)
        target = store.path(oid)
        target.parent.mkdir(parents=True, exist_ok=True)
        self.reassemble(recipe, target, Path(store.new_temp_name()), OBJECT_MODE, sync=True)

    def reassemble(
        self, recipe: Recipe, target: Path, temp: Path, mode: int, *, sync: bool
    ) -> os.stat_result:
        """Rebuild the file `recipe` describes from the local packs (and loose objects that
        hold its chunks) at `target`, through `temp` (see `reassemble_decoded`)."""
        self.packs  # noqa: B018  (loaded here, not by two decoding threads at once)
        if self._loose_chunks is None and any(c.id not in self.packs for c in recipe.chunks):
            self._loose_chunks = self._index_loose_chunks()

        def decode_into(chunk: bytes, out: Any) -> None:
            self.read_chunk_into(chunk, out, recipe.oid)

        return reassemble_decoded(recipe, decode_into, target, temp, mode, sync=sync)

    def read_chunk_into(self, chunk: bytes, out: Any, owner: str) -> None:
        """A chunk of the file `owner`, decoded into `out` (a uint8 array of the size its
        recipe gives) and checked against its id: from a local pack, else from a loose object
        whose recipe lists it."""
        if chunk in self.packs:
            chain = self.packs.chain(chunk)
            _check_chunk_size(chunk, chain[0].size, len(out), owner)
            decode_chain_into(chain, out)
            return
        data = self.read_loose_chunk(chunk)
        if data is None:
            raise ObjectMissingError(
                f"chunk {chunk.hex()} of {owner} is in no local pack",
                "fetch the object again with `git model pull`",
            )
        _check_chunk_size(chunk, len(data), len(out), owner)
        out[:] = memoryview(data)

    def write_packs(
        self,
        recipes: Sequence[Recipe],
        read_raw: Callable[[bytes], bytes],
        *,
        max_depth: int = LOCAL_MAX_DEPTH,
        only: set[bytes] | None = None,
    ) -> list[str]:
        """Write every chunk of `recipes` (newest version first) into new packs, and return
        their names. Chunks of one tensor slot and part form chains: the newest is stored
        whole, each older one as a delta against the next newer (Git's direction), at most
        `max_depth` deep (see `chains`). An entry already in a local pack whose base is the
        one planned is copied without decoding; any other chunk is read with `read_raw`
        (checked bytes) and encoded. `only`: write just these chunks (every base
        of one of them must be one of them). Existing packs are not changed: the caller
        deletes the ones it replaces once this returns."""
        old = self.packs
        with PackWriter(self.packs_dir, thorough=True) as writer:
            for chain in chains(recipes, max_depth):
                newer: tuple[bytes, bytes | None, int] | None = None  # id, raw bytes, depth
                for link in chain:
                    if only is not None and link.id not in only:
                        newer = None
                        continue
                    base = newer if link.delta_base else None
                    found = _copyable(old, link.id, base[0] if base else None)
                    if found is not None:
                        index, record = found
                        entry = read_entry(index.pack, record)
                        depth = base[2] + 1 if base else 0
                        writer.add_encoded(link.id, record.size, entry, record.base, depth)
                        newer = (link.id, None, depth)
                        continue
                    data = read_raw(link.id)
                    base_bytes = None
                    if base is not None:
                        base_bytes = base[1] if base[1] is not None else read_raw(base[0])
                    written = writer.add(
                        link.id,
                        data,
                        plane_width(link.dtype, len(data)),
                        (base[0], base_bytes, base[2]) if base and base_bytes else None,
                    )
                    newer = (link.id, data, written.depth)
            names = writer.close()
        self.reload()
        return names


@dataclass(frozen=True, slots=True)
class ChainLink:
    id: bytes
    dtype: str | None
    delta_base: bool  # True: a delta against the link before it (the next newer) is allowed


def chains(recipes: Sequence[Recipe], max_depth: int) -> Iterator[list[ChainLink]]:
    """The chunks of `recipes` (newest first), each once, grouped into delta chains.

    A chain holds the distinct chunks of one tensor slot and part, newest first. Counted from
    the oldest, they are cut into runs of `max_depth + 1`; in each run the newest chunk is
    stored whole and each older one as a delta against the next newer. So a new version
    changes only the run it joins (its newest becomes a delta against the newcomer, the rest
    copy their entries), and no chain is deeper than `max_depth`. A chunk of no tensor (a
    header, a content-defined chunk) is a chain of its own."""
    by_slot: dict[tuple[TensorSlot, int], list[ChainLink]] = {}
    seen: set[bytes] = set()
    for recipe in recipes:
        for chunk in recipe.chunks:
            if chunk.id in seen:
                continue
            seen.add(chunk.id)
            slot = recipe.slot(chunk)
            if slot is None:
                yield [ChainLink(chunk.id, None, False)]
                continue
            by_slot.setdefault((slot, chunk.part), []).append(
                ChainLink(chunk.id, slot.dtype, False)
            )
    for links in by_slot.values():
        count = len(links)
        run = max_depth + 1
        chain = []
        for newest_first, link in enumerate(links):
            from_oldest = count - 1 - newest_first
            # The next newer chunk is in the same run: delta against it.
            joined = newest_first > 0 and (from_oldest // run) == ((from_oldest + 1) // run)
            chain.append(ChainLink(link.id, link.dtype, joined))
        yield chain


def _copyable(old: PackStore, chunk: bytes, base: bytes | None) -> tuple[PackIndex, Record] | None:
    """Where `chunk` is in an existing pack with an entry that can be copied as is: a delta
    against `base`, or (when `base` is None) stored whole."""
    for index in old.indexes:
        record = index.find(chunk)
        if record is not None and record.base == base:
            return index, record
    return None


def _check_chunk_size(chunk: bytes, size: int, expected: int, owner: str) -> None:
    if size != expected:
        raise CorruptObjectError(
            f"chunk {chunk.hex()} has {size} bytes, the recipe of {owner} says {expected}", HINT
        )


def loose_chunks(recipe: Recipe) -> dict[bytes, LooseChunk]:
    """Where each chunk of a recipe is in the file it describes."""
    found: dict[bytes, LooseChunk] = {}
    offset = 0
    for chunk in recipe.chunks:
        found.setdefault(chunk.id, LooseChunk(recipe.oid, offset, chunk.size))
        offset += chunk.size
    return found


def _pread_exactly(fd: int, size: int, offset: int) -> bytes | None:
    parts = []
    got = 0
    while got < size:
        data = os.pread(fd, size - got, offset + got)
        if not data:
            return None
        parts.append(data)
        got += len(data)
    return b"".join(parts)


__all__ = ["HINT", "LOCAL_MAX_DEPTH", "LocalPacks", "chains", "loose_chunks"]
