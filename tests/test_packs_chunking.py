"""Packs, chunking: every byte in exactly one chunk, tensor boundaries, the grid, FastCDC."""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import pytest
import xxhash
from safetensors.numpy import save_file

from gitmodel.errors import UsageError
from gitmodel.formats import TensorEntry, scan_file
from gitmodel.manifests import decode_tensor_manifest, encode_tensor_manifest
from gitmodel.packs.chunking import (
    CDC_MAX,
    CDC_MIN,
    GRID,
    Chunk,
    Region,
    TensorSlot,
    chunk_file,
    tensor_regions,
)
from tests.test_gguf import T_F16, T_F32, build_gguf, llama_kvs


def chunks_of(path: Path) -> list[Chunk]:
    found: list[Chunk] = []
    chunked = chunk_file(path, found.append)
    data = path.read_bytes()
    assert b"".join(c.data for c in found) == data  # every byte, once, in order
    assert chunked.oid == "xxh128:" + xxhash.xxh3_128_hexdigest(data)
    assert [c.id for c in found] == [xxhash.xxh3_128_digest(c.data) for c in found]
    assert [(c.id, len(c.data), c.tensor, c.part) for c in found] == list(chunked.chunks)
    return found


def write_model(path: Path, seed: int = 0, metadata: dict[str, str] | None = None) -> None:
    rng = np.random.default_rng(seed)
    tensors = {
        "embed": (rng.standard_normal((64, 32)) * 0.02).astype(np.float16),
        "layer.0.weight": (rng.standard_normal((32, 32)) * 0.02).astype(np.float16),
        "layer.0.bias": np.zeros(32, dtype=np.float32),
        "empty": np.zeros((0, 4), dtype=np.float16),
        "head": (rng.standard_normal((32, 16)) * 0.02).astype(np.float16),
    }
    save_file(tensors, str(path), metadata=metadata)


def test_safetensors_header_and_each_tensor_are_one_chunk_each(tmp_path: Path) -> None:
    path = tmp_path / "m.safetensors"
    write_model(path)
    chunks = chunks_of(path)
    scan = scan_file(path)
    assert scan is not None
    nonempty = sorted((t for t in scan.tensors if t.end > t.begin), key=lambda t: t.begin)
    assert [(c.offset, c.offset + len(c.data)) for c in chunks] == [(0, nonempty[0].begin)] + [
        (t.begin, t.end) for t in nonempty
    ]
    assert chunks[0].tensor is None
    assert [c.tensor for c in chunks[1:]] == [
        TensorSlot(t.name, t.dtype, t.shape) for t in nonempty
    ]
    # an unsplit tensor's chunk id is the oid its tensor manifest records
    digests = [xxhash.xxh3_128_hexdigest(path.read_bytes()[t.begin : t.end]) for t in scan.tensors]
    manifest = encode_tensor_manifest(scan.name, scan.tensors, ["xxh128:" + d for d in digests])
    recorded = {r.name: r.oid for r in decode_tensor_manifest(manifest, "m")}
    assert {c.tensor.name: "xxh128:" + c.id.hex() for c in chunks if c.tensor} == {
        n: o for n, o in recorded.items() if n != "empty"
    }


def test_a_metadata_change_keeps_every_tensor_chunk(tmp_path: Path) -> None:
    write_model(tmp_path / "a.safetensors", metadata={"step": "1"})
    write_model(tmp_path / "b.safetensors", metadata={"step": "1000", "note": "longer header"})
    a, b = chunks_of(tmp_path / "a.safetensors"), chunks_of(tmp_path / "b.safetensors")
    assert a[0].id != b[0].id
    assert [c.id for c in a[1:]] == [c.id for c in b[1:]]


def test_gguf_padding_between_tensors_is_a_chunk_of_its_own(tmp_path: Path) -> None:
    f16 = bytes(range(256)) * 2 + b"\x01\x02"  # 257 F16 values: 514 bytes, padded to 544
    f32 = os.urandom(64)
    path = tmp_path / "m.gguf"
    path.write_bytes(build_gguf(llama_kvs(), [("a", [257], T_F16, f16), ("b", [16], T_F32, f32)]))
    chunks = chunks_of(path)
    scan = scan_file(path)
    assert scan is not None
    a, b = sorted(scan.tensors, key=lambda t: t.begin)
    spans = [(c.offset, c.offset + len(c.data), c.tensor and c.tensor.name) for c in chunks]
    assert spans == [
        (0, a.begin, None),
        (a.begin, a.end, "a"),
        (a.end, b.begin, None),
        (b.begin, b.end, "b"),
    ]
    assert chunks[2].data == bytes(30)


def test_regions_cut_big_ranges_on_a_grid_from_their_start() -> None:
    tensors = [
        TensorEntry("big", "F16", (50,), 10, 110),
        TensorEntry("small", "F32", (1,), 120, 124),
    ]
    big = TensorSlot("big", "F16", (50,))
    assert tensor_regions(tensors, 130, grid=32) == [
        Region(0, 10),
        Region(10, 42, big, 0),
        Region(42, 74, big, 1),
        Region(74, 106, big, 2),
        Region(106, 110, big, 3),
        Region(110, 120),
        Region(120, 124, TensorSlot("small", "F32", (1,)), 0),
        Region(124, 130),
    ]
    # a header over the grid is cut the same way; empty tensors and gaps give no chunk
    assert tensor_regions([TensorEntry("e", "F16", (0,), 70, 70)], 70, grid=32) == [
        Region(0, 32),
        Region(32, 64, None, 1),
        Region(64, 70, None, 2),
    ]


def test_a_tensor_over_the_grid_keeps_its_unchanged_parts(tmp_path: Path) -> None:
    values = GRID // 2 + 4096  # F16: one full grid piece plus 8 KiB
    rng = np.random.default_rng(1)
    weights = rng.integers(0, 1 << 16, values, dtype=np.uint16).view(np.float16)
    save_file({"w": weights}, str(tmp_path / "a.safetensors"))
    weights[-1] += 1  # only the last piece changes
    save_file({"w": weights}, str(tmp_path / "b.safetensors"))
    a, b = chunks_of(tmp_path / "a.safetensors"), chunks_of(tmp_path / "b.safetensors")
    assert [len(c.data) for c in a[1:]] == [GRID, 8192]
    assert [c.part for c in a[1:]] == [0, 1]
    assert a[1].id == b[1].id and a[2].id != b[2].id


def test_other_files_get_content_defined_chunks_that_survive_an_insertion(tmp_path: Path) -> None:
    data = random.Random(7).randbytes(3 * 1024 * 1024)
    (tmp_path / "a.bin").write_bytes(data)
    (tmp_path / "b.bin").write_bytes(data[:1000] + b"inserted" + data[1000:])
    a, b = chunks_of(tmp_path / "a.bin"), chunks_of(tmp_path / "b.bin")
    assert all(CDC_MIN <= len(c.data) <= CDC_MAX for c in a[:-1])
    assert 24 <= len(a) <= 64  # about 64 KiB on average
    assert all(c.tensor is None for c in a)
    assert len({c.id for c in a} - {c.id for c in b}) == 1  # only the first chunk differs


def test_a_file_claiming_a_format_with_a_bad_header_is_cut_by_content(tmp_path: Path) -> None:
    path = tmp_path / "bad.safetensors"
    path.write_bytes(b"\xff" * 8 + os.urandom(100_000))
    chunks = chunks_of(path)
    assert all(c.tensor is None for c in chunks) and len(chunks) >= 1


def test_an_empty_file_has_no_chunks(tmp_path: Path) -> None:
    (tmp_path / "empty").write_bytes(b"")
    assert chunks_of(tmp_path / "empty") == []


def test_a_file_that_shrinks_while_chunked_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.safetensors"
    write_model(path)
    size = path.stat().st_size

    def shrink(chunk: Chunk) -> None:
        os.truncate(path, size // 2)

    with pytest.raises(
        UsageError, match=r"^the file ended at byte \d+ while it was being chunked$"
    ):
        chunk_file(path, shrink)
