"""fsck --remote in the packed layout: every index, every pack whole, every chunk decoded and
checked, every recipe read and its file rehashed from its chunks. The packs are downloaded
into a temp folder for this (as much disk as the remote's packs take), then deleted."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import xxhash

from gitmodel.errors import GitModelError
from gitmodel.hashing import OID_PREFIX, DigestSink, digest_of_data
from gitmodel.packs.encoding import decode_chunk
from gitmodel.packs.packfile import PackIndex, load_index, verify_pack
from gitmodel.packs.recipe import Recipe, chunk_of, decode_recipe, single_chunk_recipe
from gitmodel.remotes.base import Remote
from gitmodel.remotes.layout import PACKS, RECIPE_LIMIT, RECIPES, oid_of_recipe_key
from gitmodel.remotes.repack import DownloadedPacks, download_pack


@dataclass
class PackFsck:
    recipes: set[str] = field(default_factory=set)  # oids with a recipe key (sound or not)
    checked: int = 0  # recipes checked
    chunks: int = 0  # chunks decoded and checked
    corrupt: list[str] = field(default_factory=list)  # oids whose recipe or file is bad
    wrong_digest: list[str] = field(default_factory=list)
    damaged: list[str] = field(default_factory=list)  # one line per bad pack, index, chunk
    sound: dict[str, Recipe] = field(default_factory=dict)
    store: DownloadedPacks | None = None
    indexed: set[bytes] = field(default_factory=set)  # chunks of every index that loaded
    bad_chunks: set[bytes] = field(default_factory=set)

    def read_small(self, oid: str, limit: int) -> bytes | None:
        """A sound packed file's bytes (a folder manifest), if it is small."""
        recipe = self.sound.get(oid)
        single = self.single_file(oid) if recipe is None else None
        if single is not None and single[0] is None:
            recipe = single_chunk_recipe(oid, single[1])
        if recipe is None or self.store is None or recipe.size > limit:
            return None
        return b"".join(self.store.read_chunk(c.id) for c in recipe.chunks)

    def single_file(self, oid: str, digest: str | None = None) -> tuple[str | None, int] | None:
        """A file of one chunk (no recipe: its chunk id is its oid): None when no index lists
        that chunk, else what is wrong with it ("corrupt": its chunk is damaged or in a
        damaged pack; "digest": it does not match the SHA-256 `digest`) and its size."""
        chunk = chunk_of(oid)
        if chunk not in self.indexed:
            return None
        if self.store is None or chunk in self.bad_chunks or chunk not in self.store.chunks:
            return "corrupt", 0
        size = self.store.chunks[chunk][1].size
        if digest is not None and digest_of_data(self.store.read_chunk(chunk)) != digest:
            return "digest", size
        return None, size


def fsck_packs(remote: Remote, work: Path, digests: Mapping[str, str]) -> PackFsck:
    result = PackFsck()
    packs_dir = work / "packs"
    packs_dir.mkdir(parents=True, exist_ok=True)
    keys = {k.key[len(PACKS) :]: k for k in remote.call(partial(remote.list_keys, PACKS))}
    for name in sorted(n.removesuffix(".idx") for n in keys if n.endswith(".idx")):
        if f"{name}.pack" not in keys:
            result.damaged.append(f"index {name}.idx has no pack {name}.pack")
            continue
        try:
            download_pack(remote, name, keys[f"{name}.pack"].size, packs_dir)
        except GitModelError as exc:
            result.damaged.append(exc.message)
    sound = {}
    for path in sorted(packs_dir.glob("pack-*.idx")):
        try:
            index = load_index(path)
            result.indexed.update(r.id for r in index.records)
            verify_pack(path.with_suffix(".pack"), index)
            sound[path.stem] = index
        except GitModelError as exc:
            result.damaged.append(exc.message)
    store = DownloadedPacks(packs_dir, sound)
    result.store = store
    bad_chunks = result.bad_chunks = _check_chunks(store, sound, result)
    for key in remote.call(partial(remote.list_keys, RECIPES)):
        oid = oid_of_recipe_key(key.key)
        if oid is None:
            continue
        result.recipes.add(oid)
        result.checked += 1
        problem = _check_recipe(remote, store, key.key, oid, bad_chunks, digests.get(oid), result)
        if problem:
            result.corrupt.append(oid)
            result.damaged.append(problem)
    return result


def _check_chunks(
    store: DownloadedPacks, indexes: Mapping[str, PackIndex], result: PackFsck
) -> set[bytes]:
    """Decode every entry of every sound pack (each copy of a chunk in several packs too)."""
    bad = set()
    for name, index in sorted(indexes.items()):
        for record in index.records:
            result.chunks += 1
            try:
                base = store.read_chunk(record.base) if record.base is not None else None
                decode_chunk(store.entry(name, record), record.size, record.id, base)
            except GitModelError as exc:
                bad.add(record.id)
                result.damaged.append(f"pack {name}.pack: {exc.message}")
    return bad


def _check_recipe(
    remote: Remote,
    store: DownloadedPacks,
    key: str,
    oid: str,
    bad_chunks: set[bytes],
    digest: str | None,
    result: PackFsck,
) -> str | None:
    """What is wrong with a recipe and the file it describes, or None."""
    try:
        data = remote.call(partial(remote.read_key, key, RECIPE_LIMIT))
        recipe = decode_recipe(data, f"recipe {key}", oid)
    except GitModelError as exc:
        return exc.message
    whole = xxhash.xxh3_128()
    sink = DigestSink() if digest is not None else None
    for chunk in recipe.chunks:
        if chunk.id in bad_chunks or chunk.id not in store.chunks:
            return f"recipe {key}: chunk {chunk.id.hex()} is in no sound pack"
        data = store.read_chunk(chunk.id)
        whole.update(data)
        if sink is not None:
            sink(memoryview(data))
    if OID_PREFIX + whole.hexdigest() != oid:
        return f"recipe {key}: its chunks make a file that hashes to {whole.hexdigest()}"
    if sink is not None and sink.digest != digest:
        result.wrong_digest.append(oid)
        return f"recipe {key}: its file does not match the digest a pointer records"
    result.sound[oid] = recipe
    return None


def cleanup(work: Path) -> None:
    shutil.rmtree(work, ignore_errors=True)
