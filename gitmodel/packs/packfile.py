"""Pack files and their indexes (docs/pack-format.md, "Pack" and "Index").

A pack holds encoded chunks one after another behind a small header and ends with a checksum;
its index lists the chunk ids sorted, each with where its entry is and how it is encoded, so a
reader finds a chunk by binary search and reads only its entry (one ranged read on a remote).
Both are written to temp names, synced and renamed, the index last: a reader looks only at
indexes, so it never sees a pack that is still being written.
"""

from __future__ import annotations

import bisect
import itertools
import mmap
import os
import secrets
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, cast

import xxhash

from gitmodel.errors import CorruptObjectError, ObjectMissingError
from gitmodel.packs.encoding import (
    DELTAS,
    HINT,
    Encoded,
    Encoding,
    Link,
    decode_chain,
    encode_chunk,
)

PACK_MAGIC = b"GMPACK\x00\x01"  # the last byte is the format version
INDEX_MAGIC = b"GMINDX\x00\x01"
PACK_TARGET_SIZE = 64 * 1024 * 1024
MAX_CHAIN_DEPTH = 10
NO_BASE = bytes(16)
# In a pack, each entry: chunk id, encoding, plane width, chain depth, 5 zero bytes, base id
# (zeros when none), raw size, payload length; then the payload.
ENTRY = struct.Struct("<16sBBB5x16sQQ")
# In an index, each record: chunk id, entry offset, entry length (header and payload), encoding,
# plane width, chain depth, 5 zero bytes, base id, raw size.
RECORD = struct.Struct("<16sQQBBB5x16sQ")
INDEX_HEADER = struct.Struct("<8s16sQ")  # magic, pack checksum, record count
ENCODINGS = frozenset(int(e) for e in Encoding)
TRAILER = 16  # xxh3-128 of every byte before it
PACK_COUNT = struct.Struct("<Q")  # a pack's entry count, just before its checksum


@dataclass(frozen=True, slots=True)
class Record:
    id: bytes
    offset: int
    length: int
    encoding: Encoding
    width: int
    depth: int
    base: bytes | None
    size: int

    def pack_record(self) -> bytes:
        return RECORD.pack(
            self.id,
            self.offset,
            self.length,
            self.encoding,
            self.width,
            self.depth,
            self.base or NO_BASE,
            self.size,
        )


def pack_name(checksum: bytes) -> str:
    return f"pack-{checksum.hex()}"


def _corrupt(what: str, problem: str) -> CorruptObjectError:
    return CorruptObjectError(f"{what} is corrupt: {problem}", HINT)


@dataclass(frozen=True)
class PackIndex:
    """One pack's index, read whole (about 64 bytes a chunk) and checked before use."""

    pack: Path
    checksum: bytes
    ids: list[bytes]
    records: list[Record]

    def find(self, chunk_id: bytes) -> Record | None:
        at = bisect.bisect_left(self.ids, chunk_id)
        return self.records[at] if at < len(self.ids) and self.ids[at] == chunk_id else None


def encode_index(checksum: bytes, records: list[Record]) -> bytes:
    ordered = sorted(records, key=lambda r: r.id)
    body = INDEX_HEADER.pack(INDEX_MAGIC, checksum, len(ordered)) + b"".join(
        r.pack_record() for r in ordered
    )
    return body + xxhash.xxh3_128_digest(body)


def decode_index(data: bytes, pack: Path, what: str) -> PackIndex:
    """Parse and check an index: its checksum, magic, count, strict order of ids, and that
    every record is well formed. Anything else is CorruptObjectError."""
    if len(data) < INDEX_HEADER.size + TRAILER:
        raise _corrupt(what, f"{len(data)} bytes is too short for an index")
    body, trailer = data[:-TRAILER], data[-TRAILER:]
    if xxhash.xxh3_128_digest(body) != trailer:
        raise _corrupt(what, "its checksum does not match its bytes")
    magic, checksum, count = INDEX_HEADER.unpack_from(body)
    if magic != INDEX_MAGIC:
        raise _corrupt(what, "it does not start with the index magic of format version 1")
    if len(body) != INDEX_HEADER.size + count * RECORD.size:
        raise _corrupt(what, f"{count} records do not fill {len(body)} bytes")
    records = [_record(fields, what) for fields in RECORD.iter_unpack(body[INDEX_HEADER.size :])]
    ids = [r.id for r in records]
    if any(a >= b for a, b in itertools.pairwise(ids)):
        raise _corrupt(what, "its chunk ids are not strictly sorted")
    return PackIndex(pack, checksum, ids, records)


def _record(fields: tuple[bytes, int, int, int, int, int, bytes, int], what: str) -> Record:
    chunk_id, offset, length, encoding, width, depth, base, size = fields
    name = f"{what}: chunk {chunk_id.hex()}"
    if encoding not in ENCODINGS:
        raise _corrupt(name, f"unknown encoding {encoding}")
    delta = encoding in DELTAS
    if delta != (base != NO_BASE) or delta != (depth > 0):
        raise _corrupt(name, "base and depth do not agree with the encoding")
    if depth > MAX_CHAIN_DEPTH:
        raise _corrupt(name, f"delta chain depth {depth} is over the limit of {MAX_CHAIN_DEPTH}")
    if width not in (1, 2, 4, 8) or (encoding == Encoding.STORED and width != 1):
        raise _corrupt(name, f"plane width {width} is invalid for encoding {encoding}")
    if length < ENTRY.size:
        raise _corrupt(name, f"entry length {length} is shorter than an entry header")
    return Record(
        chunk_id, offset, length, Encoding(encoding), width, depth, base if delta else None, size
    )


class PackWriter:
    """Writes chunks into packs of about `target_size` bytes in `directory`.

    `add` encodes a chunk (against `base` when one is given) and appends it; a pack is closed
    when it reaches the target size, and by `close`. Each closed pack is renamed into place
    before its index, both after fsync; until then they are temp files a reader never lists.
    """

    def __init__(
        self,
        directory: Path,
        target_size: int = PACK_TARGET_SIZE,
        *,
        thorough: bool = False,
        durable: bool = True,
    ) -> None:
        """`thorough`: try every delta encoding (gc, repacking), not only the fast ones.
        `durable`: fsync each pack and index (packs of the cache); a push's packs, read back
        only to be uploaded, are not synced."""
        self.directory = directory
        self.target_size = target_size
        self.thorough = thorough
        self.durable = durable
        self.written: list[str] = []  # names of the packs closed so far
        self.depths: dict[bytes, int] = {}  # chunk id -> chain depth, of what this writer wrote
        self._file: BinaryIO | None = None
        self._temp: Path | None = None
        self._hash = xxhash.xxh3_128()
        self._records: list[Record] = []
        self._in_pack: dict[bytes, Record] = {}  # a chunk id appears once in a pack
        self._offset = 0

    def add(
        self, chunk_id: bytes, data: bytes, width: int, base: tuple[bytes, bytes, int] | None
    ) -> Record:
        """Append one chunk; `base` is (id, raw bytes, chain depth) of a chunk to delta against.
        A base already at the maximum depth is not used (the chunk is stored whole). A chunk
        already in the pack being written is not written again."""
        if chunk_id in self._in_pack:
            return self._in_pack[chunk_id]
        if base is not None and base[2] >= MAX_CHAIN_DEPTH:
            base = None
        encoded = encode_chunk(data, width, base[1] if base else None, thorough=self.thorough)
        delta = encoded.encoding in DELTAS
        depth = base[2] + 1 if base and delta else 0
        base_id = base[0] if base and delta else None
        return self.add_encoded(chunk_id, len(data), encoded, base_id, depth)

    def add_encoded(
        self, chunk_id: bytes, size: int, encoded: Encoded, base: bytes | None, depth: int
    ) -> Record:
        """Append a chunk already encoded (a repack copies entries without decoding them);
        the caller vouches that `base` and `depth` are those of the encoding."""
        if chunk_id in self._in_pack:
            return self._in_pack[chunk_id]
        if self._file is None:
            self._open()
        assert self._file is not None
        header = ENTRY.pack(
            chunk_id,
            encoded.encoding,
            encoded.width,
            depth,
            base or NO_BASE,
            size,
            len(encoded.payload),
        )
        record = Record(
            chunk_id,
            self._offset,
            ENTRY.size + len(encoded.payload),
            encoded.encoding,
            encoded.width,
            depth,
            base,
            size,
        )
        self._write(header)
        self._write(encoded.payload)
        self._records.append(record)
        self._in_pack[chunk_id] = record
        self.depths[chunk_id] = depth
        if self._offset >= self.target_size:
            self.flush()
        return record

    def _open(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._temp = self.directory / f"tmp-pack-{secrets.token_hex(8)}"
        self._file = self._temp.open("xb")
        self._hash = xxhash.xxh3_128()
        self._records = []
        self._in_pack = {}
        self._offset = 0
        self._write(PACK_MAGIC)

    def _write(self, data: bytes) -> None:
        assert self._file is not None
        self._file.write(data)
        self._hash.update(data)
        self._offset += len(data)

    def flush(self) -> str | None:
        """Close the pack being written, if any; returns its name."""
        if self._file is None or self._temp is None:
            return None
        self._write(PACK_COUNT.pack(len(self._records)))
        checksum = self._hash.digest()
        self._file.write(checksum)
        self._file.flush()
        os.fchmod(self._file.fileno(), 0o444)  # read-only, like loose objects
        if self.durable:
            os.fsync(self._file.fileno())
        self._file.close()
        self._file = None
        name = pack_name(checksum)
        os.replace(self._temp, self.directory / f"{name}.pack")
        index = encode_index(checksum, self._records)
        _write_synced(self.directory / f"{name}.idx", index, self.durable)
        if self.durable:
            _sync_directory(self.directory)
        self.written.append(name)
        return name

    def close(self) -> list[str]:
        self.flush()
        return self.written

    def __enter__(self) -> PackWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()

    def abort(self) -> None:
        """Drop the pack being written (after an error): nothing of it becomes visible."""
        if self._file is not None and self._temp is not None:
            self._file.close()
            self._file = None
            self._temp.unlink(missing_ok=True)


def _write_synced(path: Path, data: bytes, durable: bool = True) -> None:
    temp = path.with_name(f"tmp-{secrets.token_hex(8)}-{path.name}")
    with temp.open("xb") as f:
        os.fchmod(f.fileno(), 0o444)
        f.write(data)
        f.flush()
        if durable:
            os.fsync(f.fileno())
    os.replace(temp, path)


def _sync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_entry(pack: Path, record: Record) -> Encoded:
    """Read one entry of a pack (one ranged read) and check its header against the index."""
    what = f"pack {pack.name}: chunk {record.id.hex()}"
    with pack.open("rb", buffering=0) as f:
        # Header and payload read apart: slicing the payload off one read would copy it.
        header = os.pread(f.fileno(), ENTRY.size, record.offset)
        payload = os.pread(f.fileno(), record.length - ENTRY.size, record.offset + ENTRY.size)
    if len(header) + len(payload) != record.length:
        raise _corrupt(what, "the pack ends inside the entry")
    return Encoded(_entry_encoding(header, record, what), record.width, payload)


def parse_entry(entry: bytes, record: Record, what: str) -> Encoded:
    """An entry's bytes (header and payload, as one ranged read returns them) checked
    against the index record that located it."""
    if len(entry) != record.length:
        raise _corrupt(what, "the pack ends inside the entry")
    encoding = _entry_encoding(entry, record, what)
    return Encoded(encoding, record.width, entry[ENTRY.size :])


def _entry_encoding(entry: bytes | memoryview, record: Record, what: str) -> Encoding:
    """The encoding of an entry whose header (the start of `entry`) matches its record."""
    chunk_id, encoding, width, depth, base, size, length = ENTRY.unpack_from(entry)
    expected = (record.id, record.encoding, record.width, record.depth, record.base or NO_BASE)
    if (chunk_id, encoding, width, depth, base) != expected or size != record.size:
        raise _corrupt(what, "its entry header does not match the index")
    if ENTRY.size + length != record.length:
        raise _corrupt(what, "its payload length does not match the index")
    return Encoding(encoding)


def verify_pack(pack: Path, index: PackIndex) -> None:
    """Check a whole pack: its checksum, entry count, and that the entries are exactly those
    the index lists, in order, with nothing between or after them (fsck's check)."""
    what = f"pack {pack.name}"
    digest = xxhash.xxh3_128()
    with pack.open("rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size < len(PACK_MAGIC) + PACK_COUNT.size + TRAILER:
            raise _corrupt(what, "too short for a pack")
        remaining = size - TRAILER
        while remaining:
            block = f.read(min(remaining, 4 * 1024 * 1024))
            digest.update(block)
            remaining -= len(block)
        if digest.digest() != f.read(TRAILER) or digest.digest() != index.checksum:
            raise _corrupt(what, "its checksum does not match its bytes or its index")
        f.seek(0)
        if f.read(len(PACK_MAGIC)) != PACK_MAGIC:
            raise _corrupt(what, "it does not start with the pack magic of format version 1")
        f.seek(size - TRAILER - PACK_COUNT.size)
        (count,) = PACK_COUNT.unpack(f.read(PACK_COUNT.size))
    by_offset = sorted(index.records, key=lambda r: r.offset)
    position = len(PACK_MAGIC)
    for record in by_offset:
        if record.offset != position:
            raise _corrupt(what, f"entry at byte {record.offset}, expected {position}")
        read_entry(pack, record)
        position += record.length
    if count != len(by_offset) or position != size - TRAILER - PACK_COUNT.size:
        raise _corrupt(what, "its entries do not match its index")


class PackStore:
    """The packs of one folder, found through their indexes; reads chunks by id."""

    def __init__(self, directory: Path, indexes: list[PackIndex] | None = None) -> None:
        """`indexes`: the packs' indexes, already loaded (else every index in `directory`)."""
        self.directory = directory
        self.indexes: list[PackIndex] = []
        if indexes is not None:
            self.indexes = indexes
            return
        for path in sorted(directory.glob("pack-*.idx")) if directory.is_dir() else []:
            self.indexes.append(load_index(path))

    def locate(self, chunk_id: bytes, depth: int | None = None) -> tuple[PackIndex, Record] | None:
        """Where a chunk is; with `depth`, only an entry at that chain depth (a chunk may be in
        two packs at different depths while a repack that was killed is not finished)."""
        first = None
        for index in self.indexes:
            record = index.find(chunk_id)
            if record is not None:
                if depth is None or record.depth == depth:
                    return index, record
                first = first or (index, record)
        return first

    def __contains__(self, chunk_id: bytes) -> bool:
        return self.locate(chunk_id) is not None

    def chunk_ids(self) -> Iterator[bytes]:
        for index in self.indexes:
            yield from index.ids

    def read_chunk(self, chunk_id: bytes) -> bytes:
        """The raw bytes of a chunk, decoded through its delta chain and checked against its
        id."""
        return decode_chain(self.chain(chunk_id))

    def chain(self, chunk_id: bytes) -> list[Link]:
        """The entries that decode a chunk: its own, its base's, ... down to one stored whole
        (read, not decoded). Each base must have exactly the depth of the chunk built on it
        minus one, so a chain cannot loop or grow past the limit."""
        chain = []
        wanted, depth = chunk_id, None
        while True:
            found = self.locate(wanted, depth)
            if found is None:
                raise ObjectMissingError(
                    f"chunk {wanted.hex()} is in no pack", "fetch the packs that hold it"
                )
            index, record = found
            if depth is not None and record.depth != depth:
                raise _corrupt(
                    f"pack {index.pack.name}: chunk {wanted.hex()}",
                    f"delta chain depth {record.depth}, its delta needs {depth}",
                )
            chain.append(Link(self._mapped_entry(index.pack, record), record.size, wanted))
            if record.base is None:
                return chain
            wanted, depth = record.base, record.depth - 1

    def _mapped_entry(self, pack: Path, record: Record) -> Encoded:
        """`read_entry`, through a read-only map of the entry alone: the payload is a view
        of the page cache, not a copy (a quarter of a checkout's CPU went to copying it).
        The map goes when the last view of it does, so memory holds only the entries being
        decoded. Packs are never changed in place, only deleted, which leaves a map readable.
        The view only reaches the decoders (decode_chunk copies a stored payload it returns)."""
        what = f"pack {pack.name}: chunk {record.id.hex()}"
        start = record.offset - record.offset % mmap.ALLOCATIONGRANULARITY
        with pack.open("rb", buffering=0) as opened:  # the map keeps a descriptor of its own
            try:
                mapped = mmap.mmap(
                    opened.fileno(),
                    record.offset + record.length - start,
                    access=mmap.ACCESS_READ,
                    offset=start,
                )
            except ValueError:  # the map would reach past the end of the file
                raise _corrupt(what, "the pack ends inside the entry") from None
            except OSError:  # not mappable here: read it
                return read_entry(pack, record)
        entry = memoryview(mapped)[record.offset - start :]
        payload = cast("bytes", entry[ENTRY.size :])
        return Encoded(_entry_encoding(entry, record, what), record.width, payload)


def load_index(path: Path) -> PackIndex:
    """Read and check the index at `path` and that its pack is there with the same checksum."""
    pack = path.with_suffix(".pack")
    index = decode_index(path.read_bytes(), pack, f"index {path.name}")
    if index.checksum.hex() != path.stem.removeprefix("pack-"):
        raise _corrupt(f"index {path.name}", "it names another pack")
    try:
        with pack.open("rb") as f:
            f.seek(-TRAILER, os.SEEK_END)
            trailer = f.read(TRAILER)
    except OSError as exc:
        raise _corrupt(f"pack {pack.name}", f"it cannot be read ({exc.strerror})") from None
    if trailer != index.checksum:
        raise _corrupt(f"pack {pack.name}", "its checksum does not match its index")
    return index
