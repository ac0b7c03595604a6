"""Packs: encodings, pack and index files, recipes, reassembly, and refusal of corrupt bytes."""

from __future__ import annotations

import random
import re
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

from gitmodel.errors import CorruptObjectError, InstallationError, ObjectMissingError
from gitmodel.packs import require
from gitmodel.packs.chunking import Chunk, chunk_file, chunk_id
from gitmodel.packs.encoding import (
    Encoded,
    Encoding,
    Link,
    add_values,
    compress_planes,
    decode_chain,
    decode_chain_into,
    decode_chunk,
    encode_chunk,
    plane_width,
    sub_values,
    xor_bytes,
)
from gitmodel.packs.packfile import (
    ENTRY,
    INDEX_HEADER,
    MAX_CHAIN_DEPTH,
    RECORD,
    PackStore,
    PackWriter,
    Record,
    decode_index,
    encode_index,
    load_index,
    verify_pack,
)
from gitmodel.packs.recipe import decode_recipe, encode_recipe, reassemble, recipe_of

HINT = "run `git model fsck`; fetch the object again from a remote that has it"


def weights(seed: int, n: int = 1 << 16) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal(n) * 0.02).astype(np.float16)


def tuned(w: np.ndarray, seed: int) -> np.ndarray:
    noise = np.random.default_rng(seed).standard_normal(w.shape) * 1e-3
    return (w.astype(np.float32) + noise).astype(np.float16)


def test_byte_planes_and_deltas_shrink_weights_and_decode_exactly() -> None:
    a = weights(0)
    b = tuned(a, 1)
    raw_a, raw_b = a.tobytes(), b.tobytes()
    whole = encode_chunk(raw_b, plane_width("F16", len(raw_b)))
    assert whole.encoding == Encoding.PLANES_ZSTD and whole.width == 2
    assert len(whole.payload) < 0.9 * len(raw_b)
    delta = encode_chunk(raw_b, 2, raw_a)
    assert delta.encoding == Encoding.SUB_PLANES_ZSTD
    assert len(delta.payload) < 0.7 * len(raw_b)
    xor = Encoded(Encoding.XOR_PLANES_ZSTD, 2, compress_planes(xor_bytes(raw_b, raw_a), 2, 1))
    assert len(delta.payload) < len(xor.payload)
    assert encode_chunk(raw_b, 2, raw_a, thorough=True) == delta  # the smaller of the two
    for encoded in (whole, delta, xor):
        assert decode_chunk(encoded, len(raw_b), chunk_id(raw_b), raw_a) == raw_b


def bf16(values: np.ndarray) -> np.ndarray:
    """float32 -> bfloat16 bit patterns, rounded to nearest even (as benchmarks/ does)."""
    bits = values.astype(np.float32).view(np.uint32)
    return ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)


def test_a_bf16_fine_tune_is_stored_as_a_difference_much_smaller_than_its_xor() -> None:
    rng = np.random.default_rng(5)
    values = rng.standard_normal(1 << 16).astype(np.float32) * 0.02
    old = bf16(values)
    new = bf16((old.astype(np.uint32) << 16).view(np.float32) + rng.standard_normal(1 << 16) * 1e-4)
    raw_old, raw_new = old.tobytes(), new.tobytes()
    delta = encode_chunk(raw_new, 2, raw_old, thorough=True)
    assert delta.encoding == Encoding.SUB_PLANES_ZSTD
    xor = compress_planes(xor_bytes(raw_new, raw_old), 2, 1)
    assert len(delta.payload) < 0.92 * len(xor)
    assert decode_chunk(delta, len(raw_new), chunk_id(raw_new), raw_old) == raw_new


def test_xor_is_chosen_when_it_is_smaller_but_only_by_a_thorough_writer(tmp_path: Path) -> None:
    # Flipped signs: one bit of XOR, but a difference of 0x8000 in both bytes of a value.
    base = weights(0).tobytes()
    signs = np.zeros(1 << 16, dtype=np.uint16)
    signs[np.random.default_rng(1).random(1 << 16) < 0.3] = 0x8000
    data = xor_bytes(base, signs.tobytes())
    thorough = encode_chunk(data, 2, base, thorough=True)
    assert thorough.encoding == Encoding.XOR_PLANES_ZSTD
    assert len(thorough.payload) < len(compress_planes(sub_values(data, base, 2), 2, 1))
    assert encode_chunk(data, 2, base).encoding == Encoding.SUB_PLANES_ZSTD  # a push's
    assert decode_chunk(thorough, len(data), chunk_id(data), base) == data
    for thorough_writer, expected in ((True, Encoding.XOR_PLANES_ZSTD), (False, SUB)):
        writer = PackWriter(tmp_path / str(thorough_writer), thorough=thorough_writer)
        writer.add(chunk_id(base), base, 2, None)
        assert writer.add(chunk_id(data), data, 2, (chunk_id(base), base, 0)).encoding == expected
        writer.close()


@pytest.mark.parametrize("width", [1, 2, 4, 8])
def test_differences_round_trip_exactly_across_wrap_around(width: int) -> None:
    rng = random.Random(width)
    base = rng.randbytes(4096 * width)
    # each value of `data` is its base value plus a small step of either sign, plus extremes
    steps = np.array([rng.randint(-3, 3) for _ in range(4096)], dtype=f"<i{width}")
    values = np.frombuffer(base, dtype=f"<u{width}") + steps.view(f"<u{width}")
    values[:4] = np.array([0, 1, -1, -(2 ** (8 * width - 1))], dtype=f"<i{width}").view(
        f"<u{width}"
    )
    data = values.tobytes()
    zigzag = sub_values(data, base, width)
    assert add_values(zigzag, base, width) == data
    high = np.frombuffer(zigzag, dtype=f"<u{width}")[4:] >> 3
    assert not high.any()  # steps of -3..3 zigzag to 0..6: the high bits are zeros
    delta = Encoded(Encoding.SUB_PLANES_ZSTD, width, compress_planes(zigzag, width, 1))
    assert decode_chunk(delta, len(data), chunk_id(data), base) == data


def test_random_bytes_are_stored_as_is_and_text_is_compressed() -> None:
    noise = random.Random(3).randbytes(10_000)
    assert encode_chunk(noise, 1).encoding == Encoding.STORED
    text = b"the same line again\n" * 500
    assert encode_chunk(text, 1).encoding == Encoding.PLANES_ZSTD
    assert plane_width("F32", 6) == 1 and plane_width("F32", 8) == 4 and plane_width(None, 8) == 1


def test_decoding_to_other_bytes_is_refused() -> None:
    data = weights(0).tobytes()
    encoded = encode_chunk(data, 2)
    wrong = chunk_id(b"other")
    with pytest.raises(CorruptObjectError) as info:
        decode_chunk(encoded, len(data), wrong)
    assert info.value.message == f"chunk {wrong.hex()} does not hash to its id"
    assert info.value.hint == HINT


def pack_versions(directory: Path, versions: list[bytes]) -> list[bytes]:
    """Each version a chunk of F16 values delta'ed against the one before; returns the ids."""
    writer = PackWriter(directory)
    ids: list[bytes] = []
    for data in versions:
        base = (ids[-1], versions[len(ids) - 1], writer.depths[ids[-1]]) if ids else None
        ids.append(chunk_id(data))
        writer.add(ids[-1], data, 2, base)
    writer.close()
    return ids


def test_pack_round_trip_with_a_bounded_delta_chain(tmp_path: Path) -> None:
    versions = [weights(0)]
    for seed in range(1, MAX_CHAIN_DEPTH + 3):
        versions.append(tuned(versions[-1], seed))
    raw = [v.tobytes() for v in versions]
    ids = pack_versions(tmp_path, raw)
    (idx,) = tmp_path.glob("pack-*.idx")
    assert sorted(p.name for p in tmp_path.iterdir()) == [idx.stem + ".idx", idx.stem + ".pack"]
    store = PackStore(tmp_path)
    depths = [store.locate(i)[1].depth for i in ids]  # type: ignore[index]
    # the chain restarts with a whole chunk once it reaches the limit
    assert depths == [*range(MAX_CHAIN_DEPTH + 1), 0, 1]
    assert [store.read_chunk(i) for i in ids] == raw
    verify_pack(idx.with_suffix(".pack"), load_index(idx))


def test_packs_close_at_the_target_size_and_a_chunk_is_found_in_any(tmp_path: Path) -> None:
    writer = PackWriter(tmp_path, target_size=100_000)
    chunks = [random.Random(i).randbytes(40_000) for i in range(7)]
    for data in chunks:
        writer.add(chunk_id(data), data, 1, None)
    assert len(writer.close()) == 3  # 2 + 2 + 2 + 1 chunks: the third add crosses 100 kB
    store = PackStore(tmp_path)
    assert len(store.indexes) == 3
    assert [store.read_chunk(chunk_id(d)) for d in chunks] == chunks
    missing = chunk_id(b"not packed")
    with pytest.raises(ObjectMissingError, match=f"^chunk {missing.hex()} is in no pack$"):
        store.read_chunk(missing)


def test_an_aborted_pack_leaves_nothing_a_reader_sees(tmp_path: Path) -> None:
    writer = PackWriter(tmp_path)
    writer.add(chunk_id(b"x"), b"x", 1, None)
    assert [p.name.startswith("tmp-pack-") for p in tmp_path.iterdir()] == [True]
    assert PackStore(tmp_path).indexes == []  # not yet renamed: invisible
    writer.abort()
    assert list(tmp_path.iterdir()) == []


def flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x40
    path.chmod(0o644)
    path.write_bytes(bytes(data))


@pytest.fixture
def packed(tmp_path: Path) -> tuple[Path, list[bytes], list[bytes]]:
    raw = [weights(0).tobytes()]
    raw.append(tuned(weights(0), 1).tobytes())
    ids = pack_versions(tmp_path, raw)
    return tmp_path, ids, raw


def test_a_flipped_payload_byte_is_refused(packed: tuple[Path, list[bytes], list[bytes]]) -> None:
    directory, ids, _ = packed
    (pack,) = directory.glob("*.pack")
    record = PackStore(directory).locate(ids[0])[1]  # type: ignore[index]
    flip(pack, record.offset + ENTRY.size + 100)
    store = PackStore(directory)  # the trailer is intact: the index still loads
    for wanted in ids:  # the corrupt chunk, and the delta whose base it is
        with pytest.raises(CorruptObjectError) as info:
            store.read_chunk(wanted)
        assert re.fullmatch(
            rf"chunk ({ids[0].hex()} does not decompress: .*"
            rf"|({wanted.hex()}|{ids[0].hex()}) does not hash to its id)",
            info.value.message,
        )
    with pytest.raises(CorruptObjectError, match="its checksum does not match its bytes"):
        verify_pack(pack, store.indexes[0])


def test_a_flipped_entry_header_byte_is_refused(
    packed: tuple[Path, list[bytes], list[bytes]],
) -> None:
    directory, ids, _ = packed
    (pack,) = directory.glob("*.pack")
    record = PackStore(directory).locate(ids[1])[1]  # type: ignore[index]
    flip(pack, record.offset + 17)  # the plane width
    with pytest.raises(CorruptObjectError) as info:
        PackStore(directory).read_chunk(ids[1])
    assert info.value.message == (
        f"pack {pack.name}: chunk {ids[1].hex()} is corrupt: "
        "its entry header does not match the index"
    )


def test_a_flipped_trailer_byte_makes_the_pack_unreadable(
    packed: tuple[Path, list[bytes], list[bytes]],
) -> None:
    directory, _, _ = packed
    (pack,) = directory.glob("*.pack")
    flip(pack, pack.stat().st_size - 1)
    with pytest.raises(CorruptObjectError) as info:
        PackStore(directory)
    assert info.value.message == (
        f"pack {pack.name} is corrupt: its checksum does not match its index"
    )


@pytest.mark.parametrize("offset", [0, INDEX_HEADER.size + 3, INDEX_HEADER.size + RECORD.size])
def test_a_flipped_index_byte_is_refused(
    packed: tuple[Path, list[bytes], list[bytes]], offset: int
) -> None:
    directory, _, _ = packed
    (idx,) = directory.glob("*.idx")
    flip(idx, offset)
    with pytest.raises(CorruptObjectError) as info:
        PackStore(directory)
    assert info.value.message == (
        f"index {idx.name} is corrupt: its checksum does not match its bytes"
    )
    assert info.value.hint == HINT


def test_an_index_for_another_pack_is_refused(
    packed: tuple[Path, list[bytes], list[bytes]],
) -> None:
    directory, _, _ = packed
    (idx,) = directory.glob("*.idx")
    idx.rename(directory / ("pack-" + "0" * 32 + ".idx"))
    with pytest.raises(CorruptObjectError, match=r"is corrupt: it names another pack$"):
        PackStore(directory)


def write_checkpoint(path: Path, seed: int) -> None:
    tensors = {f"layer.{i}.weight": weights(seed * 100 + i, 4096).reshape(64, 64) for i in range(4)}
    tensors["norm"] = np.ones(64, dtype=np.float32)
    save_file(tensors, str(path), metadata={"seed": str(seed)})


def pack_file(path: Path, writer: PackWriter) -> bytes:
    """Chunk a file into `writer` (skipping chunks it already has); the encoded recipe."""

    def sink(chunk: Chunk) -> None:
        if chunk.id not in writer.depths:
            writer.add(
                chunk.id,
                chunk.data,
                plane_width(chunk.tensor and chunk.tensor.dtype, len(chunk.data)),
                None,
            )

    return encode_recipe(recipe_of(chunk_file(path, sink)))


def test_files_round_trip_through_recipes_and_packs(tmp_path: Path) -> None:
    files = [tmp_path / "a.safetensors", tmp_path / "b.safetensors", tmp_path / "c.bin"]
    write_checkpoint(files[0], 1)
    write_checkpoint(files[1], 2)
    files[2].write_bytes(random.Random(5).randbytes(500_000))
    writer = PackWriter(tmp_path / "packs")
    recipes = [pack_file(f, writer) for f in files]
    writer.close()
    store = PackStore(tmp_path / "packs")
    for path, encoded in zip(files, recipes, strict=True):
        recipe = decode_recipe(encoded)
        out = tmp_path / "out" / path.name
        out.parent.mkdir(exist_ok=True)
        reassemble(recipe, store.read_chunk, out)
        assert out.read_bytes() == path.read_bytes()
    first = decode_recipe(recipes[0])
    assert sorted(t.name for t in first.tensors) == [f"layer.{i}.weight" for i in range(4)] + [
        "norm"
    ]
    assert len(first.chunks) == 6


def test_a_flipped_recipe_byte_is_refused(tmp_path: Path) -> None:
    write_checkpoint(tmp_path / "a.safetensors", 1)
    encoded = bytearray(pack_file(tmp_path / "a.safetensors", PackWriter(tmp_path / "p")))
    for offset in (0, 10, len(encoded) // 2, len(encoded) - 1):
        corrupt = bytearray(encoded)
        corrupt[offset] ^= 1
        with pytest.raises(CorruptObjectError) as info:
            decode_recipe(bytes(corrupt), "recipe of a.safetensors")
        assert info.value.message == (
            "recipe of a.safetensors is corrupt: its checksum does not match its bytes"
        )


def test_a_reassembled_file_that_does_not_match_its_oid_never_reaches_the_target(
    tmp_path: Path,
) -> None:
    write_checkpoint(tmp_path / "a.safetensors", 1)
    writer = PackWriter(tmp_path / "p")
    recipe = decode_recipe(pack_file(tmp_path / "a.safetensors", writer))
    writer.close()
    store = PackStore(tmp_path / "p")
    lying = type(recipe)("xxh128:" + "0" * 32, recipe.size, recipe.tensors, recipe.chunks)
    target = tmp_path / "out.safetensors"
    with pytest.raises(CorruptObjectError) as info:
        reassemble(lying, store.read_chunk, target)
    assert info.value.message.startswith(f"file reassembled from the recipe of {lying.oid} hashes")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.safetensors", "p"]


def test_a_chain_whose_depths_do_not_step_down_by_one_is_refused(tmp_path: Path) -> None:
    base, data = weights(0).tobytes(), tuned(weights(0), 1).tobytes()
    writer = PackWriter(tmp_path)
    writer.add(chunk_id(base), base, 2, None)
    delta = encode_chunk(data, 2, base)
    writer.add_encoded(chunk_id(data), len(data), delta, chunk_id(base), depth=3)
    writer.close()
    (pack,) = tmp_path.glob("*.pack")
    with pytest.raises(CorruptObjectError) as info:
        PackStore(tmp_path).read_chunk(chunk_id(data))
    assert info.value.message == (
        f"pack {pack.name}: chunk {chunk_id(base).hex()} is corrupt: "
        "delta chain depth 0, its delta needs 2"
    )


def test_an_index_record_deeper_than_the_limit_is_refused(tmp_path: Path) -> None:
    record = Record(b"\x01" * 16, 8, 100, Encoding.XOR_PLANES_ZSTD, 2, 11, b"\x02" * 16, 40)
    data = encode_index(bytes(16), [record])
    with pytest.raises(CorruptObjectError) as info:
        decode_index(data, tmp_path / "p.pack", "index p.idx")
    assert info.value.message == (
        f"index p.idx: chunk {'01' * 16} is corrupt: "
        f"delta chain depth 11 is over the limit of {MAX_CHAIN_DEPTH}"
    )


def test_a_missing_library_that_packs_need_says_how_to_install_it() -> None:
    with pytest.raises(InstallationError) as info:
        require("gitmodel_no_such_module")
    assert info.value.message == (
        "packs need the Python package 'gitmodel_no_such_module', which is not installed"
    )
    assert info.value.hint == (
        "reinstall git-model with its dependencies: pip install --force-reinstall git-model"
    )


def test_a_chunk_added_twice_is_written_once_and_packs_are_read_only(tmp_path: Path) -> None:
    data = b"the same chunk"
    with PackWriter(tmp_path) as writer:
        first = writer.add(chunk_id(data), data, 1, None)
        assert writer.add(chunk_id(data), data, 1, None) is first
    (idx,) = tmp_path.glob("*.idx")
    assert load_index(idx).ids == [chunk_id(data)]
    assert {p.stat().st_mode & 0o777 for p in tmp_path.iterdir()} == {0o444}


def test_a_writer_left_by_an_error_leaves_no_pack(tmp_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt), PackWriter(tmp_path) as writer:
        writer.add(chunk_id(b"x"), b"x", 1, None)
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_a_recipe_of_another_file_is_refused(tmp_path: Path) -> None:
    write_checkpoint(tmp_path / "a.safetensors", 1)
    encoded = pack_file(tmp_path / "a.safetensors", PackWriter(tmp_path / "p"))
    real = decode_recipe(encoded).oid
    other = "xxh128:" + "1" * 32
    with pytest.raises(CorruptObjectError) as info:
        decode_recipe(encoded, f"recipe {other}", other)
    assert info.value.message == f"recipe {other} is corrupt: it describes {real}, not {other}"
    assert decode_recipe(encoded, "recipe", real).oid == real


def delta_as(encoding: Encoding, data: bytes, base: bytes, width: int) -> Encoded:
    if encoding == Encoding.XOR_PLANES_ZSTD:
        values = xor_bytes(data, base)
    else:
        values = sub_values(data, base, width)
    return Encoded(encoding, width, compress_planes(values, width, 1))


XOR, SUB = Encoding.XOR_PLANES_ZSTD, Encoding.SUB_PLANES_ZSTD


@pytest.mark.parametrize(
    ("widths", "encodings"),
    [
        ((2, 2, 2), (XOR, XOR)),
        ((2, 2, 2), (SUB, SUB)),
        ((2, 2, 2), (XOR, SUB)),
        ((2, 2, 2), (SUB, XOR)),
        ((1, 2, 2), (SUB, SUB)),
        ((2, 1, 2), (XOR, XOR)),
        ((2, 2, 4), (SUB, SUB)),
    ],
)
def test_a_chain_decodes_to_each_version_whatever_the_widths(
    widths: tuple[int, ...], encodings: tuple[Encoding, ...]
) -> None:
    versions = [weights(0)]
    for seed in (1, 2):
        versions.append(tuned(versions[-1], seed))
    raw = [v.tobytes() for v in versions]
    links = [Link(encode_chunk(raw[0], widths[0]), len(raw[0]), chunk_id(raw[0]))]
    for i in (1, 2):
        delta = delta_as(encodings[i - 1], raw[i], raw[i - 1], widths[i])
        links.insert(0, Link(delta, len(raw[i]), chunk_id(raw[i])))
    assert decode_chain(links) == raw[2]
    assert decode_chain(links[1:]) == raw[1]


@pytest.mark.parametrize("width", [1, 2, 4, 8])
def test_a_chain_decodes_into_a_buffer_as_into_bytes(width: int) -> None:
    """decode_chain_into (checkout's path) gives the bytes decode_chain gives, for each plane
    width, a chunk stored whole and a chain of deltas; a damaged link is refused by name."""
    versions = [weights(0)]
    for seed in (1, 2, 3):
        versions.append(tuned(versions[-1], seed))
    raw = [v.tobytes() for v in versions]
    links = [Link(encode_chunk(raw[0], width), len(raw[0]), chunk_id(raw[0]))]
    for i in (1, 2, 3):
        links.insert(
            0, Link(encode_chunk(raw[i], width, raw[i - 1]), len(raw[i]), chunk_id(raw[i]))
        )
    for depth in range(4):
        chain = links[3 - depth :]
        out = np.empty(len(raw[depth]), dtype=np.uint8)
        decode_chain_into(chain, out)
        assert out.tobytes() == raw[depth] == decode_chain(chain)
    payload = bytearray(links[1].encoded.payload)
    payload[-3] ^= 0x40
    damaged = Link(
        Encoded(links[1].encoded.encoding, width, bytes(payload)), links[1].size, links[1].id
    )
    with pytest.raises(CorruptObjectError) as info:
        decode_chain_into([links[0], damaged, *links[2:]], np.empty(len(raw[3]), dtype=np.uint8))
    assert info.value.message == (
        f"chunk {links[0].id.hex()} does not hash to its id"  # a zstd literal changed
        if width == 1
        else f"chunk {damaged.id.hex()} does not decompress: "
        "decompression error: Data corruption detected"
    )
    assert info.value.hint == HINT
