"""Repacking a remote (gc --remote): the newest version of each tensor whole, older ones as
deltas against the next newer, as Git and the local cache do (docs/pack-format.md, 10.5).
The newest chunk of each tensor goes into packs of their own, so a pull of the newest version
reads them end to end, not through the older versions' deltas between them.

Pushes delta each version against the one before it, so the version pulled most (the
newest) ends up at the end of its chain. A repack downloads the remote's packs, writes the
chunks of the live recipes into new packs in Git's direction (`packs.store.chains`),
uploads them, then deletes every old pack. A reader that meets a chunk in an old and a new
pack at once (a repack killed between upload and delete) takes the copy of least depth, so
both generations together still form chains that end (layout.RemotePacks).
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path

from gitmodel.errors import CorruptObjectError
from gitmodel.packs.encoding import HINT, Encoded, Link, decode_chain, plane_width
from gitmodel.packs.packfile import MAX_CHAIN_DEPTH, PackIndex, PackWriter, Record, read_entry
from gitmodel.packs.recipe import Recipe
from gitmodel.packs.store import LOCAL_MAX_DEPTH, chains
from gitmodel.remotes.base import MERGE_LIMIT, Remote
from gitmodel.remotes.layout import INDEX_LIMIT, PACKS, RemotePacks

# The newest version whole, then runs of at most this many deltas: as in the local cache.
REPACK_DEPTH = LOCAL_MAX_DEPTH


def needs_repack(view: RemotePacks, recipes: Sequence[Recipe]) -> bool:
    """Whether the newest chunk of some tensor is stored as a delta, or older ones are not
    deltas against newer ones (`recipes` newest first)."""
    for chain in chains(recipes, REPACK_DEPTH):
        for at, link in enumerate(chain):
            found = view.chunks.get(link.id)
            if found is None:
                continue
            base = found[1].base
            wanted = chain[at - 1].id if link.delta_base else None
            if base != wanted:
                return True
    return False


def repack(
    remote: Remote, view: RemotePacks, recipes: Sequence[Recipe], work: Path, pack_size: int
) -> tuple[list[str], int]:
    """Rewrite every pack of the remote; returns the new packs' names and their bytes."""
    source, target = work / "old", work / "new"
    source.mkdir(parents=True, exist_ok=True)
    try:
        for name, pack in sorted(view.packs.items()):
            download_pack(remote, name, pack.size, source)
        raw = DownloadedPacks(source, view.indexes).read_chunk

        newest = PackWriter(target, pack_size, thorough=True)
        older = PackWriter(target, pack_size, thorough=True)
        with newest, older:
            for chain in chains(recipes, REPACK_DEPTH):
                newer: tuple[bytes, bytes, int] | None = None
                for at, link in enumerate(chain):
                    data = raw(link.id)
                    base = newer if link.delta_base else None
                    writer = newest if at == 0 else older
                    record = writer.add(link.id, data, plane_width(link.dtype, len(data)), base)
                    newer = (link.id, data, record.depth)
        written = newest.written + older.written
        size = 0
        for name in written:
            for suffix in (".pack", ".idx"):
                path = target / f"{name}{suffix}"
                remote.call(partial(remote.put_file, str(path), f"{PACKS}{name}{suffix}"))
                size += path.stat().st_size
        return written, size
    finally:
        shutil.rmtree(work, ignore_errors=True)


class DownloadedPacks:
    """Packs downloaded whole into a folder, read by chunk id. A chunk in several packs is
    read from its copy of least depth (as layout.RemotePacks does), so chains end."""

    def __init__(self, folder: Path, indexes: Mapping[str, PackIndex]) -> None:
        self.folder = folder
        self.chunks: dict[bytes, tuple[str, Record]] = {}
        for name, index in sorted(indexes.items()):
            for record in index.records:
                known = self.chunks.get(record.id)
                if known is None or record.depth < known[1].depth:
                    self.chunks[record.id] = (name, record)

    def entry(self, pack: str, record: Record) -> Encoded:
        return read_entry(self.folder / f"{pack}.pack", record)

    def read_chunk(self, chunk: bytes) -> bytes:
        """The chunk's raw bytes, through its delta chain, checked against its id."""
        links: list[Link] = []
        wanted: bytes | None = chunk
        while wanted is not None:
            found = self.chunks.get(wanted)
            if found is None or len(links) > MAX_CHAIN_DEPTH:
                raise CorruptObjectError(
                    f"chunk {chunk.hex()}: its delta base {wanted.hex()} is in no sound pack"
                    if found is None
                    else f"chunk {chunk.hex()}: its delta chain is longer than {MAX_CHAIN_DEPTH}",
                    HINT,
                )
            pack, record = found
            links.append(Link(self.entry(pack, record), record.size, wanted))
            wanted = record.base
        return decode_chain(links)


def download_pack(remote: Remote, name: str, size: int, folder: Path) -> None:
    """A pack and its index, whole, into `folder` (the pack in requests of MERGE_LIMIT)."""
    index = remote.call(partial(remote.read_key, f"{PACKS}{name}.idx", INDEX_LIMIT))
    with (folder / f"{name}.pack").open("wb") as out:
        for start in range(0, size, MERGE_LIMIT):
            length = min(MERGE_LIMIT, size - start)
            out.write(remote.call(partial(remote.read_range, f"{PACKS}{name}.pack", start, length)))
    (folder / f"{name}.idx").write_bytes(index)
