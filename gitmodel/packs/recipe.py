"""Recipes: a file as its chunk ids in order (docs/pack-format.md, "Recipe"), and reassembly.

A recipe names the file's oid and size, the tensors its chunks belong to, and each chunk's id
and size; it ends with a checksum of its own bytes. Reassembly streams the chunks into a temp
file beside the target while hashing them, and renames it into place only when the whole file
hashes to the recipe's oid: a corrupt chunk or recipe never reaches the target.
"""

from __future__ import annotations

import os
import secrets
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import xxhash

from gitmodel.errors import CorruptObjectError
from gitmodel.hashing import OID_PREFIX, oid_hex
from gitmodel.packs.chunking import GRID, ChunkedFile, TensorSlot
from gitmodel.packs.encoding import HINT

RECIPE_MAGIC = b"GMRCPE\x00\x01"  # the last byte is the format version
HEADER = struct.Struct("<8s16sQII")  # magic, file oid digest, file size, tensors, chunks
CHUNK = struct.Struct("<16sIII")  # chunk id, size, tensor index, part on the tensor's grid
NO_TENSOR = 0xFFFFFFFF
MAX_DIMS = 255
TRAILER = 16


@dataclass(frozen=True, slots=True)
class RecipeChunk:
    id: bytes
    size: int
    tensor: int  # index into Recipe.tensors, or NO_TENSOR
    part: int


@dataclass(frozen=True)
class Recipe:
    oid: str
    size: int
    tensors: tuple[TensorSlot, ...]
    chunks: tuple[RecipeChunk, ...]

    def slot(self, chunk: RecipeChunk) -> TensorSlot | None:
        return None if chunk.tensor == NO_TENSOR else self.tensors[chunk.tensor]


def recipe_of(chunked: ChunkedFile) -> Recipe:
    slots: dict[TensorSlot, int] = {}
    chunks = []
    for chunk_id, size, tensor, part in chunked.chunks:
        index = NO_TENSOR if tensor is None else slots.setdefault(tensor, len(slots))
        chunks.append(RecipeChunk(chunk_id, size, index, part))
    return Recipe(chunked.oid, chunked.size, tuple(slots), tuple(chunks))


def chunk_of(oid: str) -> bytes:
    """The chunk id of a file that is one chunk: its oid's digest (docs/pack-format.md, 1)."""
    return bytes.fromhex(oid_hex(oid))


def is_single_chunk(recipe: Recipe) -> bool:
    """Whether a file needs no stored recipe: it is one chunk of no tensor slot, so its chunk
    id is its oid and the recipe would say nothing that a pack index does not."""
    return (
        len(recipe.chunks) == 1
        and recipe.chunks[0].tensor == NO_TENSOR
        and recipe.chunks[0].id == chunk_of(recipe.oid)
    )


def single_chunk_recipe(oid: str, size: int, chunk: bytes | None = None) -> Recipe:
    """The recipe of a file that is one chunk of `size` bytes, made up rather than read
    (`chunk`: its id, when the caller has it at hand)."""
    return Recipe(oid, size, (), (RecipeChunk(chunk or chunk_of(oid), size, NO_TENSOR, 0),))


def encode_recipe(recipe: Recipe) -> bytes:
    parts = [
        HEADER.pack(
            RECIPE_MAGIC,
            bytes.fromhex(oid_hex(recipe.oid)),
            recipe.size,
            len(recipe.tensors),
            len(recipe.chunks),
        )
    ]
    for t in recipe.tensors:
        name, dtype = t.name.encode(), t.dtype.encode()
        parts.append(struct.pack("<H", len(name)) + name + struct.pack("<B", len(dtype)) + dtype)
        parts.append(struct.pack(f"<B{len(t.shape)}Q", len(t.shape), *t.shape))
    parts += [CHUNK.pack(c.id, c.size, c.tensor, c.part) for c in recipe.chunks]
    body = b"".join(parts)
    return body + xxhash.xxh3_128_digest(body)


class _Cursor:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise ValueError("it ends too early")
        self.pos += n
        return self.data[self.pos - n : self.pos]

    def unpack(self, layout: str) -> tuple[int, ...]:
        size = struct.calcsize(layout)
        return struct.unpack(layout, self.take(size))


def decode_recipe(data: bytes, what: str = "recipe", oid: str | None = None) -> Recipe:
    """Parse and check a recipe: checksum, magic, every field in range, chunk sizes that add
    up to the file size, and (when given) that it is the recipe of the file `oid`. Anything
    else is CorruptObjectError."""
    try:
        if len(data) < HEADER.size + TRAILER:
            raise ValueError(f"{len(data)} bytes is too short for a recipe")
        body = data[:-TRAILER]
        if xxhash.xxh3_128_digest(body) != data[-TRAILER:]:
            raise ValueError("its checksum does not match its bytes")
        magic, digest, size, tensor_count, chunk_count = HEADER.unpack_from(body)
        if magic != RECIPE_MAGIC:
            raise ValueError("it does not start with the recipe magic of format version 1")
        cursor = _Cursor(body)
        cursor.pos = HEADER.size
        tensors = []
        for _ in range(tensor_count):
            name = cursor.take(cursor.unpack("<H")[0]).decode()
            dtype = cursor.take(cursor.unpack("<B")[0]).decode()
            (dims,) = cursor.unpack("<B")
            tensors.append(TensorSlot(name, dtype, cursor.unpack(f"<{dims}Q")))
        if len(body) - cursor.pos != chunk_count * CHUNK.size:
            raise ValueError(f"{chunk_count} chunks do not fill the rest of its bytes")
        chunks = [RecipeChunk(*fields) for fields in CHUNK.iter_unpack(body[cursor.pos :])]
        for c in chunks:
            if not 0 < c.size <= GRID:
                raise ValueError(f"chunk {c.id.hex()} has size {c.size}")
            if c.tensor != NO_TENSOR and c.tensor >= tensor_count:
                raise ValueError(f"chunk {c.id.hex()} names tensor {c.tensor} of {tensor_count}")
        if sum(c.size for c in chunks) != size:
            raise ValueError(f"its chunks do not add up to the file size {size}")
        if oid is not None and OID_PREFIX + digest.hex() != oid:
            raise ValueError(f"it describes {OID_PREFIX + digest.hex()}, not {oid}")
    except (ValueError, struct.error) as exc:  # UnicodeDecodeError is a ValueError
        raise CorruptObjectError(f"{what} is corrupt: {exc}", HINT) from None
    return Recipe(OID_PREFIX + digest.hex(), size, tuple(tensors), tuple(chunks))


def reassemble(
    recipe: Recipe,
    read_chunk: Callable[[bytes], bytes],
    target: Path,
    temp: Path | None = None,
    mode: int | None = None,
) -> None:
    """Write the file a recipe describes to `target`, chunk by chunk (`read_chunk` returns a
    chunk's verified bytes), and move it into place only if it hashes to the recipe's oid.
    `temp`: where to write it first (default: beside the target); `mode`: the file's mode
    (default: as the umask makes it), set before it appears at `target`."""
    temp = temp or target.with_name(f".tmp-{secrets.token_hex(8)}-{target.name}")
    whole = xxhash.xxh3_128()
    size = 0
    try:
        with temp.open("xb") as out:
            if mode is not None:
                os.fchmod(out.fileno(), mode)
            for chunk in recipe.chunks:
                data = read_chunk(chunk.id)
                if len(data) != chunk.size:
                    raise CorruptObjectError(
                        f"chunk {chunk.id.hex()} has {len(data)} bytes, the recipe of "
                        f"{recipe.oid} says {chunk.size}",
                        HINT,
                    )
                whole.update(data)
                size += len(data)
                out.write(data)
            out.flush()
            os.fsync(out.fileno())
        got = OID_PREFIX + whole.hexdigest()
        if got != recipe.oid or size != recipe.size:
            raise CorruptObjectError(
                f"file reassembled from the recipe of {recipe.oid} hashes to {got}", HINT
            )
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)
