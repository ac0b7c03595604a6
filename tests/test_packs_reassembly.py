"""Reassembly of a packed file (gitmodel/packs/reassembly.py): chunks decoded ahead on threads
into reused buffers, written in order, and renamed into place only when the file hashes to
its oid; on any error nothing reaches the target and no temp file is left."""

from __future__ import annotations

import os
import random
import stat
from pathlib import Path
from typing import Any

import pytest
import xxhash

from gitmodel.errors import CorruptObjectError
from gitmodel.packs import reassembly
from gitmodel.packs.reassembly import reassemble_decoded
from gitmodel.packs.recipe import NO_TENSOR, Recipe, RecipeChunk

HINT = "run `git model fsck`; fetch the object again from a remote that has it"


def recipe_of_pieces(pieces: list[bytes]) -> Recipe:
    data = b"".join(pieces)
    chunks = tuple(RecipeChunk(xxhash.xxh3_128_digest(p), len(p), NO_TENSOR, 0) for p in pieces)
    return Recipe("xxh128:" + xxhash.xxh3_128_hexdigest(data), len(data), (), chunks)


def pieces_of_many_sizes() -> list[bytes]:
    """Chunks growing then shrinking (1 byte to 3 MiB): buffers are reused and replaced."""
    rng = random.Random(7)
    sizes = [1, 10, 3 << 20, 5000, 2 << 20, 3 << 20, 1 << 20, 17, 3 << 20, 64, 2 << 20, 9]
    return [rng.randbytes(size) for size in sizes * 3]


def decoder(pieces: list[bytes]) -> Any:
    by_id = {xxhash.xxh3_128_digest(p): p for p in pieces}

    def decode_into(chunk: bytes, out: Any) -> None:
        out[:] = memoryview(by_id[chunk])

    return decode_into


def test_a_file_of_chunks_of_many_sizes_is_rebuilt_byte_for_byte(tmp_path: Path) -> None:
    pieces = pieces_of_many_sizes()
    recipe = recipe_of_pieces(pieces)
    target = tmp_path / "model.bin"
    st = reassemble_decoded(recipe, decoder(pieces), target, tmp_path / "temp", 0o640, sync=False)
    assert target.read_bytes() == b"".join(pieces)
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o640
    assert (st.st_ino, st.st_size) == (os.stat(target).st_ino, recipe.size)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.bin"]


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_chunks_come_out_in_file_order_whatever_the_threads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, threads: int
) -> None:
    monkeypatch.setattr(reassembly, "DECODE_THREADS", threads)
    pieces = pieces_of_many_sizes()
    target = tmp_path / "model.bin"
    reassemble_decoded(
        recipe_of_pieces(pieces), decoder(pieces), target, tmp_path / "t", 0o644, sync=True
    )
    assert target.read_bytes() == b"".join(pieces)


def test_a_chunk_that_fails_to_decode_leaves_the_target_as_it_was(tmp_path: Path) -> None:
    pieces = pieces_of_many_sizes()
    target = tmp_path / "model.bin"
    target.write_bytes(b"the version before")
    good = decoder(pieces)
    bad = xxhash.xxh3_128_digest(pieces[20])

    def decode_into(chunk: bytes, out: Any) -> None:
        if chunk == bad:
            raise CorruptObjectError(f"chunk {chunk.hex()} does not hash to its id", HINT)
        good(chunk, out)

    with pytest.raises(CorruptObjectError) as info:
        reassemble_decoded(
            recipe_of_pieces(pieces), decode_into, target, tmp_path / "t", 0o644, sync=False
        )
    assert info.value.message == f"chunk {bad.hex()} does not hash to its id"
    assert target.read_bytes() == b"the version before"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.bin"]


def test_a_file_that_does_not_hash_to_its_oid_never_reaches_the_target(tmp_path: Path) -> None:
    pieces = pieces_of_many_sizes()
    recipe = recipe_of_pieces(pieces)
    wrong = Recipe("xxh128:" + "0" * 32, recipe.size, (), recipe.chunks)
    target = tmp_path / "model.bin"
    with pytest.raises(CorruptObjectError) as info:
        reassemble_decoded(wrong, decoder(pieces), target, tmp_path / "t", 0o644, sync=False)
    assert info.value.message == (
        f"file reassembled from the recipe of {wrong.oid} hashes to {recipe.oid}"
    )
    assert info.value.hint == HINT
    assert list(tmp_path.iterdir()) == []
