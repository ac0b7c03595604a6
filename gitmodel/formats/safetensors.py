"""safetensors: an 8-byte little-endian header length, a JSON header, then raw tensor bytes.

Only the header is parsed; the tensor bytes are hashed range by range in the add pass.
"""

from __future__ import annotations

import json
import math
import os
import struct
from pathlib import Path

from gitmodel.formats import (
    MAX_TENSORS,
    FormatError,
    FormatScan,
    HeaderStream,
    TensorEntry,
    clip_list,
)

MAX_HEADER_SIZE = 100 * 1024 * 1024  # the limit the reference implementation enforces
# Parsing JSON costs about 20 times its size in memory until the tensor manifest is written:
# a bigger header (some 60,000 tensors of real names) is not read; the file is stored without
# facts, with a warning.
MAX_READ_HEADER = 8 * 1024 * 1024
DTYPE_BITS = {
    "BOOL": 8,
    "U8": 8,
    "I8": 8,
    "F8_E5M2": 8,
    "F8_E4M3": 8,
    "F8_E8M0": 8,
    "I16": 16,
    "U16": 16,
    "F16": 16,
    "BF16": 16,
    "I32": 32,
    "U32": 32,
    "F32": 32,
    "I64": 64,
    "U64": 64,
    "F64": 64,
    "F4": 4,
    "F6_E2M3": 6,
    "F6_E3M2": 6,
}


def looks_like(path: Path | str, head: bytes) -> bool:
    if len(head) < 9:
        return False
    declared = struct.unpack("<Q", head[:8])[0]
    suffix = os.path.splitext(path)[1]
    return suffix == ".safetensors" or (0 < declared <= MAX_HEADER_SIZE and head[8:9] == b"{")


def scan(stream: HeaderStream, file_size: int) -> FormatScan:
    raw_len = stream.read(8)
    if len(raw_len) != 8:
        raise FormatError("file is shorter than the 8-byte safetensors header length")
    header_len = struct.unpack("<Q", raw_len)[0]
    if header_len > MAX_HEADER_SIZE or 8 + header_len > file_size:
        raise FormatError(f"header length {header_len} does not fit a {file_size}-byte file")
    if header_len > MAX_READ_HEADER:
        raise FormatError(
            f"{header_len}-byte header is over the limit of {MAX_READ_HEADER} for reading facts"
        )
    try:
        header = json.loads(stream.read(header_len))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FormatError(f"header is not JSON: {exc}") from None
    except RecursionError:  # json recurses per level; a valid header has three
        raise FormatError("header is not a safetensors header: JSON nested too deeply") from None
    if not isinstance(header, dict):
        raise FormatError("header is not a JSON object")
    if len(header) > MAX_TENSORS + 1:  # the tensors, and maybe __metadata__
        raise FormatError(
            f"{len(header)} header entries, over the limit of {MAX_TENSORS} tensors "
            "for reading facts"
        )
    data_start = 8 + header_len
    tensors = [
        _tensor(name, info, data_start, file_size)
        for name, info in header.items()
        if name != "__metadata__"
    ]
    tensors.sort(key=lambda t: (t.begin, t.name))
    covered = data_start
    for t in tensors:
        if t.begin != covered and t.end > t.begin:
            raise FormatError(f"tensor {t.name!r}: data overlaps or leaves a gap")
        covered = max(covered, t.end)
    if covered != file_size:
        raise FormatError(f"{file_size - covered} bytes after the last tensor")
    parameters = sum(math.prod(t.shape) for t in tensors)
    dtypes = clip_list(sorted({t.dtype for t in tensors}), 64)  # a hostile header has many
    return FormatScan(
        name="safetensors",
        facts={"parameters": parameters, "dtypes": dtypes, "tensors": len(tensors)},
        tensors=tensors,
    )


def _tensor(name: str, info: object, data_start: int, file_size: int) -> TensorEntry:
    if not isinstance(info, dict):
        raise FormatError(f"tensor {name!r}: entry is not an object")
    dtype, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
    if not isinstance(dtype, str):
        raise FormatError(f"tensor {name!r}: dtype missing")
    if not _is_utf8(name) or not _is_utf8(dtype):  # JSON's \ud800 escapes can make lone halves
        raise FormatError(f"tensor {name!r}: name or dtype is not valid Unicode")
    if not isinstance(shape, list) or not all(type(d) is int and d >= 0 for d in shape):
        raise FormatError(f"tensor {name!r}: shape must be a list of non-negative integers")
    if (
        not isinstance(offsets, list)
        or len(offsets) != 2
        or not all(type(o) is int for o in offsets)
        or not 0 <= offsets[0] <= offsets[1]
    ):
        raise FormatError(f"tensor {name!r}: data_offsets must be [begin, end]")
    begin, end = data_start + offsets[0], data_start + offsets[1]
    if end > file_size:
        raise FormatError(f"tensor {name!r}: data runs past the end of the file")
    bits = DTYPE_BITS.get(dtype)
    if bits is not None and (math.prod(shape) * bits + 7) // 8 != end - begin:
        raise FormatError(f"tensor {name!r}: {end - begin} bytes do not match {dtype}{shape}")
    return TensorEntry(name=name, dtype=dtype, shape=tuple(shape), begin=begin, end=end)


def _is_utf8(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True
