"""Local packs and recipes in the cache (PACKS-PLAN.md). A minimal stand-in with the shared API
until the `localpacks` branch lands; that branch's version replaces this file."""

from __future__ import annotations

import os
from pathlib import Path

from gitmodel.cache.objects import ObjectStore
from gitmodel.fsutil import atomic_write_bytes
from gitmodel.hashing import oid_hex
from gitmodel.packs.chunking import chunk_file
from gitmodel.packs.packfile import PackStore
from gitmodel.packs.recipe import Recipe, decode_recipe, encode_recipe, recipe_of


class LocalPacks:
    def __init__(self, cache_root: Path) -> None:
        self.root = cache_root
        self.recipes_dir = cache_root / "recipes"
        self.packs_dir = cache_root / "packs"
        self._packs: PackStore | None = None
        self._loose_chunks: dict[bytes, tuple[str, int, int]] | None = None

    def recipe_path(self, oid: str) -> Path:
        digits = oid_hex(oid)
        return self.recipes_dir / digits[:2] / digits[2:]

    def recipe(self, oid: str) -> Recipe | None:
        try:
            data = self.recipe_path(oid).read_bytes()
        except FileNotFoundError:
            return None
        return decode_recipe(data, f"recipe of {oid}", oid)

    def store_recipe(self, recipe: Recipe) -> None:
        path = self.recipe_path(recipe.oid)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, encode_recipe(recipe), 0o444)
        self._loose_chunks = None

    def recipe_or_chunk(self, oid: str, store: ObjectStore) -> Recipe:
        found = self.recipe(oid)
        if found is not None:
            return found
        recipe = recipe_of(chunk_file(store.path(oid), lambda _chunk: None))
        self.store_recipe(recipe)
        return recipe

    def read_chunk(self, chunk_id: bytes) -> bytes | None:
        if self._packs is None:
            self._packs = PackStore(self.packs_dir)
        if chunk_id in self._packs:
            return self._packs.read_chunk(chunk_id)
        where = self._loose_index().get(chunk_id)
        if where is None:
            return None
        path, offset, size = where
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            data = os.pread(fd, size, offset)
        finally:
            os.close(fd)
        from gitmodel.packs.chunking import chunk_id as id_of

        return data if id_of(data) == chunk_id else None

    def _loose_index(self) -> dict[bytes, tuple[str, int, int]]:
        if self._loose_chunks is None:
            self._loose_chunks = {}
            store = ObjectStore(self.root)
            for path in self.recipes_dir.glob("??/*") if self.recipes_dir.is_dir() else []:
                oid = f"xxh128:{path.parent.name}{path.name}"
                if not store.has(oid):
                    continue
                recipe = self.recipe(oid)
                offset = 0
                for chunk in recipe.chunks if recipe else ():
                    self._loose_chunks[chunk.id] = (store.location(oid), offset, chunk.size)
                    offset += chunk.size
        return self._loose_chunks

    def is_packed(self, oid: str) -> bool:
        recipe = self.recipe(oid)
        if recipe is None:
            return False
        if self._packs is None:
            self._packs = PackStore(self.packs_dir)
        return all(c.id in self._packs for c in recipe.chunks)

    def unpack(self, oid: str, store: ObjectStore) -> None:
        from gitmodel.packs.recipe import reassemble

        recipe = self.recipe(oid)
        if recipe is None:
            raise FileNotFoundError(oid)

        def read(chunk: bytes) -> bytes:
            data = self.read_chunk(chunk)
            if data is None:
                raise FileNotFoundError(chunk.hex())
            return data

        temp = store.new_temp()
        reassemble(recipe, read, temp)
        store.publish(temp, oid)
