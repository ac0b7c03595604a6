"""Cut a file into chunks so that every byte is in exactly one chunk (docs/pack-format.md).

safetensors and GGUF files are cut where their headers say the tensors are: the header is one
chunk, each tensor's byte range one, and any bytes between or after tensors one per gap; a
region over `GRID` bytes is cut on a fixed grid measured from its own start, so an unchanged
part of a big tensor stays the same chunk. Any other file gets content-defined chunks (FastCDC).
A chunk's id is the xxh3-128 of its raw bytes, so an unsplit tensor's chunk id is the oid its
tensor manifest already records.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import xxhash

from gitmodel.errors import UsageError
from gitmodel.formats import FormatError, FormatScan, TensorEntry, scan_fd
from gitmodel.hashing import OID_PREFIX
from gitmodel.packs import require

GRID = 64 * 1024 * 1024
# FastCDC 2020 as pyfastcdc implements it (normalized chunking 1, seed 0). These values are
# part of the format: another cut would give other chunk ids and lose the deduplication.
CDC_MIN = 16 * 1024
CDC_AVG = 64 * 1024
CDC_MAX = 256 * 1024
TENSOR_FORMATS = frozenset({"safetensors", "gguf"})


@dataclass(frozen=True, slots=True)
class TensorSlot:
    """The tensor a chunk belongs to: a chunk of the same slot in another version is the
    natural delta base (same name, dtype and shape)."""

    name: str
    dtype: str
    shape: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Region:
    """[begin, end) of a file that becomes one chunk; `part` is its place on the grid."""

    begin: int
    end: int
    tensor: TensorSlot | None = None
    part: int = 0


@dataclass(frozen=True, slots=True)
class Chunk:
    id: bytes  # xxh3-128 digest of `data`, 16 bytes
    offset: int
    data: bytes
    tensor: TensorSlot | None
    part: int


def chunk_id(data: bytes | memoryview) -> bytes:
    return xxhash.xxh3_128_digest(data)


def is_one_chunk(data: bytes) -> bool:
    """Whether the bytes of a loose object are one chunk, as `chunk_file` would cut them,
    without cutting them: not empty, shorter than the least content-defined chunk, and not
    what `scan_fd` would read as a tensor file (an object's path has no suffix, so only
    bytes starting with "GGUF" or with "{" at offset 8 are scanned)."""
    return 0 < len(data) < CDC_MIN and not data.startswith(b"GGUF") and data[8:9] != b"{"


def tensor_regions(tensors: Sequence[TensorEntry], size: int, grid: int = GRID) -> list[Region]:
    """The regions of a file whose tensors are `tensors` (non-overlapping, as the format
    readers guarantee): header, tensors, gaps, trailing bytes; empty ones left out."""

    def cut(begin: int, end: int, tensor: TensorSlot | None) -> list[Region]:
        return [
            Region(start, min(start + grid, end), tensor, part)
            for part, start in enumerate(range(begin, end, grid))
        ]

    regions: list[Region] = []
    position = 0
    for t in sorted((t for t in tensors if t.end > t.begin), key=lambda t: t.begin):
        regions += cut(position, t.begin, None)  # the header, then any padding
        regions += cut(t.begin, t.end, TensorSlot(t.name, t.dtype, t.shape))
        position = t.end
    return regions + cut(position, size, None)


Detect = Literal["detect"]


def plan_regions(fd: int, name: str, size: int, scan: FormatScan | Detect | None) -> list[Region]:
    """The tensor regions of the file open as `fd`, or [] when it gets content-defined chunks.

    `scan` is the header scan the caller already made (add makes one), or "detect" to scan here.
    A file that claims a format but whose header is not valid is cut by content.
    """
    if scan == "detect":
        try:
            scan = scan_fd(fd, name, size)
        except FormatError:
            scan = None
    if scan is None or scan.name not in TENSOR_FORMATS or not scan.tensors:
        return []
    return tensor_regions(scan.tensors, size)


def _read_region(fd: int, region: Region) -> bytes:
    data = os.pread(fd, region.end - region.begin, region.begin)
    if len(data) != region.end - region.begin:  # pread may return less; loop for the rest
        parts = [data]
        got = len(data)
        while got < region.end - region.begin:
            more = os.pread(fd, region.end - region.begin - got, region.begin + got)
            if not more:
                raise UsageError(
                    f"the file ended at byte {region.begin + got} while it was being chunked",
                    "a file must not change while git-model reads it; run the command again",
                )
            parts.append(more)
            got += len(more)
        data = b"".join(parts)
    return data


def iter_chunks(fd: int, regions: list[Region]) -> Iterator[Chunk]:
    """The chunks of the file open as `fd`: by `regions`, or by content when there are none.
    Memory stays at one chunk (at most GRID bytes)."""
    if regions:
        for region in regions:
            data = _read_region(fd, region)
            yield Chunk(chunk_id(data), region.begin, data, region.tensor, region.part)
        return
    # The compiled module itself: the package falls back to pure Python, 100 times slower.
    fastcdc = require("pyfastcdc.cy")
    cutter = fastcdc.FastCDC(CDC_AVG, min_size=CDC_MIN, max_size=CDC_MAX)
    with os.fdopen(os.dup(fd), "rb", buffering=0) as stream:
        stream.seek(0)
        for piece in cutter.cut_stream(stream):
            data = bytes(piece.data)  # the library reuses its buffer for the next chunk
            yield Chunk(chunk_id(data), piece.offset, data, None, 0)


@dataclass(frozen=True)
class ChunkedFile:
    """What chunking a file found: its oid and size, hashed in the same pass as the chunks."""

    oid: str
    size: int
    chunks: tuple[tuple[bytes, int, TensorSlot | None, int], ...]  # id, size, tensor, part


def chunk_file(
    path: Path,
    sink: Callable[[Chunk], object],
    scan: FormatScan | Detect | None = "detect",
) -> ChunkedFile:
    """Cut `path` into chunks, hand each to `sink` (e.g. a pack writer) as it is read, and
    return the list that becomes the file's recipe, with the whole file's oid."""
    whole = xxhash.xxh3_128()
    listed = []
    size = 0
    fd = os.open(path, os.O_RDONLY)
    try:
        regions = plan_regions(fd, os.fspath(path), os.fstat(fd).st_size, scan)
        for chunk in iter_chunks(fd, regions):
            whole.update(chunk.data)
            size += len(chunk.data)
            listed.append((chunk.id, len(chunk.data), chunk.tensor, chunk.part))
            sink(chunk)
    finally:
        os.close(fd)
    return ChunkedFile(OID_PREFIX + whole.hexdigest(), size, tuple(listed))
