"""The local cache's packs (gitmodel/packs/store.py): recipes, packing loose objects, reading
chunks, unpacking, and refusal of damaged packs, indexes and recipes."""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

from gitmodel.cache.objects import ObjectStore
from gitmodel.errors import CorruptObjectError, ObjectMissingError
from gitmodel.packs.chunking import chunk_id
from gitmodel.packs.encoding import Encoding
from gitmodel.packs.store import LOCAL_MAX_DEPTH, LocalPacks, chains

HINT = "run `git model fsck`; fetch the object again from a remote that has it"


def checkpoint(path: Path, seed: int, step: int = 0) -> Path:
    """A small F16 checkpoint: version `step` of a fine-tune that nudges every tensor."""
    rng = np.random.default_rng(seed)
    tensors = {
        f"layer{i}.weight": (rng.standard_normal((64, 64)) * 0.02).astype(np.float32)
        for i in range(3)
    }
    tensors["head.bias"] = np.zeros(64, dtype=np.float32)
    for s in range(1, step + 1):
        noise = np.random.default_rng(1000 + s)
        for name in list(tensors):
            if name != "head.bias":
                tensors[name] = tensors[name] + noise.standard_normal((64, 64)) * 1e-3
    save_file({k: v.astype(np.float16) for k, v in tensors.items()}, str(path))
    return path


def ingest(store: ObjectStore, path: Path) -> str:
    return store.ingest(path, ["copy"]).digest.oid


def setup(tmp_path: Path, count: int = 3) -> tuple[ObjectStore, LocalPacks, list[str], list[bytes]]:
    """`count` versions of a checkpoint and one text file in a fresh cache, recipes stored."""
    store = ObjectStore(tmp_path / "cache")
    packs = LocalPacks(store.root)
    oids, contents = [], []
    for step in range(count):
        path = checkpoint(tmp_path / f"v{step}.safetensors", 0, step)
        oids.append(ingest(store, path))
        contents.append(path.read_bytes())
    text = tmp_path / "notes.txt"
    text.write_bytes(random.Random(1).randbytes(300_000) + b"the end\n" * 20_000)
    oids.append(ingest(store, text))
    contents.append(text.read_bytes())
    for oid in oids:
        packs.recipe_or_chunk(oid, store)
    return store, packs, oids, contents


def pack_all(store: ObjectStore, packs: LocalPacks, oids: list[str]) -> list[str]:
    recipes = [packs.recipe_or_chunk(oid, store) for oid in reversed(oids)]  # newest first

    def read_raw(chunk: bytes) -> bytes:
        data = packs.read_chunk(chunk)
        assert data is not None
        return data

    return packs.write_packs(recipes, read_raw)


def drop_loose(store: ObjectStore, oids: list[str]) -> None:
    for oid in oids:
        store.path(oid).unlink()


def leftovers(store: ObjectStore) -> list[str]:
    """Files in the cache's tmp/ other than this process's owner file."""
    return sorted(p.name for p in store.tmp_dir.iterdir() if not p.name.endswith(".owner"))


def test_safetensors_and_other_files_round_trip_through_packs(tmp_path: Path) -> None:
    store, packs, oids, contents = setup(tmp_path)
    assert not any(packs.is_packed(oid) for oid in oids)
    names = pack_all(store, packs, oids)
    assert len(names) == 1
    assert all(packs.is_packed(oid) for oid in oids)
    drop_loose(store, oids)
    for oid, content in zip(oids, contents, strict=True):
        assert not store.has(oid)
        packs.unpack(oid, store)
        assert store.path(oid).read_bytes() == content
        assert store.path(oid).stat().st_mode & 0o777 == 0o444
    assert leftovers(store) == []
    recipe = packs.recipe(oids[0])
    assert recipe is not None and recipe.oid == oids[0]
    assert packs.recipe_path(oids[0]).stat().st_mode & 0o777 == 0o444


def test_the_newest_version_is_stored_whole_and_older_ones_as_deltas(tmp_path: Path) -> None:
    store, packs, oids, _ = setup(tmp_path, count=3)
    pack_all(store, packs, oids)
    newest, oldest = packs.recipe(oids[2]), packs.recipe(oids[0])
    assert newest is not None and oldest is not None
    layer = next(c for c in newest.chunks if newest.slot(c) and "layer0" in newest.slot(c).name)  # type: ignore[union-attr]
    found = packs.packs.locate(layer.id)
    assert found is not None and found[1].depth == 0
    assert found[1].encoding == Encoding.PLANES_ZSTD
    old_layer = next(c for c in oldest.chunks if oldest.slot(c) and "layer0" in oldest.slot(c).name)  # type: ignore[union-attr]
    old = packs.packs.locate(old_layer.id)
    assert old is not None and old[1].encoding == Encoding.SUB_PLANES_ZSTD and old[1].depth == 2


def test_chains_are_cut_into_runs_no_deeper_than_the_cap(tmp_path: Path) -> None:
    store, packs, oids, contents = setup(tmp_path, count=11)
    pack_all(store, packs, oids)
    depths = [r.depth for index in packs.packs.indexes for r in index.records]
    assert max(depths) == LOCAL_MAX_DEPTH
    drop_loose(store, oids)
    for oid, content in zip(oids, contents, strict=True):
        packs.unpack(oid, store)
        assert store.path(oid).read_bytes() == content
    # From the oldest, runs of LOCAL_MAX_DEPTH + 1: the oldest is at the deepest end of a run.
    recipes = [packs.recipe(oid) for oid in reversed(oids[:-1])]
    chain = next(c for c in chains([r for r in recipes if r], LOCAL_MAX_DEPTH) if len(c) == 11)
    # Newest first: versions 10 | 9 8 7 6 5 | 4 3 2 1 0, each run's newest whole.
    assert [link.delta_base for link in chain] == [False, False] + [True] * 4 + [False] + [True] * 4


def test_repacking_after_a_new_version_copies_what_it_can_and_reads_the_same(
    tmp_path: Path,
) -> None:
    store, packs, oids, contents = setup(tmp_path, count=2)
    first = pack_all(store, packs, oids)
    newer = checkpoint(tmp_path / "v2.safetensors", 0, 2)
    oids.insert(2, ingest(store, newer))
    contents.insert(2, newer.read_bytes())
    second = pack_all(store, packs, oids)
    assert set(first).isdisjoint(second)
    for name in first:  # what gc does once the new packs are in place
        (packs.packs_dir / f"{name}.idx").unlink()
        (packs.packs_dir / f"{name}.pack").unlink()
    packs.reload()
    drop_loose(store, oids)
    for oid, content in zip(oids, contents, strict=True):
        packs.unpack(oid, store)
        assert store.path(oid).read_bytes() == content


def test_a_chunk_is_read_from_a_loose_object_through_its_recipe(tmp_path: Path) -> None:
    store, packs, oids, contents = setup(tmp_path, count=1)
    recipe = packs.recipe(oids[0])
    assert recipe is not None
    offset = sum(c.size for c in recipe.chunks[:1])
    second = recipe.chunks[1]
    assert packs.read_chunk(second.id) == contents[0][offset : offset + second.size]
    assert packs.read_chunk(chunk_id(b"nowhere")) is None
    os.chmod(store.path(oids[0]), 0o644)
    with open(store.path(oids[0]), "r+b") as f:
        f.seek(offset)
        f.write(bytes([contents[0][offset] ^ 1]))
    with pytest.raises(CorruptObjectError) as info:
        packs.read_chunk(second.id)
    assert info.value.message == (
        f"object {oids[0]} is corrupt: {store.path(oids[0])} no longer hashes to its id"
    )


def flip(path: Path, at: int) -> None:
    os.chmod(path, 0o644)
    data = bytearray(path.read_bytes())
    data[at] ^= 0x40
    path.write_bytes(bytes(data))


def packed_without_loose(tmp_path: Path) -> tuple[ObjectStore, LocalPacks, list[str]]:
    store, packs, oids, _ = setup(tmp_path, count=2)
    pack_all(store, packs, oids)
    drop_loose(store, oids)
    return store, LocalPacks(store.root), oids


def test_a_flipped_byte_in_a_pack_is_refused_and_unpack_leaves_nothing(tmp_path: Path) -> None:
    store, packs, oids = packed_without_loose(tmp_path)
    (pack,) = packs.packs_dir.glob("*.pack")
    (index,) = packs.packs.indexes
    record = max(index.records, key=lambda r: r.length)  # a tensor's payload
    flip(pack, record.offset + record.length - 5)
    victims = [oid for oid in oids if record.id in {c.id for c in packs.recipe(oid).chunks}]  # type: ignore[union-attr]
    with pytest.raises(CorruptObjectError) as info:
        packs.unpack(victims[0], store)
    assert info.value.message.startswith("chunk ")
    assert info.value.hint == HINT
    assert not store.has(victims[0])
    assert leftovers(store) == []


def test_a_flipped_byte_in_an_index_is_refused(tmp_path: Path) -> None:
    store, packs, oids = packed_without_loose(tmp_path)
    (index,) = packs.packs_dir.glob("*.idx")
    flip(index, 40)
    with pytest.raises(CorruptObjectError) as info:
        packs.unpack(oids[0], store)
    assert (
        info.value.message
        == f"index {index.name} is corrupt: its checksum does not match its bytes"
    )
    assert not store.has(oids[0])
    assert leftovers(store) == []


def test_a_flipped_byte_in_a_recipe_is_refused(tmp_path: Path) -> None:
    store, packs, oids = packed_without_loose(tmp_path)
    flip(packs.recipe_path(oids[1]), 30)
    with pytest.raises(CorruptObjectError) as info:
        packs.unpack(oids[1], store)
    assert info.value.message == (
        f"recipe of {oids[1]} is corrupt: its checksum does not match its bytes"
    )
    with pytest.raises(CorruptObjectError):
        packs.is_packed(oids[1])
    assert not store.has(oids[1])
    assert leftovers(store) == []


def test_an_object_neither_loose_nor_packed_is_missing(tmp_path: Path) -> None:
    store = ObjectStore(tmp_path / "cache")
    packs = LocalPacks(store.root)
    oid = "xxh128:" + "ab" * 16
    assert not packs.is_packed(oid) and packs.recipe(oid) is None
    with pytest.raises(ObjectMissingError) as info:
        packs.unpack(oid, store)
    assert info.value.message == f"object {oid} is not in the cache"
    with pytest.raises(ObjectMissingError):
        packs.recipe_or_chunk(oid, store)
