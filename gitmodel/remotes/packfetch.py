"""Fetch in the packed layout: the recipe of each wanted file, then only the chunks the cache
lacks, read from the remote's packs with merged ranged reads, then the file reassembled and
checked (docs/pack-format.md, section 10). A file that is one chunk has no recipe: the index
that lists its chunk says all (its chunk id is its oid), and the chunk, checked against its
id, goes straight into the object store.

Each fetched chunk, checked against its id, is written straight into the part file of every
wanted file that contains it (`<cache>/fetching/<oid hex>.part`, remotes/fileparts.py); a
chunk no wanted file contains (a delta base) waits in `<cache>/fetching/<chunk hex>`, a delta
whose base is not decoded yet in `<hex>.enc`. A killed fetch leaves them there and the next
one reads them instead of the remote. A file enters the cache only whole, once its part file
hashes to its oid (and to the SHA-256 its pointer records, when it records one).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from gitmodel.cache.objects import OBJECT_MODE, ObjectStore, digest_mismatch, sync_file_system
from gitmodel.errors import CorruptObjectError, GitModelError
from gitmodel.fsutil import remove_quietly
from gitmodel.hashing import digest_of_data
from gitmodel.packs.chunking import chunk_id
from gitmodel.packs.encoding import Encoded, decode_chunk
from gitmodel.packs.packfile import Record, parse_entry
from gitmodel.packs.recipe import Recipe
from gitmodel.packs.store import LocalPacks
from gitmodel.progress import Progress, ProgressCallback
from gitmodel.remotes.base import Remote, Span, merge_ranges
from gitmodel.remotes.fileparts import FileParts
from gitmodel.remotes.layout import PACKS, RemotePacks, damage_hint
from gitmodel.sizecheck import check_claimed_size


@dataclass
class PackFetchResult:
    transferred: list[str] = field(default_factory=list)
    raw: int = 0  # the size of the files fetched
    received: int = 0  # bytes downloaded: recipes and pack ranges
    fetched_chunks: int = 0
    reused_chunks: int = 0  # chunks of these files the cache (or an earlier fetch) had
    requests: int = 0  # ranged reads of packs


class ChunkArea:
    """`<cache>/fetching/`: chunks fetched and not yet part of a reassembled file. A chunk a
    file of this fetch contains goes straight into that file's part file (`parts`); only the
    others (delta bases of other versions, deltas waiting for their base) are kept here."""

    def __init__(self, root: Path, parts: FileParts | None = None) -> None:
        self.root = root
        self.parts = parts

    def raw(self, chunk: bytes) -> Path:
        return self.root / chunk.hex()

    def encoded(self, chunk: bytes) -> Path:
        return self.root / f"{chunk.hex()}.enc"

    def read(self, chunk: bytes) -> bytes | None:
        """A fetched chunk, if here and sound (a torn file of a killed fetch is dropped)."""
        try:
            data = self.raw(chunk).read_bytes()
        except FileNotFoundError:
            return self.parts.read(chunk) if self.parts is not None else None
        if chunk_id(data) != chunk:
            remove_quietly(self.raw(chunk))
            return None
        return data

    def keep(self, chunk: bytes, data: bytes) -> None:
        """A decoded chunk, checked against its id: into the files of this fetch that
        contain it, or kept here when none does."""
        if self.parts is None or not self.parts.put(chunk, data):
            self.write(self.raw(chunk), data)

    def sweep(self) -> None:
        """Remove the half-written files of fetches that were killed (their pid is gone)."""
        for path in self.root.glob("tmp-*") if self.root.is_dir() else []:
            pid = path.name.split("-")[1]
            if pid.isdigit() and not _alive(int(pid)):
                remove_quietly(path)

    def write(self, path: Path, data: bytes) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(f"tmp-{os.getpid()}-{os.urandom(4).hex()}")
        temp.write_bytes(data)
        os.replace(temp, path)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def fetch_packed(
    store: ObjectStore,
    remote: Remote,
    view: RemotePacks,
    oids: list[str],
    jobs: int,
    claimed_sizes: Mapping[str, Mapping[int, str]],
    digests: Mapping[str, str],
    report: ProgressCallback | None = None,
) -> PackFetchResult:
    """Fetch the files `oids` (each in the remote's packs: with a recipe, or as a file of one
    chunk) into the object store."""
    local = LocalPacks(store.root)
    result = PackFetchResult()
    singles = {oid: r for oid in oids if (r := view.single_recipe(oid)) is not None}
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        stored = list(pool.map(view.read_recipe, [o for o in oids if o not in singles]))
    result.received += sum(view.recipes[r.oid].size for r in stored)
    recipes = [*singles.values(), *stored]
    for recipe in recipes:
        check_claimed_size(recipe.oid, recipe.size, claimed_sizes)
    whole = WholeFiles(store, {r.chunks[0].id: oid for oid, r in singles.items()}, digests)
    parts = FileParts(store.root / "fetching", stored)
    area = ChunkArea(store.root / "fetching", parts)
    area.sweep()
    try:
        needed = _plan(local, area, view, recipes, result)
        _download(remote, area, view, needed, jobs, result, report, whole)
        _decode_deltas(local, area, needed)
        for oid, single in singles.items():  # its chunk was in the cache already
            if oid not in whole.published:
                data = _present_chunk(local, area, single.chunks[0].id)
                if data is None:
                    raise GitModelError(
                        f"{oid} went missing while it was fetched",
                        "another process removed it meanwhile; run the command again",
                    )
                temp = whole.take(single.chunks[0].id, data, remote)
                if temp is not None:
                    whole.publish([(oid, temp)])
        for part in parts.parts:
            recipe = part.recipe
            parts.fill(part, partial(_present_chunk, local, area))
            where = f"from remote {remote.label}"
            parts.publish(part, store, digests.get(recipe.oid), where, damage_hint(remote))
            local.store_recipe(recipe)
        for recipe in recipes:
            result.transferred.append(recipe.oid)
            result.raw += recipe.size
    finally:
        parts.close_all()
    # All files are in: the chunk files they needed may go (looked up in one listing: most
    # chunks went straight into part files and have none).
    done = {c.id.hex() for r in recipes for c in r.chunks} | {c.hex() for c in needed}
    for name in os.listdir(area.root) if area.root.is_dir() else []:
        if name in done:
            remove_quietly(area.root / name)
    with contextlib.suppress(OSError):  # left only when it still holds something
        area.root.rmdir()
    return result


class WholeFiles:
    """Files that are one chunk, each written into the object store as its chunk arrives:
    the chunk was checked against its id, which is the file's oid, so it needs no
    reassembly. One request's files are made durable with one file-system sync, then
    renamed into place, so a killed fetch keeps every request that completed."""

    def __init__(self, store: ObjectStore, oids: dict[bytes, str], digests: Mapping[str, str]):
        self.store = store
        self.oids = oids  # chunk id -> the oid of the file that is that chunk
        self.digests = digests
        self.published: set[str] = set()

    def take(self, chunk: bytes, data: bytes, remote: Remote) -> str | None:
        """Write the file that is `chunk` to a temp file (None: not one of ours); its
        SHA-256 is checked when its pointer records one."""
        oid = self.oids.get(chunk)
        if oid is None:
            return None
        expected = self.digests.get(oid)
        if expected is not None and digest_of_data(data) != expected:
            error = digest_mismatch(
                oid, f"from remote {remote.label}", expected, digest_of_data(data)
            )
            error.message += "; the bad bytes were not kept"
            raise error
        temp = self.store.new_temp_name()
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, OBJECT_MODE)  # read-only
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        except BaseException:
            remove_quietly(temp)
            raise
        finally:
            os.close(fd)
        return temp

    def publish(self, temps: list[tuple[str, str]]) -> None:
        """Sync once, then rename each (oid, temp) into place."""
        if not temps:
            return
        try:
            sync_file_system(self.store.tmp_dir)
            for oid, temp in temps:
                self.store.publish(temp, oid, read_only_already=True)
                self.published.add(oid)
        finally:
            for _, temp in temps:
                remove_quietly(temp)


def _present_chunk(local: LocalPacks, area: ChunkArea, chunk: bytes) -> bytes | None:
    data = area.read(chunk)
    return data if data is not None else local.read_chunk(chunk)


def _plan(
    local: LocalPacks,
    area: ChunkArea,
    view: RemotePacks,
    recipes: list[Recipe],
    result: PackFetchResult,
) -> dict[bytes, tuple[str, Record]]:
    """The chunks to download: those of the recipes the cache lacks, and the delta bases
    they need that it lacks too, transitively."""
    known: dict[bytes, bool] = {}

    def present(chunk: bytes) -> bool:
        if chunk not in known:
            known[chunk] = (
                area.read(chunk) is not None
                or area.encoded(chunk).exists()
                or local.read_chunk(chunk) is not None
            )
        return known[chunk]

    needed: dict[bytes, tuple[str, Record]] = {}
    for recipe in recipes:
        for chunk in recipe.chunks:
            if chunk.id in needed:
                continue
            if present(chunk.id):
                result.reused_chunks += 1
                continue
            wanted: bytes | None = chunk.id
            while wanted is not None and wanted not in needed:
                found = view.chunks.get(wanted)
                if found is None:
                    raise CorruptObjectError(
                        f"remote {view.remote.label}: chunk {wanted.hex()} of {recipe.oid} is "
                        "in none of its packs",
                        damage_hint(view.remote),
                    )
                needed[wanted] = found
                base = found[1].base
                wanted = base if base is not None and not present(base) else None
    result.fetched_chunks = sum(1 for c in needed if not area.encoded(c).exists())
    return needed


def _download(
    remote: Remote,
    area: ChunkArea,
    view: RemotePacks,
    needed: dict[bytes, tuple[str, Record]],
    jobs: int,
    result: PackFetchResult,
    report: ProgressCallback | None,
    whole: WholeFiles,
) -> None:
    """Read the entries of `needed` pack by pack, near ones merged into one request, in
    parallel; a chunk stored whole is decoded and checked at once (and when it is a file of
    one chunk, stored as that file), a delta kept encoded."""
    by_pack: dict[str, dict[int, Record]] = {}
    for chunk, (pack, record) in needed.items():
        if not area.encoded(chunk).exists():
            by_pack.setdefault(pack, {})[record.offset] = record
    limit = remote.tuning.read_size
    spans = [
        (pack, span)
        for pack, records in sorted(by_pack.items())
        for span in merge_ranges(((r.offset, r.length) for r in records.values()), limit=limit)
    ]
    total = sum(s.end - s.start for _, s in spans)
    progress = Progress(f"Downloading from {remote.name}", total, report)

    label = remote.label

    def fetch(pack: str, span: Span) -> int:
        # One request per span, its entries handled as they arrive (remote.read_span); the
        # files of one chunk it brings are made durable together, with one sync.
        position = span.start
        files: list[tuple[str, str]] = []
        try:
            for offset, entry in remote.read_span(f"{PACKS}{pack}.pack", span):
                record = by_pack[pack][offset]
                what = f"pack {pack}.pack on remote {label}: chunk {record.id.hex()}"
                encoded = parse_entry(entry, record, what)
                if record.base is not None:
                    area.write(area.encoded(record.id), encoded.payload)
                else:
                    raw = _decoded(encoded, record, what, remote)
                    temp = whole.take(record.id, raw, remote)
                    if temp is not None:
                        files.append((whole.oids[record.id], temp))
                    else:
                        area.keep(record.id, raw)
                progress.advance(offset + len(entry) - position)
                position = offset + len(entry)
        except BaseException:
            for _, temp in files:
                remove_quietly(temp)
            raise
        whole.publish(files)
        return span.end - span.start

    try:
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            futures = [pool.submit(fetch, pack, span) for pack, span in spans]
            try:
                for future in as_completed(futures):
                    result.received += future.result()
                    result.requests += 1
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
    finally:
        progress.close()


def _decoded(
    encoded: Encoded, record: Record, what: str, remote: Remote, base: bytes | None = None
) -> bytes:
    try:
        return decode_chunk(encoded, record.size, record.id, base)
    except CorruptObjectError as exc:
        raise CorruptObjectError(
            f"{what} is corrupt: {exc.message}; the bad bytes were not kept",
            damage_hint(remote),
        ) from None


def _decode_deltas(
    local: LocalPacks, area: ChunkArea, needed: dict[bytes, tuple[str, Record]]
) -> None:
    """Decode the fetched deltas, shallowest first, so that each base is decoded before the
    chunks built on it."""
    deltas = sorted(
        ((record.depth, chunk, pack, record) for chunk, (pack, record) in needed.items()),
        key=lambda item: item[0],
    )
    for _, chunk, pack, record in deltas:
        if record.base is None or area.raw(chunk).exists():
            continue
        base = _present_chunk(local, area, record.base)
        if base is None:
            raise GitModelError(
                f"the delta base {record.base.hex()} of chunk {chunk.hex()} is gone",
                "another process removed it meanwhile; run the command again",
            )
        payload = area.encoded(chunk).read_bytes()
        what = f"pack {pack}.pack: chunk {chunk.hex()}"
        try:
            data = decode_chunk(
                Encoded(record.encoding, record.width, payload), record.size, chunk, base
            )
        except CorruptObjectError as exc:
            remove_quietly(area.encoded(chunk))
            raise CorruptObjectError(
                f"{what} is corrupt: {exc.message}; the bad bytes were not kept", exc.hint
            ) from None
        area.keep(chunk, data)
        remove_quietly(area.encoded(chunk))
