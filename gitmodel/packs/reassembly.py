"""Reassembling a packed file at speed (docs/pack-format.md, sections 6 and 9).

A small thread pool decodes the next chunks into reusable buffers while the calling thread
hashes and writes the one before, in file order: zstd, numpy and xxhash release the GIL on
large buffers, so decoding and writing share the cores. Each chunk is checked against its
id as it is decoded, the whole file against the recipe's oid before it is renamed into place.
Memory stays bounded by a few chunks (each at most 64 MiB), whatever the file's size.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Generator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import xxhash

from gitmodel.cache.writebehind import WriteBehind
from gitmodel.errors import CorruptObjectError
from gitmodel.fsutil import PREALLOCATE_MIN_SIZE, preallocate, remove_quietly
from gitmodel.hashing import OID_PREFIX
from gitmodel.packs import require
from gitmodel.packs.encoding import HINT
from gitmodel.packs.recipe import Recipe

# Fills a uint8 array of a chunk's size with the chunk's bytes, checked against its id.
DecodeInto = Callable[[bytes, Any], None]

DECODE_THREADS = 2  # chunks decoded at once
AHEAD_CHUNKS = 4  # decoded (or being decoded) chunks ahead of the one being written
AHEAD_BYTES = 96 * 1024 * 1024  # ... and their bytes, beyond the first


def reassemble_decoded(
    recipe: Recipe,
    decode_into: DecodeInto,
    target: Path,
    temp: Path,
    mode: int,
    *,
    sync: bool,
    sink: Callable[[memoryview], None] | None = None,
    check: Callable[[], None] | None = None,
) -> os.stat_result:
    """Write the file `recipe` describes to `temp` (created, with permissions `mode`), each
    chunk from `decode_into`, and rename it onto `target` only when it hashes to the recipe's
    oid; `sync`: fsync it first, its write-back started as it is written (objects in the
    cache; a work-tree copy is not synced). `sink` sees every byte in file order (another
    digest); `check` runs last before the rename and may refuse the file by raising. Returns
    the stat of the file written. On any error `temp` is removed and `target` is untouched."""
    whole = xxhash.xxh3_128()
    written = 0
    renamed = False
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        try:
            os.fchmod(fd, mode)  # the exact mode, whatever the umask
            if recipe.size >= PREALLOCATE_MIN_SIZE:
                preallocate(fd, recipe.size)
            with WriteBehind(fd) as behind:
                chunks = _decoded(recipe, decode_into)
                try:
                    for data in chunks:
                        whole.update(data)
                        if sink is not None:
                            sink(memoryview(data))
                        _write_all(fd, data)
                        written += len(data)
                        if sync:
                            behind.reached(written)
                finally:
                    chunks.close()  # waits for the decoding threads
            if sync:
                os.fsync(fd)
            st = os.fstat(fd)
        finally:
            os.close(fd)
        got = OID_PREFIX + whole.hexdigest()
        if got != recipe.oid or written != recipe.size:
            raise CorruptObjectError(
                f"file reassembled from the recipe of {recipe.oid} hashes to {got}", HINT
            )
        if check is not None:
            check()
        os.replace(temp, target)
        renamed = True
        return st
    finally:
        if not renamed:
            remove_quietly(temp)


def _decoded(recipe: Recipe, decode_into: DecodeInto) -> Generator[Any, None, None]:
    """Each chunk of `recipe` in order, as a uint8 array valid until the next is asked for,
    decoded `AHEAD_CHUNKS` ahead on `DECODE_THREADS` threads. Closing the iterator cancels
    what has not started and waits for what has."""
    np = require("numpy")
    free: list[Any] = []  # buffers whose chunk was written, to be reused
    pending: deque[tuple[Any, Any, Future[None]]] = deque()  # buffer, its view, decoding
    upcoming = iter(recipe.chunks)
    ahead = 0
    with ThreadPoolExecutor(max_workers=DECODE_THREADS) as pool:
        try:
            while True:
                while len(pending) < AHEAD_CHUNKS and (not pending or ahead < AHEAD_BYTES):
                    chunk = next(upcoming, None)
                    if chunk is None:
                        break
                    buffer = _buffer_for(free, chunk.size, np)
                    view = buffer[: chunk.size]
                    pending.append((buffer, view, pool.submit(decode_into, chunk.id, view)))
                    ahead += chunk.size
                if not pending:
                    return
                buffer, view, decoding = pending.popleft()
                decoding.result()
                ahead -= len(view)
                yield view
                free.append(buffer)
        finally:
            for _, _, decoding in pending:
                decoding.cancel()


def _buffer_for(free: list[Any], size: int, np: Any) -> Any:
    """A free buffer of at least `size` bytes, else a new one (dropping the smallest free one,
    so that no more buffers exist than chunks in flight)."""
    for i, buffer in enumerate(free):
        if len(buffer) >= size:
            return free.pop(i)
    if free:
        free.remove(min(free, key=len))
    return np.empty(size, dtype=np.uint8)


def _write_all(fd: int, data: Any) -> None:
    view = memoryview(data).cast("B")
    while view:
        view = view[os.write(fd, view) :]


__all__ = ["reassemble_decoded"]
