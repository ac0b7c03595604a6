"""Headers built to exhaust the readers: deep nesting, huge headers, huge tensor counts.

Such a file is still added, as an unrecognised format with a one-line warning.
"""

from __future__ import annotations

import io
import json
import struct
from pathlib import Path

import pytest

from gitmodel.formats import MAX_TENSORS, FormatError, FormatScan, gguf, onnx, safetensors
from gitmodel.pointer import parse_pointer
from tests.helpers import gm, write_safetensors


def safetensors_bytes(header: bytes, data: bytes = b"") -> bytes:
    header += b" " * (-len(header) % 8)
    return struct.pack("<Q", len(header)) + header + data


def deeply_nested() -> bytes:
    """200 KB of nested JSON arrays under one key: json.loads recurses once per level."""
    return safetensors_bytes(b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}")


def many_tensors(count: int) -> bytes:
    entries = (
        f'"t{i}":{{"dtype":"U8","shape":[1],"data_offsets":[{i},{i + 1}]}}' for i in range(count)
    )
    return safetensors_bytes(("{" + ",".join(entries) + "}").encode(), b"\x01" * count)


def scan_safetensors(content: bytes) -> FormatScan:
    return safetensors.scan(io.BytesIO(content), len(content))


def test_deeply_nested_header_is_a_format_error() -> None:
    with pytest.raises(FormatError) as info:
        scan_safetensors(deeply_nested())
    assert str(info.value) == "header is not a safetensors header: JSON nested too deeply"


def test_folder_holding_a_deeply_nested_header_is_added_with_a_warning(repo: Path) -> None:
    (repo / "m").mkdir()
    (repo / "m" / "deep.safetensors").write_bytes(deeply_nested())
    write_safetensors(repo / "m" / "good.safetensors", {"w": ("F32", [2], 1)})
    proc = gm(repo, "add", "m")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == (
        "warning: deep.safetensors: not read as safetensors: "
        "header is not a safetensors header: JSON nested too deeply\n"
    )
    pointer = parse_pointer((repo / "m.gitmodel").read_bytes())
    assert pointer.format is not None
    assert pointer.format.facts["files"] == 2
    assert pointer.format.facts["tensors"] == 1  # the good file's only


def test_header_over_the_read_limit_is_stored_without_facts(repo: Path) -> None:
    header = b"{}" + b" " * (safetensors.MAX_READ_HEADER - 1)
    content = safetensors_bytes(header)
    (repo / "big.safetensors").write_bytes(content)
    proc = gm(repo, "add", "big.safetensors")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == (
        f"warning: big.safetensors: not read as safetensors: {len(content) - 8}-byte header "
        f"is over the limit of {safetensors.MAX_READ_HEADER} for reading facts\n"
    )
    pointer = parse_pointer((repo / "big.safetensors.gitmodel").read_bytes())
    assert pointer.format is None
    assert pointer.size == len(content)


def test_header_at_the_read_limit_is_read() -> None:
    header = b"{}" + b" " * (safetensors.MAX_READ_HEADER - 2)
    scan = safetensors.scan(io.BytesIO(safetensors_bytes(header)), 8 + len(header))
    assert scan.facts == {"parameters": 0, "dtypes": [], "tensors": 0}


def test_safetensors_tensor_count_limit() -> None:
    assert len(scan_safetensors(many_tensors(MAX_TENSORS)).tensors) == MAX_TENSORS
    with pytest.raises(FormatError) as info:
        scan_safetensors(many_tensors(MAX_TENSORS + 2))
    assert str(info.value) == (
        f"{MAX_TENSORS + 2} header entries, over the limit of {MAX_TENSORS} tensors "
        "for reading facts"
    )


def test_lone_surrogate_in_a_tensor_name_is_a_format_error(repo: Path) -> None:
    header = json.dumps({"\ud800x": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}})
    (repo / "s.safetensors").write_bytes(safetensors_bytes(header.encode(), b"\x01"))
    proc = gm(repo, "add", "s.safetensors")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == (
        "warning: s.safetensors: not read as safetensors: "
        "tensor '\\ud800x': name or dtype is not valid Unicode\n"
    )


def test_gguf_tensor_count_limit() -> None:
    content = gguf.MAGIC + struct.pack("<IQQ", 3, MAX_TENSORS + 1, 0)
    with pytest.raises(FormatError) as info:
        gguf.scan(io.BytesIO(content), len(content))
    assert str(info.value) == f"tensor count {MAX_TENSORS + 1} is over the limit of {MAX_TENSORS}"


def test_onnx_initializer_count_limit() -> None:
    initializers = b"\x2a\x00" * (MAX_TENSORS + 1)  # graph field 5: an empty TensorProto
    graph = initializers
    length = len(graph)
    varint = bytearray()
    while length >= 0x80:
        varint.append(length & 0x7F | 0x80)
        length >>= 7
    content = b"\x08\x09" + b"\x3a" + bytes([*varint, length]) + graph  # ir_version 9, graph
    with pytest.raises(FormatError) as info:
        onnx.scan(io.BytesIO(content), len(content))
    assert str(info.value) == f"more than {MAX_TENSORS} initializers"
