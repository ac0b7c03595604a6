"""GGUF (llama.cpp, ggml): a typed key-value header, tensor infos, then aligned tensor data.

Layout (versions 2 and 3; little-endian, or big-endian when the version reads byte-swapped):
magic `GGUF`, u32 version, u64 tensor count, u64 key-value count, the key-value pairs (key
string, u32 value type, value), then per tensor: name string, u32 dimension count, u64 per
dimension, u32 ggml type, u64 offset into the data section. The data section starts at the
first multiple of `general.alignment` (default 32) after the tensor infos. Strings are a u64
byte length and UTF-8 bytes. Only the header is parsed: values we do not need (vocabularies,
long arrays) are skipped by seeking, and tensor bytes are hashed range by range in the add pass.
"""

from __future__ import annotations

import itertools
import math
import struct

from gitmodel.formats import (
    MAX_TENSORS,
    FormatError,
    FormatScan,
    HeaderReader,
    HeaderStream,
    TensorEntry,
    clip_list,
    clip_text,
)
from gitmodel.pointer import FactValue

MAGIC = b"GGUF"
VERSIONS = (2, 3)
DEFAULT_ALIGNMENT = 32
MAX_KV = 1 << 20
MAX_ARRAY = 1 << 26  # elements of one metadata array (vocabularies have ~10^5)
MAX_ARRAY_DEPTH = 4
MAX_KEY = 65535  # the GGUF spec's limit for a key
MAX_NAME = 1024  # tensor names; ggml itself allows 63 bytes
MAX_STRING = 64 * 1024  # a string value we keep (the few we need are short)
MAX_DIMS = 8  # ggml has 4
MAX_DTYPES = 64
WANTED_KEYS = ("general.architecture", "general.name", "general.file_type", "general.alignment")
MAX_KEPT = 64  # metadata values kept: the wanted keys plus a few `<arch>.context_length`
INT64_MAX = (1 << 63) - 1

# GGUF metadata value types: 8 is a string, 9 an array, the others scalars (struct codes).
STRING, ARRAY = 8, 9
SCALARS = {
    0: "B",  # uint8
    1: "b",  # int8
    2: "H",  # uint16
    3: "h",  # int16
    4: "I",  # uint32
    5: "i",  # int32
    6: "f",  # float32
    7: "?",  # bool
    10: "Q",  # uint64
    11: "q",  # int64
    12: "d",  # float64
}

# ggml tensor types: number -> (name, elements per block, bytes per block); sizes as in ggml.c.
# Types whose layout we do not know exactly have size None: such files get facts but no tensor
# manifest, never guessed byte ranges.
GGML_TYPES: dict[int, tuple[str, int | None, int | None]] = {
    0: ("F32", 1, 4),
    1: ("F16", 1, 2),
    2: ("Q4_0", 32, 18),
    3: ("Q4_1", 32, 20),
    6: ("Q5_0", 32, 22),
    7: ("Q5_1", 32, 24),
    8: ("Q8_0", 32, 34),
    9: ("Q8_1", 32, 40),
    10: ("Q2_K", 256, 84),
    11: ("Q3_K", 256, 110),
    12: ("Q4_K", 256, 144),
    13: ("Q5_K", 256, 176),
    14: ("Q6_K", 256, 210),
    15: ("Q8_K", 256, 292),
    16: ("IQ2_XXS", 256, 66),
    17: ("IQ2_XS", 256, 74),
    18: ("IQ3_XXS", 256, 98),
    19: ("IQ1_S", 256, 50),
    20: ("IQ4_NL", 32, 18),
    21: ("IQ3_S", 256, 110),
    22: ("IQ2_S", 256, 82),
    23: ("IQ4_XS", 256, 136),
    24: ("I8", 1, 1),
    25: ("I16", 1, 2),
    26: ("I32", 1, 4),
    27: ("I64", 1, 8),
    28: ("F64", 1, 8),
    29: ("IQ1_M", 256, 56),
    30: ("BF16", 1, 2),
    31: ("Q4_0_4_4", None, None),  # 31-33 and 36-38: removed repacked types, in older files
    32: ("Q4_0_4_8", None, None),
    33: ("Q4_0_8_8", None, None),
    34: ("TQ1_0", 256, 54),
    35: ("TQ2_0", 256, 66),
    36: ("IQ4_NL_4_4", None, None),
    37: ("IQ4_NL_4_8", None, None),
    38: ("IQ4_NL_8_8", None, None),
    39: ("MXFP4", 32, 17),
    40: ("NVFP4", 64, 36),
    41: ("Q1_0", 128, 18),
}

# `general.file_type` (llama.cpp's llama_ftype): the quantization the file was made with.
FILE_TYPES = {
    0: "ALL_F32",
    1: "MOSTLY_F16",
    2: "MOSTLY_Q4_0",
    3: "MOSTLY_Q4_1",
    4: "MOSTLY_Q4_1_SOME_F16",
    7: "MOSTLY_Q8_0",
    8: "MOSTLY_Q5_0",
    9: "MOSTLY_Q5_1",
    10: "MOSTLY_Q2_K",
    11: "MOSTLY_Q3_K_S",
    12: "MOSTLY_Q3_K_M",
    13: "MOSTLY_Q3_K_L",
    14: "MOSTLY_Q4_K_S",
    15: "MOSTLY_Q4_K_M",
    16: "MOSTLY_Q5_K_S",
    17: "MOSTLY_Q5_K_M",
    18: "MOSTLY_Q6_K",
    19: "MOSTLY_IQ2_XXS",
    20: "MOSTLY_IQ2_XS",
    21: "MOSTLY_Q2_K_S",
    22: "MOSTLY_IQ3_XS",
    23: "MOSTLY_IQ3_XXS",
    24: "MOSTLY_IQ1_S",
    25: "MOSTLY_IQ4_NL",
    26: "MOSTLY_IQ3_S",
    27: "MOSTLY_IQ3_M",
    28: "MOSTLY_IQ2_S",
    29: "MOSTLY_IQ2_M",
    30: "MOSTLY_IQ4_XS",
    31: "MOSTLY_IQ1_M",
    32: "MOSTLY_BF16",
    33: "MOSTLY_Q4_0_4_4",
    34: "MOSTLY_Q4_0_4_8",
    35: "MOSTLY_Q4_0_8_8",
    36: "MOSTLY_TQ1_0",
    37: "MOSTLY_TQ2_0",
    38: "MOSTLY_MXFP4_MOE",
    39: "MOSTLY_NVFP4",
    40: "MOSTLY_Q1_0",
}

Value = int | float | bool | str


class _Layout:
    """The struct layouts of one byte order."""

    def __init__(self, order: str) -> None:
        self.u32 = struct.Struct(order + "I")
        self.u64 = struct.Struct(order + "Q")
        self.scalars = {t: struct.Struct(order + code) for t, code in SCALARS.items()}


def type_name(ggml_type: int) -> str:
    known = GGML_TYPES.get(ggml_type)
    return known[0] if known else f"type {ggml_type}"


def scan(stream: HeaderStream, file_size: int) -> FormatScan:
    r = HeaderReader(stream, file_size)
    if r.read(4, "GGUF magic") != MAGIC:
        raise FormatError("file does not start with the GGUF magic")
    raw_version = r.read(4, "GGUF version")
    version = struct.unpack("<I", raw_version)[0]
    layout = _Layout("<")
    if version & 0xFFFF == 0 and version:  # written big-endian
        version, layout = struct.unpack(">I", raw_version)[0], _Layout(">")
    if version not in VERSIONS:
        raise FormatError(f"GGUF version {version} is not supported (only 2 and 3)")
    tensor_count = _u64(r, layout, "tensor count")
    kv_count = _u64(r, layout, "metadata count")
    if tensor_count > MAX_TENSORS:
        raise FormatError(f"tensor count {tensor_count} is over the limit of {MAX_TENSORS}")
    if kv_count > MAX_KV:
        raise FormatError(f"metadata count {kv_count} is over the limit of {MAX_KV}")
    meta = _read_metadata(r, layout, kv_count)
    infos = [_tensor_info(r, layout, i) for i in range(tensor_count)]
    if len({name for name, _, _, _ in infos}) != len(infos):
        raise FormatError("two tensors have the same name")
    alignment = meta.get("general.alignment", DEFAULT_ALIGNMENT)
    if type(alignment) is not int or alignment <= 0 or alignment & (alignment - 1):
        raise FormatError(f"general.alignment {alignment!r} is not a power of two")
    data_start = -(-r.pos // alignment) * alignment
    tensors = _tensor_ranges(infos, data_start, file_size)
    parameters = sum(math.prod(shape) for _, shape, _, _ in infos)
    if parameters > INT64_MAX:
        raise FormatError(f"{parameters} parameters do not fit a 64-bit integer")
    facts: dict[str, FactValue] = {"gguf_version": version}
    arch = meta.get("general.architecture")
    if isinstance(arch, str):
        facts["architecture"] = clip_text(arch)
    name = meta.get("general.name")
    if isinstance(name, str):
        facts["model_name"] = clip_text(name)
    file_type = meta.get("general.file_type")
    if type(file_type) is int:
        facts["quantization"] = FILE_TYPES.get(file_type, f"type {file_type}")
    context = meta.get(f"{arch}.context_length") if isinstance(arch, str) else None
    if type(context) is int and 0 <= context <= INT64_MAX:
        facts["context_length"] = context
    facts["tensors"] = len(infos)
    facts["parameters"] = parameters
    facts["dtypes"] = clip_list(sorted({type_name(t) for _, _, t, _ in infos}), MAX_DTYPES)
    return FormatScan(name="gguf", facts=facts, tensors=tensors)


def _u64(r: HeaderReader, layout: _Layout, what: str) -> int:
    value: int = r.unpack(layout.u64, what)[0]
    return value


def _u32(r: HeaderReader, layout: _Layout, what: str) -> int:
    value: int = r.unpack(layout.u32, what)[0]
    return value


def _string(r: HeaderReader, layout: _Layout, limit: int, what: str) -> str:
    length = _u64(r, layout, what)
    if length > limit:
        raise FormatError(f"{what}: {length}-byte string is over the limit of {limit}")
    return r.read(length, what).decode("utf-8", errors="replace")


def _wanted(key: str, meta: dict[str, Value]) -> bool:
    if key in WANTED_KEYS:
        return True
    return key.endswith(".context_length") and len(meta) < MAX_KEPT


def _read_metadata(r: HeaderReader, layout: _Layout, count: int) -> dict[str, Value]:
    """The scalar values of the few keys we use; everything else is skipped unread."""
    meta: dict[str, Value] = {}
    for i in range(count):
        key = _string(r, layout, MAX_KEY, f"metadata key {i}")
        what = f"metadata {key!r}"
        value_type = _u32(r, layout, what)
        if value_type in SCALARS and _wanted(key, meta):
            meta[key] = r.unpack(layout.scalars[value_type], what)[0]
        elif value_type == STRING and _wanted(key, meta):
            length = _u64(r, layout, what)
            if length > MAX_STRING:
                r.skip(length, what)
                meta.pop(key, None)
            else:
                meta[key] = r.read(length, what).decode("utf-8", errors="replace")
        else:
            _skip_value(r, layout, value_type, what, 0)
    return meta


def _skip_value(r: HeaderReader, layout: _Layout, value_type: int, what: str, depth: int) -> None:
    if value_type in SCALARS:
        r.skip(layout.scalars[value_type].size, what)
    elif value_type == STRING:
        r.skip(_u64(r, layout, what), what)
    elif value_type == ARRAY:
        if depth >= MAX_ARRAY_DEPTH:
            raise FormatError(f"{what}: arrays nested deeper than {MAX_ARRAY_DEPTH}")
        item_type = _u32(r, layout, what)
        length = _u64(r, layout, what)
        if length > MAX_ARRAY:
            raise FormatError(f"{what}: array of {length} items is over the limit of {MAX_ARRAY}")
        if item_type in SCALARS:
            r.skip(length * layout.scalars[item_type].size, what)
        elif item_type in (STRING, ARRAY):
            r.need(length * 8, what)  # every string or array takes at least 8 bytes
            for _ in range(length):
                _skip_value(r, layout, item_type, what, depth + 1)
        else:
            raise FormatError(f"{what}: unknown array item type {item_type}")
    else:
        raise FormatError(f"{what}: unknown value type {value_type}")


def _tensor_info(
    r: HeaderReader, layout: _Layout, index: int
) -> tuple[str, tuple[int, ...], int, int]:
    name = _string(r, layout, MAX_NAME, f"tensor {index} name")
    what = f"tensor {name!r}"
    n_dims = _u32(r, layout, what)
    if n_dims > MAX_DIMS:
        raise FormatError(f"{what}: {n_dims} dimensions, over the limit of {MAX_DIMS}")
    shape = tuple(_u64(r, layout, what) for _ in range(n_dims))
    if math.prod(shape) > INT64_MAX:
        raise FormatError(f"{what}: shape {list(shape)} has too many elements")
    ggml_type = _u32(r, layout, what)
    offset = _u64(r, layout, what)
    return name, shape, ggml_type, offset


def _tensor_ranges(
    infos: list[tuple[str, tuple[int, ...], int, int]], data_start: int, file_size: int
) -> list[TensorEntry]:
    """Each tensor's absolute byte range; none at all if any type's size is unknown."""
    tensors = []
    for name, shape, ggml_type, offset in infos:
        dtype, block, block_bytes = GGML_TYPES.get(ggml_type, (type_name(ggml_type), None, None))
        if block is None or block_bytes is None:
            return []
        row = shape[0] if shape else 1  # ggml quantizes along the first dimension
        if row % block:
            raise FormatError(f"tensor {name!r}: {row} is not a multiple of {dtype}'s block size")
        nbytes = math.prod(shape) // block * block_bytes
        begin = data_start + offset
        if begin + nbytes > file_size:
            raise FormatError(f"tensor {name!r}: data runs past the end of the file")
        tensors.append(TensorEntry(name, dtype, shape, begin, begin + nbytes))
    tensors.sort(key=lambda t: (t.begin, t.end, t.name))
    for before, after in itertools.pairwise(tensors):
        if after.begin < before.end:
            raise FormatError(f"tensor {after.name!r}: data overlaps tensor {before.name!r}")
    return tensors
