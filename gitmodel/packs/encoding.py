"""How a chunk is stored in a pack (docs/pack-format.md, "Encodings").

A chunk of tensor values is split into byte planes (byte 0 of every value, then byte 1, ...):
the high bytes of F16/BF16/F32 weights, sign and exponent, are nearly constant and compress
well, the low ones hardly at all, and zstd sees each kind in long runs. When a chunk of the same
tensor in another version is at hand, the XOR against it is split and compressed the same way:
a fine-tune leaves most high bytes unchanged, so their XOR is mostly zeros. Whichever encoding
is smallest is kept; a chunk that no encoding shrinks is stored as is.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gitmodel.errors import CorruptObjectError
from gitmodel.packs import require
from gitmodel.packs.chunking import chunk_id

# Bytes per value for the dtypes whose chunks are split into planes; any other is width 1.
PLANE_WIDTHS = {
    "F16": 2,
    "BF16": 2,
    "I16": 2,
    "U16": 2,
    "F32": 4,
    "I32": 4,
    "U32": 4,
    "F64": 8,
    "I64": 8,
    "U64": 8,
}
# Not part of the format (a reader takes any level): level 1 compresses byte planes of weights
# as well as 3 does (measured: 0.843 against 0.843 of raw F16), at half the time.
PLANES_LEVEL = 1
BYTES_LEVEL = 3
HINT = "run `git model fsck`; fetch the object again from a remote that has it"
# Not part of the format either: a chunk whose samples (SAMPLES of SAMPLE_SIZE bytes, spread
# over it) shrink by less than 3 % under zstd is stored as is without compressing it whole
# (measured: 0.35 s of a 256 MiB push of random bytes went into zstd for nothing).
SAMPLES = 4
SAMPLE_SIZE = 8 * 1024
SAMPLED_MIN_SIZE = SAMPLES * SAMPLE_SIZE  # smaller chunks: the samples would be all of it
INCOMPRESSIBLE_RATIO = 0.97


class Encoding(enum.IntEnum):
    STORED = 0  # the raw bytes
    PLANES_ZSTD = 1  # byte planes of `width`, then one zstd frame (width 1: plain zstd)
    XOR_PLANES_ZSTD = 2  # XOR against the base chunk, then as PLANES_ZSTD


@dataclass(frozen=True, slots=True)
class Encoded:
    encoding: Encoding
    width: int
    payload: bytes


def plane_width(dtype: str | None, size: int) -> int:
    width = PLANE_WIDTHS.get(dtype or "", 1)
    return width if size % width == 0 else 1


def _numpy() -> Any:
    return require("numpy")


def _zstd() -> Any:
    return require("zstandard")


def split_planes(data: bytes, width: int) -> bytes:
    if width == 1:
        return data
    # One transposing copy: the (values, width) matrix read column by column.
    return bytes(_numpy().frombuffer(data, dtype="uint8").reshape(-1, width).T.tobytes())


def join_planes(planes: bytes, width: int) -> bytes:
    if width == 1:
        return planes
    # One transposing copy (measured 1.5 times faster than filling strided slices).
    return bytes(_numpy().frombuffer(planes, dtype="uint8").reshape(width, -1).T.tobytes())


def xor_bytes(data: bytes, base: bytes) -> bytes:
    np = _numpy()
    return bytes(
        np.bitwise_xor(
            np.frombuffer(data, dtype=np.uint8), np.frombuffer(base, dtype=np.uint8)
        ).tobytes()
    )


def compress_planes(data: bytes, width: int, level: int) -> bytes:
    """Byte planes of `data`, each its own zstd frame (a plane mixed into another's block
    compresses worse), behind a table of their lengths (u32 little-endian each)."""
    compressor = _zstd().ZstdCompressor(level=level)
    count = len(data) // width
    planes = split_planes(data, width)
    frames = [compressor.compress(planes[i * count : (i + 1) * count]) for i in range(width)]
    return struct.pack(f"<{width}I", *map(len, frames)) + b"".join(frames)


def decompress_planes(payload: bytes, width: int, size: int, name: str) -> bytes:
    return join_planes(inflate_planes(payload, width, size, name), width)


def inflate_planes(payload: bytes, width: int, size: int, name: str) -> bytes:
    """The byte planes a compressed payload holds, one after another (not joined)."""
    return b"".join(inflate_plane_list(payload, width, size, name))


def inflate_plane_list(payload: bytes, width: int, size: int, name: str) -> list[bytes]:
    """The byte planes a compressed payload holds, each `size / width` bytes, checked."""
    zstd = _zstd()
    table = struct.calcsize(f"<{width}I")
    if len(payload) < table:
        raise CorruptObjectError(f"chunk {name}: its payload is too short", HINT)
    lengths = struct.unpack_from(f"<{width}I", payload)
    if table + sum(lengths) != len(payload):
        raise CorruptObjectError(f"chunk {name}: its plane lengths do not add up", HINT)
    planes = []
    position = table
    for length in lengths:
        frame = payload[position : position + length]
        position += length
        try:
            plane = zstd.ZstdDecompressor().decompress(frame, max_output_size=size // width)
        except zstd.ZstdError as exc:
            raise CorruptObjectError(f"chunk {name} does not decompress: {exc}", HINT) from None
        if len(plane) != size // width:
            raise CorruptObjectError(
                f"chunk {name}: a plane decompresses to {len(plane)} bytes, "
                f"expected {size // width}",
                HINT,
            )
        planes.append(plane)
    return planes


def looks_incompressible(data: bytes, width: int) -> bool:
    """Whether zstd would only cost time on `data`: a few samples of each byte plane do not
    shrink under the fastest level (random bytes, compressed or encrypted data). Chunks below
    SAMPLED_MIN_SIZE are not tested: compressing them is cheap."""
    if len(data) < SAMPLED_MIN_SIZE:
        return False
    values = SAMPLE_SIZE // width  # values per sample, so each plane sample is that many bytes
    step = len(data) // width // SAMPLES
    compressor = _zstd().ZstdCompressor(level=1)
    for i in range(SAMPLES):
        start = i * step * width
        planes = split_planes(data[start : start + values * width], width)
        for plane in range(width):
            sample = planes[plane * values : (plane + 1) * values]
            if len(compressor.compress(sample)) < len(sample) * INCOMPRESSIBLE_RATIO:
                return False
    return True


def encode_chunk(data: bytes, width: int, base: bytes | None = None) -> Encoded:
    """The smallest encoding of `data` (values `width` bytes wide); `base` is a chunk of the
    same tensor to delta against, or None. A base of another length is not used."""
    level = PLANES_LEVEL if width > 1 else BYTES_LEVEL
    best = Encoded(Encoding.STORED, 1, data)
    if not looks_incompressible(data, width):
        whole = Encoded(Encoding.PLANES_ZSTD, width, compress_planes(data, width, level))
        if len(whole.payload) < len(best.payload):
            best = whole
    if base is not None and len(base) == len(data):
        xor = xor_bytes(data, base)
        delta = Encoded(Encoding.XOR_PLANES_ZSTD, width, compress_planes(xor, width, level))
        if len(delta.payload) < len(best.payload):
            best = delta
    return best


def decode_chunk(
    encoded: Encoded, size: int, expected_id: bytes, base: bytes | None = None
) -> bytes:
    """The raw bytes of an encoded chunk, checked against its id; CorruptObjectError when they
    do not decode to `size` bytes that hash to `expected_id`."""
    name = expected_id.hex()
    if encoded.encoding == Encoding.STORED:
        data = encoded.payload
    elif size % encoded.width:
        raise CorruptObjectError(f"chunk {name}: {size} bytes are not whole values", HINT)
    else:
        data = decompress_planes(encoded.payload, encoded.width, size, name)
        if encoded.encoding == Encoding.XOR_PLANES_ZSTD:
            if base is None or len(base) != size:
                raise CorruptObjectError(f"chunk {name}: its delta base does not fit", HINT)
            data = xor_bytes(data, base)
    if len(data) != size or chunk_id(data) != expected_id:
        raise CorruptObjectError(f"chunk {name} does not hash to its id", HINT)
    return data


@dataclass(frozen=True, slots=True)
class Link:
    """One chunk of a delta chain: how it is stored, its raw size and its id."""

    encoded: Encoded
    size: int
    id: bytes


def decode_chain(chain: Sequence[Link]) -> bytes:
    """The raw bytes of `chain[0]`, whose base is `chain[1]`, ... down to a chunk stored whole.

    XOR is associative, so when every delta has the width and size of the chunk wanted, the
    deltas' planes are XORed into the base's planes and the result joined and hashed once: a
    corrupt link anywhere still shows in the final check against the id. Otherwise the chain
    is decoded link by link, each checked against its id.
    """
    top, whole = chain[0], chain[-1]
    width = top.encoded.width
    deltas = chain[:-1]
    if len(chain) == 1 or any(
        link.encoded.width != width or link.size != top.size or link.size % width for link in deltas
    ):
        data = decode_chunk(whole.encoded, whole.size, whole.id)
        for link in reversed(deltas):
            data = decode_chunk(link.encoded, link.size, link.id, data)
        return data
    np = _numpy()
    if whole.size != top.size:
        raise CorruptObjectError(f"chunk {top.id.hex()}: its delta base does not fit", HINT)
    # planes[i] is plane i; each inflated plane is copied or XORed into it once, no joins.
    planes = np.empty((width, top.size // width), dtype=np.uint8)
    if whole.encoded.encoding == Encoding.PLANES_ZSTD and whole.encoded.width == width:
        bottom = inflate_plane_list(whole.encoded.payload, width, whole.size, whole.id.hex())
        for i, plane in enumerate(bottom):
            planes[i] = np.frombuffer(plane, dtype=np.uint8)
    else:
        raw = np.frombuffer(decode_chunk(whole.encoded, whole.size, whole.id), dtype=np.uint8)
        planes[:] = raw.reshape(-1, width).T
    for link in deltas:
        delta = inflate_plane_list(link.encoded.payload, width, link.size, link.id.hex())
        for i, plane in enumerate(delta):
            np.bitwise_xor(planes[i], np.frombuffer(plane, dtype=np.uint8), out=planes[i])
    data = bytes(planes.T.tobytes())
    if chunk_id(data) != top.id:
        raise CorruptObjectError(f"chunk {top.id.hex()} does not hash to its id", HINT)
    return data
