"""GGUF headers: facts, tensor ranges, hostile headers, and `git model add`/`diff` end to end."""

from __future__ import annotations

import io
import json
import random
import struct
from collections.abc import Sequence
from pathlib import Path

import gguf as gguf_py
import numpy as np
import pytest
import xxhash

from gitmodel.formats import FormatError, FormatScan, gguf, scan_file
from gitmodel.pointer import parse_pointer
from tests.helpers import assert_refused_in_small_memory, git, gm, gm_ok, object_path

U8, I8, U16, I16, U32, I32, F32, BOOL, STR, ARR, U64, I64, F64 = range(13)
CODES = {U8: "B", I8: "b", U16: "H", I16: "h", U32: "I", I32: "i", F32: "f", BOOL: "?"}
CODES |= {U64: "Q", I64: "q", F64: "d"}
T_F32, T_F16, T_Q8_0, T_Q4_K = 0, 1, 8, 12

KV = tuple[str, int, object]
Tensor = tuple[str, Sequence[int], int, bytes]  # name, dims, ggml type, data


def xxh(data: bytes) -> str:
    return "xxh128:" + xxhash.xxh3_128_hexdigest(data)


def enc_str(text: str | bytes) -> bytes:
    raw = text.encode() if isinstance(text, str) else text
    return struct.pack("<Q", len(raw)) + raw


def enc_value(value_type: int, value: object) -> bytes:
    if value_type == STR:
        assert isinstance(value, str)
        return enc_str(value)
    if value_type == ARR:
        assert isinstance(value, tuple)
        item_type, items = value
        head = struct.pack("<IQ", item_type, len(items))
        return head + b"".join(enc_value(item_type, v) for v in items)
    return struct.pack("<" + CODES[value_type], value)


def build_gguf(
    kvs: Sequence[KV], tensors: Sequence[Tensor] = (), version: int = 3, alignment: int = 32
) -> bytes:
    """A GGUF file written by hand from the spec, each tensor's data padded to `alignment`."""
    out = b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(kvs))
    for key, value_type, value in kvs:
        out += enc_str(key) + struct.pack("<I", value_type) + enc_value(value_type, value)
    data = b""
    for name, dims, ggml_type, blob in tensors:
        out += enc_str(name) + struct.pack("<I", len(dims))
        out += b"".join(struct.pack("<Q", d) for d in dims)
        out += struct.pack("<IQ", ggml_type, len(data))
        data += blob + bytes(-len(blob) % alignment)
    return out + bytes(-len(out) % alignment) + data


def scan_bytes(content: bytes) -> FormatScan:
    return gguf.scan(io.BytesIO(content), len(content))


def llama_kvs(file_type: int = 7, context: int = 2048) -> list[KV]:
    return [
        ("general.architecture", STR, "llama"),
        ("general.name", STR, "Tiny Llama"),
        ("general.file_type", U32, file_type),
        ("llama.context_length", U32, context),
        ("llama.rope.freq_base", F32, 10000.0),
        ("tokenizer.ggml.tokens", ARR, (STR, ["<s>", "</s>", "hi"])),
        ("tokenizer.ggml.scores", ARR, (F32, [0.0, 0.5, -1.0])),
        ("misc.nested", ARR, (ARR, [(U8, [1, 2]), (I64, [-3])])),
        ("misc.flags", ARR, (BOOL, [True, False])),
        ("misc.i8", I8, -1),
        ("misc.u16", U16, 7),
        ("misc.i16", I16, -7),
        ("misc.i32", I32, -9),
        ("misc.u64", U64, 2**40),
        ("misc.f64", F64, 0.25),
        ("misc.u8", U8, 1),
        ("misc.bool", BOOL, True),
    ]


def q8_0_tensor(name: str, rows: int) -> Tensor:
    return (name, [32, rows], T_Q8_0, bytes(range(34)) * rows)


# --- facts and ranges -------------------------------------------------------------------------


def test_hand_written_file_facts_and_ranges(tmp_path: Path) -> None:
    tensors: list[Tensor] = [
        ("token_embd.weight", [4, 3], T_F32, bytes(range(48))),
        q8_0_tensor("blk.0.attn_q.weight", 2),
        ("output_norm.weight", [5], T_F16, b"\x11" * 10),
        ("empty", [0, 4], T_F32, b""),
    ]
    content = build_gguf([*llama_kvs(), ("general.alignment", U32, 64)], tensors, alignment=64)
    path = tmp_path / "model.gguf"
    path.write_bytes(content)
    scan = scan_file(path)
    assert scan is not None
    assert scan.name == "gguf"
    assert scan.facts == {
        "gguf_version": 3,
        "architecture": "llama",
        "model_name": "Tiny Llama",
        "quantization": "MOSTLY_Q8_0",
        "context_length": 2048,
        "tensors": 4,
        "parameters": 12 + 64 + 5 + 0,
        "dtypes": ["F16", "F32", "Q8_0"],
    }
    header_end = len(content) - 64 - 128 - 64 - 0  # each tensor padded to 64 bytes
    assert header_end % 64 == 0
    got = [(t.name, t.dtype, t.shape, t.begin - header_end, t.end - t.begin) for t in scan.tensors]
    assert got == [
        ("token_embd.weight", "F32", (4, 3), 0, 48),
        ("blk.0.attn_q.weight", "Q8_0", (32, 2), 64, 68),
        ("output_norm.weight", "F16", (5,), 192, 10),
        ("empty", "F32", (0, 4), 256, 0),
    ]
    for t, (_, _, _, blob) in zip(scan.tensors, tensors, strict=True):
        assert content[t.begin : t.end] == blob


def test_version_2_and_missing_optional_keys() -> None:
    content = build_gguf([("general.architecture", STR, "bert")], version=2)
    assert scan_bytes(content).facts == {
        "gguf_version": 2,
        "architecture": "bert",
        "tensors": 0,
        "parameters": 0,
        "dtypes": [],
    }
    assert scan_bytes(build_gguf([])).facts == {
        "gguf_version": 3,
        "tensors": 0,
        "parameters": 0,
        "dtypes": [],
    }


def test_unknown_file_type_and_context_key_of_another_architecture() -> None:
    kvs: list[KV] = [
        ("falcon.context_length", U32, 8192),
        ("general.file_type", U32, 99),
        ("general.architecture", STR, "llama"),
    ]
    facts = scan_bytes(build_gguf(kvs)).facts
    assert facts["quantization"] == "type 99"
    assert "context_length" not in facts
    kvs.append(("llama.context_length", U64, 131072))
    assert scan_bytes(build_gguf(kvs)).facts["context_length"] == 131072
    kvs.append(("llama.context_length", U64, 2**64 - 1))  # the last one wins; not a TOML int
    assert "context_length" not in scan_bytes(build_gguf(kvs)).facts


def test_unknown_tensor_type_gives_facts_but_no_ranges() -> None:
    tensors: list[Tensor] = [("a", [4], T_F32, bytes(16)), ("b", [8, 2], 99, bytes(16))]
    scan = scan_bytes(build_gguf([], tensors))
    assert scan.facts["dtypes"] == ["F32", "type 99"]
    assert scan.facts["parameters"] == 20
    assert list(scan.tensors) == []


def test_long_string_facts_are_truncated() -> None:
    scan = scan_bytes(build_gguf([("general.name", STR, "n" * 5000)]))
    assert scan.facts["model_name"] == "n" * 256


def test_detection_by_magic_whatever_the_name(tmp_path: Path) -> None:
    (tmp_path / "weights.bin").write_bytes(build_gguf([("general.architecture", STR, "gpt2")]))
    (tmp_path / "not.gguf").write_bytes(b"GGML old format")
    (tmp_path / "broken.bin").write_bytes(b"GGUF\x03\x00\x00\x00")
    found = scan_file(tmp_path / "weights.bin")
    assert found is not None and found.facts["architecture"] == "gpt2"
    assert scan_file(tmp_path / "not.gguf") is None
    with pytest.raises(FormatError, match=r"^tensor count runs past the end of the file$"):
        scan_file(tmp_path / "broken.bin")


# --- the gguf package (llama.cpp's own writer and reader) agrees ------------------------------


def write_with_gguf_py(path: Path, file_type: int, endian: gguf_py.GGUFEndian) -> None:
    writer = gguf_py.GGUFWriter(str(path), "llama", endianess=endian)
    writer.add_name("tiny")
    writer.add_file_type(file_type)
    writer.add_context_length(4096)
    writer.add_token_list(["a", "bb", "ccc"])
    writer.add_token_scores([0.0, 1.0, 2.0])
    writer.add_array("misc.nested", [[1, 2], [3]])
    writer.add_tensor("tok.weight", np.arange(256, dtype=np.float32).reshape(4, 64))
    q8_0 = gguf_py.GGMLQuantizationType.Q8_0
    values = np.linspace(-1, 1, 2 * 64, dtype=np.float32).reshape(2, 64)
    writer.add_tensor("q8", gguf_py.quants.quantize(values, q8_0), raw_dtype=q8_0)
    q4_k = np.arange(2 * 144, dtype=np.uint8).reshape(2, 144)  # gguf-py cannot quantize to it
    writer.add_tensor("q4", q4_k, raw_dtype=gguf_py.GGMLQuantizationType.Q4_K)
    writer.add_tensor("h.bias", np.ones(3, dtype=np.float16))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


@pytest.mark.parametrize("endian", [gguf_py.GGUFEndian.LITTLE, gguf_py.GGUFEndian.BIG])
def test_matches_the_gguf_package(tmp_path: Path, endian: gguf_py.GGUFEndian) -> None:
    path = tmp_path / "m.gguf"
    write_with_gguf_py(path, gguf_py.LlamaFileType.MOSTLY_Q4_K_M, endian)
    scan = scan_file(path)
    assert scan is not None
    reader = gguf_py.GGUFReader(path)
    expected = sorted(
        (t.name, t.tensor_type.name, tuple(int(d) for d in t.shape), t.data_offset, t.n_bytes)
        for t in reader.tensors
    )
    got = sorted((t.name, t.dtype, t.shape, t.begin, t.end - t.begin) for t in scan.tensors)
    assert got == expected
    assert scan.facts == {
        "gguf_version": 3,
        "architecture": "llama",
        "model_name": "tiny",
        "quantization": "MOSTLY_Q4_K_M",
        "context_length": 4096,
        "tensors": 4,
        "parameters": sum(int(t.n_elements) for t in reader.tensors),
        "dtypes": ["F16", "F32", "Q4_K", "Q8_0"],
    }


def test_type_tables_match_the_gguf_package() -> None:
    for qtype in gguf_py.GGMLQuantizationType:
        if qtype.value in gguf.GGML_TYPES:
            block, size = gguf_py.GGML_QUANT_SIZES[qtype]
            assert gguf.GGML_TYPES[qtype.value] == (qtype.name, block, size)
    for ftype in gguf_py.LlamaFileType:
        if ftype.value in gguf.FILE_TYPES:
            assert gguf.FILE_TYPES[ftype.value] == ftype.name
    assert len(gguf.GGML_TYPES) == 40 and len(gguf.FILE_TYPES) == 39


# --- malformed and hostile headers ------------------------------------------------------------

MAGIC3 = b"GGUF" + struct.pack("<I", 3)


def counts(tensors: int, kvs: int) -> bytes:
    return MAGIC3 + struct.pack("<QQ", tensors, kvs)


def one_kv(key: bytes, value_type: int, payload: bytes) -> bytes:
    return counts(0, 1) + enc_str(key) + struct.pack("<I", value_type) + payload


def one_tensor(dims: Sequence[int], ggml_type: int = T_F32, name: bytes = b"w") -> bytes:
    info = enc_str(name) + struct.pack("<I", len(dims)) + struct.pack(f"<{len(dims)}Q", *dims)
    return counts(1, 0) + info + struct.pack("<IQ", ggml_type, 0)


def nested(depth: int) -> bytes:
    inner = struct.pack("<IQ", U8, 0)
    for _ in range(depth - 1):
        inner = struct.pack("<IQ", ARR, 1) + inner
    return inner


HOSTILE: list[tuple[bytes, str]] = [
    (b"GGU", "GGUF magic runs past the end of the file"),
    (b"GGUL" + bytes(20), "file does not start with the GGUF magic"),
    (b"GGUF" + struct.pack("<I", 1) + bytes(16), "GGUF version 1 is not supported (only 2 and 3)"),
    (b"GGUF" + struct.pack("<I", 4) + bytes(16), "GGUF version 4 is not supported (only 2 and 3)"),
    (MAGIC3 + b"\x00\x00", "tensor count runs past the end of the file"),
    (counts(2**40, 0), "tensor count 1099511627776 is over the limit of 65536"),
    (counts(0, 2**62), f"metadata count {2**62} is over the limit of 1048576"),
    (counts(0, 1), "metadata key 0 runs past the end of the file"),
    (
        counts(0, 1) + struct.pack("<Q", 2**63) + b"k",
        f"metadata key 0: {2**63}-byte string is over the limit of 65535",
    ),
    (counts(0, 1) + struct.pack("<Q", 100) + b"k", "metadata key 0 runs past the end of the file"),
    (one_kv(b"a", 13, b""), "metadata 'a': unknown value type 13"),
    (one_kv(b"a", U32, b"\x01"), "metadata 'a' runs past the end of the file"),
    (
        one_kv(b"general.name", STR, struct.pack("<Q", 2**64 - 1)),
        "metadata 'general.name' runs past the end of the file",
    ),
    (
        one_kv(b"x", STR, struct.pack("<Q", 2**40) + b"abc"),
        "metadata 'x' runs past the end of the file",
    ),
    (
        one_kv(b"x", ARR, struct.pack("<IQ", U8, 2**40)),
        "metadata 'x': array of 1099511627776 items is over the limit of 67108864",
    ),
    (
        one_kv(b"x", ARR, struct.pack("<IQ", U64, 2**26)),
        "metadata 'x' runs past the end of the file",
    ),
    (
        one_kv(b"x", ARR, struct.pack("<IQ", STR, 2**26) + enc_str("a")),
        "metadata 'x' runs past the end of the file",
    ),
    (
        one_kv(b"x", ARR, struct.pack("<IQ", STR, 2) + enc_str("a") + struct.pack("<Q", 2**50)),
        "metadata 'x' runs past the end of the file",
    ),
    (one_kv(b"x", ARR, struct.pack("<IQ", 13, 1)), "metadata 'x': unknown array item type 13"),
    (one_kv(b"x", ARR, nested(5)), "metadata 'x': arrays nested deeper than 4"),
    (
        one_kv(b"general.alignment", U32, struct.pack("<I", 48)),
        "general.alignment 48 is not a power of two",
    ),
    (
        one_kv(b"general.alignment", U32, struct.pack("<I", 0)),
        "general.alignment 0 is not a power of two",
    ),
    (
        one_kv(b"general.alignment", STR, enc_str("32")),
        "general.alignment '32' is not a power of two",
    ),
    (counts(1, 0), "tensor 0 name runs past the end of the file"),
    (
        counts(1, 0) + enc_str("n" * 2000),
        "tensor 0 name: 2000-byte string is over the limit of 1024",
    ),
    (
        counts(1, 0) + enc_str("w") + struct.pack("<I", 1),
        "tensor 'w' runs past the end of the file",
    ),
    (
        counts(1, 0) + enc_str("w") + struct.pack("<I", 9),
        "tensor 'w': 9 dimensions, over the limit of 8",
    ),
    (
        one_tensor([2**32, 2**32]),
        "tensor 'w': shape [4294967296, 4294967296] has too many elements",
    ),
    (one_tensor([4]), "tensor 'w': data runs past the end of the file"),
    (one_tensor([16], T_Q8_0), "tensor 'w': 16 is not a multiple of Q8_0's block size"),
    (
        build_gguf([], [("w", [2**31, 2**31], 99, b""), ("v", [2**31, 2**31], 99, b"")]),
        f"{2**63} parameters do not fit a 64-bit integer",
    ),
    (
        build_gguf([], [("w", [1], T_F32, bytes(4)), ("w", [1], T_F32, bytes(4))]),
        "two tensors have the same name",
    ),
]


@pytest.mark.parametrize(("content", "message"), HOSTILE, ids=[m for _, m in HOSTILE])
def test_hostile_headers_raise_format_error_without_big_allocations(
    content: bytes, message: str
) -> None:
    assert_refused_in_small_memory(lambda: scan_bytes(content), message)


def test_arrays_nest_four_deep_at_most() -> None:
    assert scan_bytes(one_kv(b"x", ARR, nested(4))).facts["tensors"] == 0
    with pytest.raises(FormatError, match=r"^metadata 'x': arrays nested deeper than 4$"):
        scan_bytes(one_kv(b"x", ARR, nested(5)))


def test_overlapping_tensors_are_refused() -> None:
    content = build_gguf([], [("a", [4], T_F32, bytes(16)), ("b", [4], T_F32, bytes(16))])
    # point b at a's bytes: rewrite b's offset (the last 8 bytes of its tensor info)
    at = content.index(enc_str("b")) + len(enc_str("b")) + 4 + 8 + 4
    content = content[:at] + struct.pack("<Q", 8) + content[at + 8 :]
    with pytest.raises(FormatError, match=r"^tensor 'b': data overlaps tensor 'a'$"):
        scan_bytes(content)


def test_every_truncation_raises_format_error() -> None:
    content = build_gguf(llama_kvs(), [q8_0_tensor("q", 1), ("f", [3], T_F16, bytes(6))])
    for n in range(len(content) - 26):  # the last 26 bytes are padding, not needed
        with pytest.raises(FormatError):
            scan_bytes(content[:n])
    assert scan_bytes(content[: len(content) - 26]).facts["tensors"] == 2


def test_random_corruption_never_escapes_as_another_error() -> None:
    content = build_gguf(llama_kvs(), [q8_0_tensor("q", 1), ("f", [3], T_F16, bytes(6))])
    rng = random.Random(7)
    outcomes = {"scanned": 0, "refused": 0}
    for _ in range(500):
        mutated = bytearray(content)
        for _ in range(rng.randint(1, 4)):
            mutated[rng.randrange(len(content) - 70)] = rng.randrange(256)
        try:
            scan_bytes(bytes(mutated))
            outcomes["scanned"] += 1
        except FormatError:
            outcomes["refused"] += 1
    assert min(outcomes.values()) > 50  # both paths really ran


# --- end to end -------------------------------------------------------------------------------


def format_section(pointer_text: str) -> str:
    start = pointer_text.index("[format]")
    return pointer_text[start : pointer_text.index("\n\n", start) + 1]


def test_add_writes_facts_and_tensor_manifest_and_diff_shows_changed_facts(repo: Path) -> None:
    q8: list[Tensor] = [("tok.weight", [4, 2], T_F32, bytes(range(32))), q8_0_tensor("q", 2)]
    content = build_gguf(llama_kvs(file_type=7), q8)
    (repo / "model.gguf").write_bytes(content)
    gm_ok(repo, "add", "model.gguf")
    text = (repo / "model.gguf.gitmodel").read_text()
    pointer = parse_pointer(text.encode())
    assert pointer.format is not None
    manifest = pointer.format.facts["manifest"]
    assert isinstance(manifest, str)
    assert format_section(text) == (
        "[format]\n"
        'name = "gguf"\n'
        'architecture = "llama"\n'
        "context_length = 2048\n"
        'dtypes = ["F32", "Q8_0"]\n'
        "gguf_version = 3\n"
        f'manifest = "{manifest}"\n'
        'model_name = "Tiny Llama"\n'
        "parameters = 72\n"
        'quantization = "MOSTLY_Q8_0"\n'
        "tensors = 2\n"
    )
    doc = json.loads(object_path(repo, manifest).read_bytes())
    assert doc["format"] == "gguf"
    assert [(t["name"], t["dtype"], t["shape"]) for t in doc["tensors"]] == [
        ("q", "Q8_0", [32, 2]),
        ("tok.weight", "F32", [4, 2]),
    ]
    for t in doc["tensors"]:
        assert t["oid"] == xxh(content[t["begin"] : t["end"]])
    git(repo, "add", "model.gguf.gitmodel", ".gitignore")
    git(repo, "commit", "-q", "-m", "q8")

    q4: list[Tensor] = [q8[0], ("q", [256, 1], T_Q4_K, bytes(144))]
    (repo / "model.gguf").write_bytes(build_gguf(llama_kvs(file_type=15), q4))
    gm_ok(repo, "add", "model.gguf")
    out = gm_ok(repo, "diff").splitlines()
    assert (
        "  format:   dtypes F32,Q8_0 -> F32,Q4_K, parameters 72 -> 264, "
        "quantization MOSTLY_Q8_0 -> MOSTLY_Q4_K_M"
    ) in out
    assert "  tensors:  1 changed dtype/shape: q" in out


def test_add_warns_on_a_broken_gguf_and_stores_it_without_facts(repo: Path) -> None:
    content = build_gguf(llama_kvs(), [("w", [4], T_F32, bytes(16))])[:-32]
    (repo / "bad.gguf").write_bytes(content)
    proc = gm(repo, "add", "bad.gguf")
    assert proc.returncode == 0
    assert proc.stderr == (
        "warning: bad.gguf: not read as gguf: tensor 'w': data runs past the end of the file\n"
    )
    pointer = parse_pointer((repo / "bad.gguf.gitmodel").read_bytes())
    assert pointer.format is None
    assert pointer.oid == xxh(content)


def test_many_unknown_types_keep_the_dtypes_fact_small() -> None:
    tensors: list[Tensor] = [(f"t{i}", [1], 100 + i, b"") for i in range(100)]
    facts = scan_bytes(build_gguf([("general.name", STR, "\x01" * 999)], tensors)).facts
    assert facts["dtypes"] == sorted(f"type {100 + i}" for i in range(100))[:64]
    assert facts["model_name"] == "\x01" * 256
