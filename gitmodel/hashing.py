"""Content addressing: xxh3-128 object ids, computed by streaming."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import xxhash

from gitmodel.errors import UsageError

OID_PREFIX = "xxh128:"
# \Z, not $: `$` also matches before a trailing newline, which would let "xxh128:<hex>\n" in.
OID_RE = re.compile(r"xxh128:[0-9a-f]{32}\Z")
CHUNK_SIZE = 4 * 1024 * 1024

ChunkSink = Callable[[memoryview], object]

# One read buffer per thread, reused across calls: allocating (and zeroing) a fresh 4 MiB
# buffer per file would dominate the time to hash many small files.
_buffers = threading.local()


def _take_buffer() -> bytearray:
    buffer: bytearray | None = getattr(_buffers, "buffer", None)
    _buffers.buffer = None  # a nested call (a sink that hashes) gets a buffer of its own
    return buffer if buffer is not None and len(buffer) == CHUNK_SIZE else bytearray(CHUNK_SIZE)


class ReadableInto(Protocol):
    def readinto(self, buffer: bytearray, /) -> int | None: ...


DIGEST_PREFIX = "sha256:"
DIGEST_RE = re.compile(r"sha256:[0-9a-f]{64}\Z")


def is_oid(value: str) -> bool:
    return OID_RE.match(value) is not None  # match anchors the start, \Z the very end


_OID_COLUMN_RE = re.compile(r"(?:xxh128:[0-9a-f]{32}\n)*xxh128:[0-9a-f]{32}\Z")


def all_oids(values: list[str]) -> bool:
    """Whether every value is an oid (like `is_oid` on each), in one regex call for the lot."""
    if not values:
        return True
    if not set(map(type, values)) <= {str}:
        return False
    column = "\n".join(values)
    # The length rules out a value holding a newline (two oids in one string, or one + "\n").
    return len(column) == 40 * len(values) - 1 and _OID_COLUMN_RE.match(column) is not None


def is_digest(value: object) -> bool:
    """A cryptographic digest recorded beside an oid: `sha256:` and 64 lowercase hex."""
    return isinstance(value, str) and DIGEST_RE.match(value) is not None


class DigestSink:
    """A chunk sink for `hash_stream` that computes the SHA-256 digest in the same pass."""

    def __init__(self) -> None:
        import hashlib  # lazily: OpenSSL's loading costs start-up time; most runs hash no SHA

        self._hash = hashlib.sha256()

    def __call__(self, chunk: memoryview) -> None:
        self._hash.update(chunk)

    @property
    def digest(self) -> str:
        return DIGEST_PREFIX + self._hash.hexdigest()


def digest_of_data(data: bytes | memoryview) -> str:
    import hashlib

    return DIGEST_PREFIX + hashlib.sha256(data).hexdigest()


def oid_hex(oid: str) -> str:
    """The 32 hex digits of an oid; refuses anything that is not exactly `xxh128:<32 hex>`."""
    if not is_oid(oid):
        raise UsageError(
            f"not an object id: {oid!r}", "an oid is 'xxh128:' followed by 32 lowercase hex digits"
        )
    return oid[len(OID_PREFIX) :]


def oid_of_bytes(data: bytes | memoryview) -> str:
    return OID_PREFIX + xxhash.xxh3_128_hexdigest(data)


@dataclass(frozen=True)
class ByteRange:
    """A half-open range [begin, end) of a file whose bytes get a hash of their own."""

    begin: int
    end: int


@dataclass(frozen=True)
class StreamDigest:
    oid: str
    size: int
    range_oids: tuple[str, ...]


def hash_stream(
    stream: ReadableInto,
    ranges: Iterable[ByteRange] = (),
    sinks: Iterable[ChunkSink] = (),
    progress: Callable[[int], None] | None = None,
) -> StreamDigest:
    """Hash a whole stream and, in the same pass, each of `ranges` (sorted, non-overlapping).

    Every chunk is also handed to each sink (e.g. a temp file being written), so the data is
    read exactly once. Memory stays at one chunk whatever the stream size.
    """
    if not ranges and not sinks:
        return _hash_whole(stream, progress)
    whole = xxhash.xxh3_128()
    pending = sorted(ranges, key=lambda r: r.begin)
    range_hashers = [xxhash.xxh3_128() for _ in pending]
    sink_list = list(sinks)
    buffer = _take_buffer()
    try:
        view = memoryview(buffer)
        offset = 0
        first = 0  # index of the first range not yet fully consumed
        while True:
            n = stream.readinto(buffer)
            if not n:
                break
            chunk = view[:n]
            whole.update(chunk)
            for sink in sink_list:
                sink(chunk)
            end = offset + n
            index = first
            while index < len(pending) and pending[index].begin < end:
                r = pending[index]
                lo = max(r.begin, offset)
                hi = min(r.end, end)
                if hi > lo:
                    range_hashers[index].update(chunk[lo - offset : hi - offset])
                if r.end <= end and index == first:
                    first += 1
                index += 1
            offset = end
            if progress is not None:
                progress(n)
    finally:
        _buffers.buffer = buffer
    return StreamDigest(
        oid=OID_PREFIX + whole.hexdigest(),
        size=offset,
        range_oids=tuple(OID_PREFIX + h.hexdigest() for h in range_hashers),
    )


def _hash_whole(stream: ReadableInto, progress: Callable[[int], None] | None) -> StreamDigest:
    """`hash_stream` without ranges or sinks: the loop most files of a folder take, lean
    because a small file costs little more than the call itself."""
    whole = xxhash.xxh3_128()
    buffer = _take_buffer()
    try:
        view = memoryview(buffer)
        readinto = stream.readinto
        size = 0
        while n := readinto(buffer):
            whole.update(view[:n])
            size += n
            if progress is not None:
                progress(n)
    finally:
        _buffers.buffer = buffer
    return StreamDigest(oid=OID_PREFIX + whole.hexdigest(), size=size, range_oids=())


def digest_of_bytes(data: bytes, ranges: Iterable[ByteRange] = ()) -> StreamDigest:
    """What `hash_stream` gives for a stream of these bytes (a small file read whole)."""
    view = memoryview(data)
    return StreamDigest(
        oid=oid_of_bytes(data),
        size=len(data),
        range_oids=tuple(
            oid_of_bytes(view[r.begin : r.end]) for r in sorted(ranges, key=lambda r: r.begin)
        ),
    )


def hash_file(path: Path, progress: Callable[[int], None] | None = None) -> str:
    with path.open("rb", buffering=0) as f:
        return hash_stream(f, progress=progress).oid
