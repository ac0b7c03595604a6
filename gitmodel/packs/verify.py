"""`git model fsck` of the local packs: every pack in full, every chunk decoded, every recipe.

A pack is checked against its index and its own checksum (every byte read), then every chunk
it holds is decoded through its delta chain and checked against its id; a recipe is checked
against its checksum and the oid it is filed under. What fails is reported with the file to
blame, so fsck can move it aside.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from gitmodel.errors import CorruptObjectError, ObjectMissingError
from gitmodel.packs.packfile import PackIndex, PackStore, load_index, verify_pack
from gitmodel.packs.store import LocalPacks


@dataclass(frozen=True)
class Damage:
    files: tuple[Path, ...]  # what to move aside: a pack and its index, or a recipe
    message: str


@dataclass
class PacksCheck:
    packs: int = 0
    chunks: int = 0
    recipes: int = 0
    damaged: list[Damage] = field(default_factory=list)


def check_local_packs(
    packs: LocalPacks, advance: Callable[[int], None] | None = None
) -> PacksCheck:
    """Verify the local packs and recipes; `advance` is told how many pack bytes were read."""
    result = PacksCheck()
    sound: list[PackIndex] = []
    for path in sorted(packs.packs_dir.glob("pack-*.idx")) if packs.packs_dir.is_dir() else []:
        files = (path, path.with_suffix(".pack"))
        result.packs += 1
        try:
            index = load_index(path)
            verify_pack(index.pack, index)
        except CorruptObjectError as exc:
            result.damaged.append(Damage(files, exc.message))
            continue
        if advance is not None:
            advance(index.pack.stat().st_size)
        sound.append(index)
    store = PackStore(packs.packs_dir, sound)
    for index in sound:
        for chunk in index.ids:
            result.chunks += 1
            try:
                store.read_chunk(chunk)
            except CorruptObjectError as exc:
                pack = index.pack
                result.damaged.append(Damage((pack.with_suffix(".idx"), pack), exc.message))
                break
            except ObjectMissingError as exc:  # its base was in a damaged pack: keep this one
                result.damaged.append(Damage((), exc.message))
    for oid in packs.recipe_oids():
        result.recipes += 1
        try:
            packs.recipe(oid)
        except CorruptObjectError as exc:
            result.damaged.append(Damage((packs.recipe_path(oid),), exc.message))
    return result
