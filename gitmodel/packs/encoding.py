"""How a chunk is stored in a pack (docs/pack-format.md, "Encodings").

A chunk of tensor values is split into byte planes (byte 0 of every value, then byte 1, ...):
the high bytes of F16/BF16/F32 weights, sign and exponent, are nearly constant and compress
well, the low ones hardly at all, and zstd sees each kind in long runs. When a chunk of the same
tensor in another version is at hand, the XOR against it is split and compressed the same way:
a fine-tune leaves most high bytes unchanged, so their XOR is mostly zeros. The integer
difference of the values (zigzag, so small changes of either sign are small numbers) is split
and compressed the same way: a change of a few units in the last place carries across bits that
XOR would all flip, but stays a small difference. Whichever encoding is smallest is kept; a chunk
that no encoding shrinks is stored as is.
"""

from __future__ import annotations

import enum
import struct
import threading
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
    SUB_PLANES_ZSTD = 3  # zigzag of (value - base value) mod 2^(8 width), then as PLANES_ZSTD


DELTAS = frozenset({Encoding.XOR_PLANES_ZSTD, Encoding.SUB_PLANES_ZSTD})
# Unsigned little-endian integer dtype of one value, by width.
_UINT = {1: "<u1", 2: "<u2", 4: "<u4", 8: "<u8"}


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


_PER_THREAD = threading.local()


def _decompressor() -> Any:
    """This thread's zstd decompressor (one may not serve two threads at once), made once."""
    found = getattr(_PER_THREAD, "decompressor", None)
    if found is None:
        found = _PER_THREAD.decompressor = _zstd().ZstdDecompressor()
    return found


def _compressor(level: int) -> Any:
    """A zstd compressor of `level` for this thread, made once: making one costs more than
    compressing a small chunk (thousands of small files), and one must not be shared by
    threads compressing at once."""
    made = getattr(_PER_THREAD, "compressors", None)
    if made is None:
        made = _PER_THREAD.compressors = {}
    if level not in made:
        made[level] = _zstd().ZstdCompressor(level=level)
    return made[level]


def split_planes(data: bytes, width: int) -> bytes:
    if width == 1:
        return data
    # One transposing copy: the (values, width) matrix read column by column.
    return bytes(_numpy().frombuffer(data, dtype="uint8").reshape(-1, width).T.tobytes())


def join_planes(planes: bytes, width: int) -> bytes:
    if width == 1:
        return planes
    np = _numpy()
    out = np.empty(len(planes), dtype=np.uint8)
    interleave(np.frombuffer(planes, dtype=np.uint8).reshape(width, -1), out)
    return bytes(out.tobytes())


def interleave(planes: Any, out: Any) -> None:
    """Join byte planes (a `(width, count)` uint8 array) into `out` (`width * count` bytes):
    one strided copy per plane. numpy runs each as a long loop over the values (5-7 times
    faster here than a transposing copy, whose inner loop is `width` bytes long)."""
    values = out.reshape(-1, planes.shape[0])
    for i in range(planes.shape[0]):
        values[:, i] = planes[i]


def xor_bytes(data: bytes, base: bytes) -> bytes:
    np = _numpy()
    return bytes(
        np.bitwise_xor(
            np.frombuffer(data, dtype=np.uint8), np.frombuffer(base, dtype=np.uint8)
        ).tobytes()
    )


def sub_values(data: bytes, base: bytes, width: int) -> bytes:
    """Each value minus its base value, as `width`-byte integers modulo 2^(8 width), zigzag
    mapped (0, -1, 1, -2, ... to 0, 1, 2, 3, ...): a small change of either sign has zeros in
    its high bytes."""
    np = _numpy()
    kind = _UINT[width]
    difference = np.frombuffer(data, dtype=kind) - np.frombuffer(base, dtype=kind)
    signed = difference.view(kind.replace("u", "i"))
    sign = signed >> np.array(8 * width - 1, dtype=signed.dtype)  # arithmetic: 0 or all ones
    np.left_shift(signed, np.array(1, dtype=signed.dtype), out=signed)
    np.bitwise_xor(signed, sign, out=signed)
    return bytes(signed.tobytes())


def add_values(zigzag: bytes, base: bytes, width: int) -> bytes:
    """The inverse of `sub_values`: the values whose zigzag differences from `base` these are."""
    np = _numpy()
    kind = _UINT[width]
    values = np.frombuffer(base, dtype=kind).copy()
    encoded = np.frombuffer(zigzag, dtype=kind).copy()
    _add_zigzag(values, encoded, np.empty_like(encoded))
    return bytes(values.tobytes())


def _add_zigzag(values: Any, zigzag: Any, sign: Any) -> None:
    """values += the differences `zigzag` encodes, modulo 2^bits, in place; `zigzag` is
    overwritten and `sign` is scratch space of its shape (numpy arrays of one unsigned type)."""
    np = _numpy()
    one = np.array(1, dtype=zigzag.dtype)  # typed: a Python int makes numpy widen (5x slower)
    np.bitwise_and(zigzag, one, out=sign)
    np.negative(sign, out=sign)  # modular: 0 or all ones
    np.right_shift(zigzag, one, out=zigzag)
    np.bitwise_xor(zigzag, sign, out=zigzag)
    np.add(values, zigzag, out=values)


def compress_planes(data: bytes, width: int, level: int) -> bytes:
    """Byte planes of `data`, each its own zstd frame (a plane mixed into another's block
    compresses worse), behind a table of their lengths (u32 little-endian each)."""
    compressor = _compressor(level)
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
    decompressor = _decompressor()
    table = struct.calcsize(f"<{width}I")
    if len(payload) < table:
        raise CorruptObjectError(f"chunk {name}: its payload is too short", HINT)
    lengths = struct.unpack_from(f"<{width}I", payload)
    if table + sum(lengths) != len(payload):
        raise CorruptObjectError(f"chunk {name}: its plane lengths do not add up", HINT)
    planes = []
    position = table
    frames = memoryview(payload)  # slices of it copy nothing
    for length in lengths:
        frame = frames[position : position + length]
        position += length
        try:
            plane = decompressor.decompress(frame, max_output_size=size // width)
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


def encode_chunk(
    data: bytes, width: int, base: bytes | None = None, *, thorough: bool = False
) -> Encoded:
    """The smallest encoding of `data` (values `width` bytes wide); `base` is a chunk of the
    same tensor to delta against, or None. A base of another length is not used.

    A delta is tried as a difference; `thorough` (gc and repacking, which rewrite what stays
    stored) also tries XOR, which a push leaves out to stay fast: the difference is the
    smaller for weights changed by training (measured 3 % on F16, 11 % on BF16)."""
    level = PLANES_LEVEL if width > 1 else BYTES_LEVEL
    best = Encoded(Encoding.STORED, 1, data)
    if not looks_incompressible(data, width):
        whole = Encoded(Encoding.PLANES_ZSTD, width, compress_planes(data, width, level))
        if len(whole.payload) < len(best.payload):
            best = whole
    if base is not None and len(base) == len(data):
        deltas = [(Encoding.SUB_PLANES_ZSTD, sub_values(data, base, width))]
        if thorough:
            deltas.append((Encoding.XOR_PLANES_ZSTD, xor_bytes(data, base)))
        for encoding, values in deltas:
            delta = Encoded(encoding, width, compress_planes(values, width, level))
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
        data = bytes(encoded.payload)  # no copy of bytes; a view of a mapped pack is copied
    elif size % encoded.width:
        raise CorruptObjectError(f"chunk {name}: {size} bytes are not whole values", HINT)
    else:
        data = decompress_planes(encoded.payload, encoded.width, size, name)
        if encoded.encoding in DELTAS:
            if base is None or len(base) != size:
                raise CorruptObjectError(f"chunk {name}: its delta base does not fit", HINT)
            if encoded.encoding == Encoding.XOR_PLANES_ZSTD:
                data = xor_bytes(data, base)
            else:
                data = add_values(data, base, encoded.width)
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
    """The raw bytes of `chain[0]`, whose base is `chain[1]`, ... down to a chunk stored whole,
    checked against its id (see `decode_chain_into`)."""
    if len(chain) > 1 and not _planes_align(chain):
        return _decode_link_by_link(chain)
    np = _numpy()
    out = np.empty(chain[0].size, dtype=np.uint8)
    decode_chain_into(chain, out)
    return bytes(out.tobytes())


def decode_chain_into(chain: Sequence[Link], out: Any) -> None:
    """Decode `chain[0]` (whose base is `chain[1]`, ... down to a chunk stored whole) into
    `out`, a writable uint8 numpy array of exactly `chain[0].size` bytes, and check it against
    its id (CorruptObjectError otherwise; `out` then holds garbage).

    XOR is associative, so when every delta has the width and size of the chunk wanted, the
    deltas' planes are XORed into the base's planes and the result joined and hashed once: a
    corrupt link anywhere still shows in the final check against the id. Otherwise the chain
    is decoded link by link, each checked against its id.
    """
    top = chain[0]
    name = top.id.hex()
    if len(chain) == 1:
        _decode_whole_into(top, out)
    elif not _planes_align(chain):
        out[:] = _numpy().frombuffer(_decode_link_by_link(chain), dtype="uint8")
        return
    elif top.encoded.encoding == Encoding.SUB_PLANES_ZSTD:
        _sum_chain_into(chain, out)
    else:
        interleave(_chain_planes(chain), out)
    if chunk_id(out) != top.id:
        raise CorruptObjectError(f"chunk {name} does not hash to its id", HINT)


def _planes_align(chain: Sequence[Link]) -> bool:
    """Whether every delta of `chain` has the width, size and encoding of the chunk wanted
    (then the whole chain is decoded in the plane domain and hashed once)."""
    top = chain[0]
    width = top.encoded.width
    return not any(
        link.encoded.width != width
        or link.size != top.size
        or link.size % width
        or link.encoded.encoding != top.encoded.encoding
        for link in chain[:-1]
    )


def _decode_link_by_link(chain: Sequence[Link]) -> bytes:
    deltas, whole = chain[:-1], chain[-1]
    data = decode_chunk(whole.encoded, whole.size, whole.id)
    for link in reversed(deltas):
        data = decode_chunk(link.encoded, link.size, link.id, data)
    return data


def _decode_whole_into(link: Link, out: Any) -> None:
    """A chunk stored whole (encoding 0 or 1), into `out`; not yet checked against its id."""
    np = _numpy()
    encoded, size, name = link.encoded, link.size, link.id.hex()
    if encoded.encoding == Encoding.STORED:
        if len(encoded.payload) != size:
            raise CorruptObjectError(f"chunk {name} does not hash to its id", HINT)
        out[:] = np.frombuffer(encoded.payload, dtype=np.uint8)
    elif size % encoded.width:
        raise CorruptObjectError(f"chunk {name}: {size} bytes are not whole values", HINT)
    elif encoded.encoding in DELTAS:  # a delta with no base in the chain
        raise CorruptObjectError(f"chunk {name}: its delta base does not fit", HINT)
    else:
        _fill_lanes(out, encoded, size, name)


def _fill_lanes(out: Any, encoded: Encoded, size: int, name: str) -> None:
    """Inflate the byte planes of `encoded` straight into the lanes of `out` (a uint8 array,
    or values of `encoded.width` bytes): plane i becomes byte i of each value."""
    np = _numpy()
    lanes = out.view(np.uint8).reshape(-1, encoded.width)
    for i, plane in enumerate(inflate_plane_list(encoded.payload, encoded.width, size, name)):
        lanes[:, i] = np.frombuffer(plane, dtype=np.uint8)


def _chain_planes(chain: Sequence[Link]) -> Any:
    """The byte planes of `chain[0]`: the planes of the chunk at the bottom, every delta's
    planes XORed into them in place (each inflated plane copied or XORed once, no joins)."""
    np = _numpy()
    top, whole = chain[0], chain[-1]
    width = top.encoded.width
    if whole.size != top.size:
        raise CorruptObjectError(f"chunk {top.id.hex()}: its delta base does not fit", HINT)
    planes = np.empty((width, top.size // width), dtype=np.uint8)
    if whole.encoded.encoding == Encoding.PLANES_ZSTD and whole.encoded.width == width:
        inflated = inflate_plane_list(whole.encoded.payload, width, whole.size, whole.id.hex())
        bottom = [np.frombuffer(plane, dtype=np.uint8) for plane in inflated]
    else:
        raw = np.frombuffer(decode_chunk(whole.encoded, whole.size, whole.id), dtype=np.uint8)
        bottom = [raw.reshape(-1, width)[:, i] for i in range(width)]
    for depth, link in enumerate(chain[:-1]):
        delta = inflate_plane_list(link.encoded.payload, width, link.size, link.id.hex())
        for i, plane in enumerate(delta):
            # The first delta is XORed with the bottom's planes straight into `planes`.
            into = bottom[i] if depth == 0 else planes[i]
            np.bitwise_xor(into, np.frombuffer(plane, dtype=np.uint8), out=planes[i])
    return planes


def _sum_chain_into(chain: Sequence[Link], out: Any) -> None:
    """`decode_chain_into` when every delta is a difference of the same width and size:
    addition modulo 2^(8 width) is associative, so each link's differences are added to the
    bottom chunk's values in place; the caller hashes the result once (a corrupt link
    changes it)."""
    np = _numpy()
    top, whole = chain[0], chain[-1]
    width = top.encoded.width
    if whole.size != top.size:
        raise CorruptObjectError(f"chunk {top.id.hex()}: its delta base does not fit", HINT)
    kind = _UINT[width]
    values = out.view(kind)
    zigzag = np.empty(top.size // width, dtype=kind)
    sign = np.empty_like(zigzag)
    if whole.encoded.encoding == Encoding.PLANES_ZSTD and whole.encoded.width == width:
        _fill_lanes(values, whole.encoded, whole.size, whole.id.hex())  # checked with the result
    else:
        values[:] = np.frombuffer(decode_chunk(whole.encoded, whole.size, whole.id), dtype=kind)
    for link in chain[:-1]:
        _fill_lanes(zigzag, link.encoded, link.size, link.id.hex())
        _add_zigzag(values, zigzag, sign)
