"""safetensors headers, tensor manifests, and hashing byte ranges in one streamed pass."""

from __future__ import annotations

import io
import json
import random
import struct
from pathlib import Path

import pytest
import xxhash

from gitmodel import hashing
from gitmodel.formats import FormatError, FormatScan, TensorEntry, safetensors, scan_file
from gitmodel.hashing import ByteRange, hash_stream
from gitmodel.pointer import parse_pointer
from tests.helpers import gm, gm_ok, object_path, write_safetensors

TENSORS: dict[str, tuple[str, list[int], bytes | int]] = {
    "embed.weight": ("F32", [10, 4], bytes(range(160))),
    "head.bias": ("F16", [3], b"\x01\x02\x03\x04\x05\x06"),
    "head.weight": ("BF16", [3, 4], 7),
    "step": ("I64", [], 9),
    "empty": ("F32", [0, 4], b""),
}


def xxh(data: bytes) -> str:
    return "xxh128:" + xxhash.xxh3_128_hexdigest(data)


def raw_safetensors(header: object, data: bytes = b"", header_len: int | None = None) -> bytes:
    raw = json.dumps(header).encode() if not isinstance(header, bytes) else header
    return struct.pack("<Q", len(raw) if header_len is None else header_len) + raw + data


def scan_bytes(content: bytes) -> FormatScan:
    return safetensors.scan(io.BytesIO(content), len(content))


# --- facts ------------------------------------------------------------------------------------


def test_scan_facts_and_tensor_ranges(tmp_path: Path) -> None:
    path = tmp_path / "m.safetensors"
    content = write_safetensors(path, TENSORS, metadata={"format": "pt"})
    scan = scan_file(path)
    assert scan is not None
    assert scan.name == "safetensors"
    assert scan.facts == {
        "parameters": 40 + 3 + 12 + 1 + 0,
        "dtypes": ["BF16", "F16", "F32", "I64"],
        "tensors": 5,
    }
    start = 8 + struct.unpack("<Q", content[:8])[0]
    by_name = {t.name: t for t in scan.tensors}
    assert set(by_name) == set(TENSORS)
    assert by_name["embed.weight"] == TensorEntry(
        "embed.weight", "F32", (10, 4), start, start + 160
    )
    assert by_name["step"].shape == ()
    assert by_name["empty"].end == by_name["empty"].begin
    for name, (_, _, data) in TENSORS.items():
        t = by_name[name]
        expected = data if isinstance(data, bytes) else bytes([data]) * (t.end - t.begin)
        assert content[t.begin : t.end] == expected
    assert [(r.begin, r.end) for r in scan.ranges] == [(t.begin, t.end) for t in scan.tensors]
    assert scan.tensors[-1].end == len(content)


def test_header_only_file_has_no_tensors(tmp_path: Path) -> None:
    path = tmp_path / "meta.safetensors"
    write_safetensors(path, {}, metadata={"note": "no tensors"})
    scan = scan_file(path)
    assert scan is not None
    assert scan.facts == {"parameters": 0, "dtypes": [], "tensors": 0}
    assert list(scan.tensors) == []


def test_detection_by_suffix_or_magic(tmp_path: Path) -> None:
    content = write_safetensors(tmp_path / "a.safetensors", {"w": ("F32", [2], 1)})
    (tmp_path / "weights.bin").write_bytes(content)
    (tmp_path / "notes.bin").write_bytes(b"just some bytes, not a model\n")
    (tmp_path / "tiny.safetensors").write_bytes(b"12345")
    found = scan_file(tmp_path / "weights.bin")
    assert found is not None and found.facts["tensors"] == 1
    assert scan_file(tmp_path / "notes.bin") is None
    assert scan_file(tmp_path / "tiny.safetensors") is None


def test_packed_and_unknown_dtypes(tmp_path: Path) -> None:
    header = {
        "q": {"dtype": "F4", "shape": [3], "data_offsets": [0, 2]},
        "x": {"dtype": "X99", "shape": [5], "data_offsets": [2, 3]},
    }
    scan = scan_bytes(raw_safetensors(header, b"abc"))
    assert scan.facts == {"parameters": 8, "dtypes": ["F4", "X99"], "tensors": 2}


# --- invalid headers --------------------------------------------------------------------------


def _one(
    dtype: object = "F32", shape: object = (2,), offsets: object = (0, 8)
) -> dict[str, object]:
    entry: dict[str, object] = {"dtype": dtype, "shape": shape, "data_offsets": offsets}
    return {"t": {k: list(v) if isinstance(v, tuple) else v for k, v in entry.items()}}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "file is shorter than the 8-byte safetensors header length"),
        (b"\x10\x00\x00", "file is shorter than the 8-byte safetensors header length"),
        (raw_safetensors({}, header_len=1000), "header length 1000 does not fit a 10-byte file"),
        (
            raw_safetensors(b"{}", header_len=2**64 - 1),
            f"header length {2**64 - 1} does not fit a 10-byte file",
        ),
        (
            raw_safetensors(b"{}" + b" " * 100, header_len=100 * 1024 * 1024 + 1),
            f"header length {100 * 1024 * 1024 + 1} does not fit a 110-byte file",
        ),
        (
            raw_safetensors(b"{not json}"),
            "header is not JSON: Expecting property name enclosed "
            "in double quotes: line 1 column 2 (char 1)",
        ),
        (
            raw_safetensors(b'{"a": 1'),
            "header is not JSON: Expecting ',' delimiter: line 1 column 8 (char 7)",
        ),
        (raw_safetensors([1, 2]), "header is not a JSON object"),
        (raw_safetensors({"t": [1]}), "tensor 't': entry is not an object"),
        (raw_safetensors(_one(dtype=None), bytes(8)), "tensor 't': dtype missing"),
        (
            raw_safetensors(_one(shape=(-2,)), bytes(8)),
            "tensor 't': shape must be a list of non-negative integers",
        ),
        (
            raw_safetensors(_one(shape=(2.0,)), bytes(8)),
            "tensor 't': shape must be a list of non-negative integers",
        ),
        (
            raw_safetensors(_one(shape=(True, 2)), bytes(8)),
            "tensor 't': shape must be a list of non-negative integers",
        ),
        (
            raw_safetensors(_one(offsets=(8, 0)), bytes(8)),
            "tensor 't': data_offsets must be [begin, end]",
        ),
        (
            raw_safetensors(_one(offsets=(0,)), bytes(8)),
            "tensor 't': data_offsets must be [begin, end]",
        ),
        (
            raw_safetensors(_one(offsets=(-1, 7)), bytes(8)),
            "tensor 't': data_offsets must be [begin, end]",
        ),
        (
            raw_safetensors(_one(offsets=(0, 8.0)), bytes(8)),
            "tensor 't': data_offsets must be [begin, end]",
        ),
        (
            raw_safetensors(_one(offsets=(0, 16)), bytes(8)),
            "tensor 't': data runs past the end of the file",
        ),
        (raw_safetensors(_one(shape=(3,)), bytes(8)), "tensor 't': 8 bytes do not match F32[3]"),
        (raw_safetensors(_one(dtype="F16"), bytes(8)), "tensor 't': 8 bytes do not match F16[2]"),
        (raw_safetensors(_one(), bytes(12)), "4 bytes after the last tensor"),
        (
            raw_safetensors(
                {
                    "a": {"dtype": "U8", "shape": [2], "data_offsets": [0, 2]},
                    "b": {"dtype": "U8", "shape": [2], "data_offsets": [3, 5]},
                },
                bytes(5),
            ),
            "tensor 'b': data overlaps or leaves a gap",
        ),
        (
            raw_safetensors(
                {
                    "a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]},
                    "b": {"dtype": "U8", "shape": [2], "data_offsets": [2, 4]},
                },
                bytes(4),
            ),
            "tensor 'b': data overlaps or leaves a gap",
        ),
        (
            raw_safetensors({"a": {"dtype": "U8", "shape": [2], "data_offsets": [1, 3]}}, bytes(3)),
            "tensor 'a': data overlaps or leaves a gap",
        ),
    ],
)
def test_invalid_header_raises_format_error(content: bytes, message: str) -> None:
    with pytest.raises(FormatError) as info:
        scan_bytes(content)
    assert str(info.value) == message


def test_cli_add_warns_and_writes_no_format_for_a_broken_header(repo: Path) -> None:
    content = write_safetensors(repo / "bad.safetensors", {"w": ("F32", [2], 1)})
    (repo / "bad.safetensors").write_bytes(content + b"junk")
    proc = gm(repo, "add", "bad.safetensors")
    assert proc.returncode == 0
    assert (
        proc.stderr
        == "warning: bad.safetensors: not read as safetensors: 4 bytes after the last tensor\n"
    )
    pointer = parse_pointer((repo / "bad.safetensors.gitmodel").read_bytes())
    assert pointer.format is None
    assert pointer.oid == xxh(content + b"junk")


# --- tensor manifests -------------------------------------------------------------------------


def test_tensor_manifest_oids_hash_exactly_each_tensor_range(repo: Path) -> None:
    path = repo / "model.safetensors"
    content = write_safetensors(path, TENSORS, metadata={"format": "pt"})
    gm_ok(repo, "add", "model.safetensors")
    pointer = parse_pointer((repo / "model.safetensors.gitmodel").read_bytes())
    assert pointer.oid == xxh(content)
    assert pointer.size == len(content)
    assert pointer.format is not None
    manifest_oid = pointer.format.facts["manifest"]
    assert isinstance(manifest_oid, str)
    raw = object_path(repo, manifest_oid).read_bytes()
    assert xxh(raw) == manifest_oid
    doc = json.loads(raw)
    assert raw == json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
    assert doc["version"] == 1 and doc["format"] == "safetensors"
    names = [t["name"] for t in doc["tensors"]]
    assert names == sorted(TENSORS)
    header = json.loads(content[8 : 8 + struct.unpack("<Q", content[:8])[0]])
    start = 8 + struct.unpack("<Q", content[:8])[0]
    for t in doc["tensors"]:
        lo, hi = header[t["name"]]["data_offsets"]
        assert (t["begin"], t["end"]) == (start + lo, start + hi)
        assert t["dtype"] == TENSORS[t["name"]][0]
        assert t["shape"] == TENSORS[t["name"]][1]
        assert t["oid"] == xxh(content[t["begin"] : t["end"]])
    empty = next(t for t in doc["tensors"] if t["name"] == "empty")
    assert empty["oid"] == "xxh128:99aa06d3014798d86001c324468d497f"


def test_changing_one_tensor_changes_only_its_oid(repo: Path) -> None:
    tensors = dict(TENSORS)
    write_safetensors(repo / "m.safetensors", tensors)
    gm_ok(repo, "add", "m.safetensors")
    first = _tensor_oids(repo, "m.safetensors")
    tensors["head.bias"] = ("F16", [3], b"\x09\x02\x03\x04\x05\x06")
    write_safetensors(repo / "m.safetensors", tensors)
    gm_ok(repo, "add", "m.safetensors")
    second = _tensor_oids(repo, "m.safetensors")
    assert {n for n in first if first[n] != second[n]} == {"head.bias"}


def _tensor_oids(repo: Path, name: str) -> dict[str, str]:
    pointer = parse_pointer((repo / f"{name}.gitmodel").read_bytes())
    assert pointer.format is not None
    oid = pointer.format.facts["manifest"]
    assert isinstance(oid, str)
    return {t["name"]: t["oid"] for t in json.loads(object_path(repo, oid).read_bytes())["tensors"]}


# --- hash_stream over byte ranges ---------------------------------------------------------------


class TrickleReader:
    """A stream that returns at most `step` bytes per read, as pipes and sockets may."""

    def __init__(self, data: bytes, step: int) -> None:
        self.inner = io.BytesIO(data)
        self.step = step

    def readinto(self, buffer: bytearray, /) -> int:
        chunk = self.inner.read(min(self.step, len(buffer)))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def _check(data: bytes, ranges: list[ByteRange], stream: hashing.ReadableInto) -> None:
    seen = bytearray()
    progress: list[int] = []
    digest = hash_stream(stream, ranges, sinks=[seen.extend], progress=progress.append)
    assert all(n <= hashing.CHUNK_SIZE for n in progress)  # really read in chunks that small
    assert digest.oid == xxh(data)
    assert digest.size == len(data)
    assert bytes(seen) == data
    assert sum(progress) == len(data)
    assert digest.range_oids == tuple(xxh(data[r.begin : r.end]) for r in ranges)


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 8, 64])
def test_hash_stream_ranges_across_chunk_boundaries(
    chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hashing, "CHUNK_SIZE", chunk)
    data = bytes(random.Random(chunk).randrange(256) for _ in range(100))
    ranges = [
        ByteRange(0, 0),
        ByteRange(0, 5),
        ByteRange(5, 6),
        ByteRange(6, 6),
        ByteRange(6, 40),
        ByteRange(40, 41),
        ByteRange(50, 63),  # a gap before it
        ByteRange(63, 100),
        ByteRange(100, 100),  # empty, at the very end
    ]
    _check(data, ranges, io.BytesIO(data))


def test_hash_stream_random_ranges(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(1234)
    for _ in range(200):
        monkeypatch.setattr(hashing, "CHUNK_SIZE", rng.randint(1, 20))
        data = rng.randbytes(rng.randint(0, 120))
        cuts = sorted(rng.randint(0, len(data)) for _ in range(rng.randint(0, 12)))
        ranges = [ByteRange(a, b) for a, b in zip(cuts[::2], cuts[1::2], strict=False)]
        _check(data, ranges, io.BytesIO(data))
        _check(data, ranges, TrickleReader(data, rng.randint(1, 5)))


def test_hash_stream_empty_and_no_ranges() -> None:
    assert hash_stream(io.BytesIO(b"")) == hashing.StreamDigest(
        "xxh128:99aa06d3014798d86001c324468d497f", 0, ()
    )
    assert hash_stream(io.BytesIO(b"abc")).oid == xxh(b"abc")


def test_scan_ranges_hashed_in_one_pass_with_tiny_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hashing, "CHUNK_SIZE", 5)
    path = tmp_path / "m.safetensors"
    content = write_safetensors(path, TENSORS)
    scan = scan_file(path)
    assert scan is not None
    chunks: list[int] = []
    with path.open("rb") as f:
        digest = hash_stream(f, scan.ranges, progress=chunks.append)
    assert max(chunks) == 5
    assert digest.oid == xxh(content)
    for t, oid in zip(scan.tensors, digest.range_oids, strict=True):
        assert oid == xxh(content[t.begin : t.end])
