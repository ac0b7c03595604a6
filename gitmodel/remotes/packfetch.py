"""Fetch in the packed layout: the recipe of each wanted file, then only the chunks the cache
lacks, read from the remote's packs with merged ranged reads, then the file reassembled and
checked (docs/pack-format.md, section 10). A file that is one chunk has no recipe: the index
that lists its chunk says all (its chunk id is its oid), and the chunk, checked against its
id, goes straight into the object store.

Fetched chunks wait in `<cache>/fetching/<chunk hex>` (raw bytes, checked against their id)
or `<hex>.enc` (a delta whose base is not decoded yet) until every file of the fetch is
reassembled; a killed fetch leaves them there and the next one reads them instead of the
remote. A file enters the cache only whole, through a temp file, once it hashes to its oid
(and to the SHA-256 its pointer records, when it records one).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from gitmodel.cache.objects import OBJECT_MODE, ObjectStore, digest_mismatch, sync_file_system
from gitmodel.errors import CorruptObjectError, GitModelError
from gitmodel.fsutil import remove_quietly
from gitmodel.hashing import DigestSink, digest_of_data
from gitmodel.packs.chunking import chunk_id
from gitmodel.packs.encoding import HINT, Encoded, decode_chunk
from gitmodel.packs.packfile import Record, parse_entry
from gitmodel.packs.reassembly import reassemble_decoded
from gitmodel.packs.recipe import Recipe
from gitmodel.packs.store import LocalPacks
from gitmodel.progress import Progress, ProgressCallback
from gitmodel.remotes.base import Remote, Span, merge_ranges
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
    """`<cache>/fetching/`: chunks fetched and not yet part of a reassembled file."""

    def __init__(self, root: Path) -> None:
        self.root = root
        # The names that may be there: what an earlier fetch left, and what this one wrote.
        # Thousands of small files need no lookup each for chunks that cannot be there.
        try:
            self._seen = set(os.listdir(root))
        except (FileNotFoundError, NotADirectoryError):
            self._seen = set()

    def holds_encoded(self, chunk: bytes) -> bool:
        return f"{chunk.hex()}.enc" in self._seen and self.encoded(chunk).exists()

    def remove_raw(self, chunk: bytes) -> None:
        if chunk.hex() in self._seen:
            remove_quietly(self.raw(chunk))

    def raw(self, chunk: bytes) -> Path:
        return self.root / chunk.hex()

    def encoded(self, chunk: bytes) -> Path:
        return self.root / f"{chunk.hex()}.enc"

    def read(self, chunk: bytes) -> bytes | None:
        """A fetched chunk, if here and sound (a torn file of a killed fetch is dropped)."""
        if chunk.hex() not in self._seen:
            return None
        try:
            data = self.raw(chunk).read_bytes()
        except FileNotFoundError:
            return None
        if chunk_id(data) != chunk:
            remove_quietly(self.raw(chunk))
            return None
        return data

    def read_into(self, chunk: bytes, out: Any) -> bool:
        """`read`, straight into `out` (a buffer of the chunk's size): False if the chunk is
        not here, or not sound (then dropped, as by `read`)."""
        try:
            with self.raw(chunk).open("rb", buffering=0) as f:
                view = memoryview(out)
                got = 0
                while got < len(view) and (n := f.readinto(view[got:])):
                    got += n
                whole = got == len(view) and not f.read(1)
        except FileNotFoundError:
            return False
        if not whole or chunk_id(out) != chunk:
            remove_quietly(self.raw(chunk))
            return False
        return True

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
        self._seen.add(path.name)


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
    area = ChunkArea(store.root / "fetching")
    area.sweep()
    result = PackFetchResult()
    singles = {oid: r for oid in oids if (r := view.single_recipe(oid)) is not None}
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        stored = list(pool.map(view.read_recipe, [o for o in oids if o not in singles]))
    result.received += sum(view.recipes[r.oid].size for r in stored)
    recipes = [*singles.values(), *stored]
    for recipe in recipes:
        check_claimed_size(recipe.oid, recipe.size, claimed_sizes)
    single_ids = {r.chunks[0].id: oid for oid, r in singles.items()}
    needed = _plan(local, area, view, recipes, result, set(single_ids))
    whole = WholeFiles(store, single_ids, digests)
    _download(remote, area, view, needed, jobs, result, report, whole)
    _decode_deltas(local, area, needed)
    for recipe in recipes:
        if recipe.oid not in whole.published:
            _reassemble(store, local, area, recipe, digests.get(recipe.oid), remote)
            if recipe.oid not in singles:
                local.store_recipe(recipe)
        result.transferred.append(recipe.oid)
        result.raw += recipe.size
    for recipe in recipes:  # all files are in: the chunks they needed may go
        for chunk in recipe.chunks:
            area.remove_raw(chunk.id)
    for fetched in needed:
        if fetched not in whole.oids:  # never written there
            area.remove_raw(fetched)
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


def _plan(
    local: LocalPacks,
    area: ChunkArea,
    view: RemotePacks,
    recipes: list[Recipe],
    result: PackFetchResult,
    not_loose: set[bytes],
) -> dict[bytes, tuple[str, Record]]:
    """The chunks to download: those of the recipes the cache lacks, and the delta bases
    they need that it lacks too, transitively. `not_loose`: chunks that are files this
    fetch wants, so no loose object is them (not looked for: a lookup each costs)."""
    known: dict[bytes, bool] = {}

    def present(chunk: bytes) -> bool:
        if chunk not in known:
            known[chunk] = (
                area.read(chunk) is not None
                or area.holds_encoded(chunk)
                or local.read_chunk(chunk, whole=chunk not in not_loose) is not None
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
    result.fetched_chunks = sum(1 for c in needed if not area.holds_encoded(c))
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
        if not area.holds_encoded(chunk):
            by_pack.setdefault(pack, {})[record.offset] = record
    spans = [
        (pack, span)
        for pack, records in sorted(by_pack.items())
        for span in merge_ranges((r.offset, r.length) for r in records.values())
    ]
    total = sum(s.end - s.start for _, s in spans)
    progress = Progress(f"Downloading from {remote.name}", total, report)

    def fetch(pack: str, span: Span) -> int:
        key = f"{PACKS}{pack}.pack"
        data = remote.call(partial(remote.read_range, key, span.start, span.end - span.start))
        if len(data) != span.end - span.start:
            raise CorruptObjectError(
                f"pack {pack}.pack on remote {remote.label} is corrupt: it ends before byte "
                f"{span.end}",
                damage_hint(remote),
            )
        files: list[tuple[str, str]] = []
        try:
            for offset, length in span.ranges:
                record = by_pack[pack][offset]
                what = f"pack {pack}.pack on remote {remote.label}: chunk {record.id.hex()}"
                entry = data[offset - span.start : offset - span.start + length]
                encoded = parse_entry(entry, record, what)
                if record.base is not None:
                    area.write(area.encoded(record.id), encoded.payload)
                    continue
                raw = _decoded(encoded, record, what, remote)
                temp = whole.take(record.id, raw, remote)
                if temp is not None:
                    files.append((whole.oids[record.id], temp))
                else:
                    area.write(area.raw(record.id), raw)
        except BaseException:
            for _, temp in files:
                remove_quietly(temp)
            raise
        whole.publish(files)
        progress.advance(len(data))
        return len(data)

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
        base = area.read(record.base)
        if base is None:
            base = local.read_chunk(record.base)
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
        area.write(area.raw(chunk), data)
        remove_quietly(area.encoded(chunk))


def _reassemble(
    store: ObjectStore,
    local: LocalPacks,
    area: ChunkArea,
    recipe: Recipe,
    expected_digest: str | None,
    remote: Remote,
) -> None:
    """The file of `recipe` into the object store: its chunks read ahead on threads, streamed
    into a temp file while hashed (and SHA-256'd when a digest is expected), published only
    when everything matches (packs/reassembly.py)."""
    sink = DigestSink() if expected_digest is not None else None
    local.packs  # noqa: B018  (loaded here, not by two reading threads at once)
    mismatch: list[CorruptObjectError] = []

    def read_into(chunk: bytes, out: Any) -> None:
        if area.read_into(chunk, out):
            return
        data = local.read_chunk(chunk)
        if data is None:
            raise GitModelError(
                f"chunk {chunk.hex()} of {recipe.oid} went missing while it was fetched",
                "another process removed it meanwhile; run the command again",
            )
        if len(data) != len(out):
            raise CorruptObjectError(
                f"chunk {chunk.hex()} has {len(data)} bytes, the recipe of {recipe.oid} "
                f"says {len(out)}",
                HINT,
            )
        out[:] = memoryview(data)

    def check_digest() -> None:
        if sink is not None and expected_digest is not None and sink.digest != expected_digest:
            error = digest_mismatch(
                recipe.oid, f"from remote {remote.label}", expected_digest, sink.digest
            )
            error.message += "; the bad bytes were not kept"
            mismatch.append(error)
            raise error

    target = store.path(recipe.oid)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        reassemble_decoded(
            recipe,
            read_into,
            target,
            store.new_temp(),
            OBJECT_MODE,
            sync=True,
            sink=sink,
            check=check_digest,
        )
    except CorruptObjectError as exc:
        if mismatch and exc is mismatch[0]:
            raise
        raise CorruptObjectError(
            f"{exc.message} (from remote {remote.label}); the bad bytes were not kept",
            damage_hint(remote),
        ) from None
