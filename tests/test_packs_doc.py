"""docs/pack-format.md: the writer reproduces the recipe, pack and index examples byte for
byte, and the reader decodes the encoding example."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gitmodel.packs.chunking import Chunk, chunk_file, chunk_id
from gitmodel.packs.encoding import (
    PLANES_LEVEL,
    Encoded,
    Encoding,
    compress_planes,
    decode_chunk,
    plane_width,
    sub_values,
)
from gitmodel.packs.packfile import PackStore, PackWriter
from gitmodel.packs.recipe import decode_recipe, encode_recipe, recipe_of
from tests.helpers import write_safetensors

DOC = Path(__file__).resolve().parent.parent / "docs" / "pack-format.md"
PACK = "pack-e64856617d628cbe59b8b6cecf4bad6d"


def examples() -> dict[str, bytes]:
    """Each ```hex block by the name on its first line, comments and spaces dropped."""
    text = DOC.read_text(encoding="utf-8")
    found = {}
    for block in re.findall(r"^```hex\n(.*?)^```$", text, flags=re.S | re.M):
        first, _, rest = block.partition("\n")
        digits = "".join(line.split("#")[0] for line in rest.splitlines())
        found[first.removeprefix("# ")] = bytes.fromhex(digits.replace(" ", ""))
    return found


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.safetensors"
    write_safetensors(path, {"w": ("F16", [2], bytes.fromhex("003c00c0"))})
    return path


def test_doc_has_the_examples() -> None:
    assert sorted(examples()) == ["index", "pack", "recipe", "sub payload", "xor payload"]


def test_recipe_pack_and_index_examples_are_what_the_writer_writes(
    tiny: Path, tmp_path: Path
) -> None:
    writer = PackWriter(tmp_path / "packs")

    def sink(chunk: Chunk) -> None:
        width = plane_width(chunk.tensor.dtype if chunk.tensor else None, len(chunk.data))
        writer.add(chunk.id, chunk.data, width, None)

    chunked = chunk_file(tiny, sink)
    assert chunked.oid == "xxh128:62f71c555f2c43cdc6cc891a67ed7665"
    assert writer.close() == [PACK]
    doc = examples()
    assert encode_recipe(recipe_of(chunked)) == doc["recipe"]
    assert (tmp_path / "packs" / f"{PACK}.pack").read_bytes() == doc["pack"]
    assert (tmp_path / "packs" / f"{PACK}.idx").read_bytes() == doc["index"]
    assert len(doc["recipe"]) == 128 and len(doc["pack"]) == 212 and len(doc["index"]) == 176
    recipe = decode_recipe(doc["recipe"])
    store = PackStore(tmp_path / "packs")
    assert b"".join(store.read_chunk(c.id) for c in recipe.chunks) == tiny.read_bytes()


def test_the_xor_example_decodes_to_the_new_version() -> None:
    base, new = bytes.fromhex("003c00c0"), bytes.fromhex("003c00c1")
    encoded = Encoded(Encoding.XOR_PLANES_ZSTD, 2, examples()["xor payload"])
    assert decode_chunk(encoded, 4, chunk_id(new), base) == new


def test_the_difference_example_is_what_the_writer_splits_and_decodes_to_the_new_version() -> None:
    base, new = bytes.fromhex("003c00c0"), bytes.fromhex("003c00c1")
    payload = examples()["sub payload"]
    assert compress_planes(sub_values(new, base, 2), 2, PLANES_LEVEL) == payload
    encoded = Encoded(Encoding.SUB_PLANES_ZSTD, 2, payload)
    assert decode_chunk(encoded, 4, chunk_id(new), base) == new
