"""The files a packed fetch rebuilds, written in place as their chunks arrive
(docs/pack-format.md, 10.3).

Each file of several chunks is `<cache>/fetching/<oid hex>.part`, as large as the file: a
chunk, once decoded and checked against its id, is written at each offset where the recipe
places it, from whichever download thread has it. Nothing is written twice and no chunk is
read back to be copied. When every chunk is in, the file is hashed once, in order (and
SHA-256'd when its pointer records a digest), synced, made read-only and renamed into the
object store; it enters the cache only when it hashes to its oid.

A killed fetch leaves its part files. The next fetch of the same file checks each chunk range
of the part file against its chunk id and downloads only those that do not match: the part
file describes itself, so nothing else needs to be kept in step with it.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import xxhash

from gitmodel.cache.objects import OBJECT_MODE, ObjectStore, digest_mismatch
from gitmodel.errors import CorruptObjectError
from gitmodel.fsutil import remove_quietly
from gitmodel.hashing import OID_PREFIX, DigestSink, oid_hex
from gitmodel.packs.chunking import chunk_id
from gitmodel.packs.recipe import Recipe

READ_BLOCK = 8 * 1024 * 1024  # bytes read at a time to hash a finished file


@dataclass
class Part:
    """One file being rebuilt: its recipe, its part file and which chunks are in it."""

    recipe: Recipe
    path: Path
    fd: int
    offsets: list[int]  # where each chunk of the recipe starts
    missing: set[int] = field(default_factory=set)  # indexes of chunks not written yet


class FileParts:
    """The part files of one fetch, found and written by chunk id, from several threads."""

    def __init__(self, folder: Path, recipes: list[Recipe]) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.parts: list[Part] = []
        self.places: dict[bytes, list[tuple[Part, int]]] = {}  # chunk id -> (file, index)
        self.lock = threading.Lock()
        for recipe in recipes:
            self.parts.append(self._open(folder, recipe))

    def _open(self, folder: Path, recipe: Recipe) -> Part:
        path = folder / f"{oid_hex(recipe.oid)}.part"
        resumed = path.exists()
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        offsets = list(itertools.accumulate((c.size for c in recipe.chunks), initial=0))
        part = Part(recipe, path, fd, offsets, set(range(len(recipe.chunks))))
        if os.fstat(fd).st_size != recipe.size:
            os.ftruncate(fd, recipe.size)
        for index, chunk in enumerate(recipe.chunks):
            self.places.setdefault(chunk.id, []).append((part, index))
            if resumed and chunk_id(self._pread(part, index)) == chunk.id:
                part.missing.discard(index)  # a killed fetch wrote it
        return part

    def has(self, chunk: bytes) -> bool:
        """Whether `chunk` is written in a part file (a killed fetch may have left it)."""
        with self.lock:
            return any(index not in part.missing for part, index in self.places.get(chunk, ()))

    def wants(self, chunk: bytes) -> bool:
        return chunk in self.places

    def read(self, chunk: bytes) -> bytes | None:
        """A chunk's bytes from a part file where it is written (a delta's base), checked."""
        with self.lock:
            found = [(p, i) for p, i in self.places.get(chunk, ()) if i not in p.missing]
        for part, index in found:
            data = self._pread(part, index)
            if chunk_id(data) == chunk:
                return data
        return None

    def put(self, chunk: bytes, data: bytes) -> bool:
        """Write a chunk (checked against its id by the caller) wherever a file wants it;
        False when no file of this fetch does."""
        with self.lock:
            places = [(p, i) for p, i in self.places.get(chunk, ()) if i in p.missing]
        for part, index in places:
            _pwrite_all(part.fd, data, part.offsets[index])
        with self.lock:
            for part, index in places:
                part.missing.discard(index)
        return chunk in self.places

    def fill(self, part: Part, read: Callable[[bytes], bytes | None]) -> None:
        """Write the chunks still missing from `part` with `read` (chunks the cache had)."""
        for index in sorted(part.missing):
            chunk = part.recipe.chunks[index]
            data = read(chunk.id)
            if data is None:
                raise CorruptObjectError(
                    f"chunk {chunk.id.hex()} of {part.recipe.oid} went missing while it was "
                    "fetched",
                    "another process removed it meanwhile; run the command again",
                )
            self.put(chunk.id, data)

    def publish(
        self, part: Part, store: ObjectStore, expected_digest: str | None, where: str, hint: str
    ) -> None:
        """Hash the finished file in order; if it is the recipe's oid (and digest), sync it
        and rename it into the object store. A file that does not hash right is deleted."""
        whole = xxhash.xxh3_128()
        sink = DigestSink() if expected_digest is not None else None
        position = 0
        while position < part.recipe.size:
            block = os.pread(part.fd, min(READ_BLOCK, part.recipe.size - position), position)
            if not block:
                break
            whole.update(block)
            if sink is not None:
                sink(memoryview(block))
            position += len(block)
        got = OID_PREFIX + whole.hexdigest()
        if got != part.recipe.oid or position != part.recipe.size:
            self.discard(part)
            raise CorruptObjectError(
                f"file reassembled from the recipe of {part.recipe.oid} hashes to {got} "
                f"({where}); the bad bytes were not kept",
                hint,
            )
        if sink is not None and expected_digest is not None and sink.digest != expected_digest:
            self.discard(part)
            error = digest_mismatch(part.recipe.oid, where, expected_digest, sink.digest)
            error.message += "; the bad bytes were not kept"
            raise error
        os.fchmod(part.fd, OBJECT_MODE)
        os.fsync(part.fd)
        self.close(part)
        try:
            store.publish(part.path, part.recipe.oid, read_only_already=True)
        except FileNotFoundError:
            # Another fetch of the same file, writing the same bytes into the same part
            # file, renamed it into place first.
            if not store.has(part.recipe.oid):
                raise

    def discard(self, part: Part) -> None:
        self.close(part)
        remove_quietly(part.path)

    def close(self, part: Part) -> None:
        if part.fd >= 0:
            os.close(part.fd)
            part.fd = -1

    def close_all(self) -> None:
        for part in self.parts:
            self.close(part)

    @staticmethod
    def _pread(part: Part, index: int) -> bytes:
        size = part.recipe.chunks[index].size
        return os.pread(part.fd, size, part.offsets[index])


def _pwrite_all(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view = view[written:]
        offset += written
