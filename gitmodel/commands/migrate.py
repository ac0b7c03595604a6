"""`git model migrate`: record a SHA-256 digest in pointers that lack one (version 1 -> 2)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from gitmodel.cache.lock import file_lock
from gitmodel.hashing import digest_of_data
from gitmodel.ingest import Digests
from gitmodel.manifests import decode_dir_manifest, encode_dir_manifest
from gitmodel.pointer import Pointer, read_pointer, write_pointer
from gitmodel.selection import select_pointers
from gitmodel.workspace import Workspace, open_workspace


@dataclass(frozen=True)
class Migrated:
    pointer_file: Path
    pointer: Pointer
    changed: bool  # False when the pointer already had a digest


def migrate(targets: Sequence[str | Path] = (), *, repo: str | Path = ".") -> list[Migrated]:
    """Give every pointer (or the TARGETS') without a digest one, computed from the cached
    object after its xxh128 is checked, and stage the rewritten pointers.

    All digests are computed before any pointer is written: a missing or corrupt object
    stops the command with nothing changed.
    """
    ws = open_workspace(Path(repo))
    results = []
    with file_lock(ws.cache_lock, shared=True):  # a gc must not delete a new manifest meanwhile
        digests = Digests(ws)
        for pointer_file in select_pointers(ws, targets, Path(repo)):
            pointer = read_pointer(pointer_file)
            if pointer.digest is not None:
                results.append(Migrated(pointer_file, pointer, False))
                continue
            results.append(Migrated(pointer_file, _with_digest(ws, pointer, digests), True))
        changed = [r for r in results if r.changed]
        if changed:
            with file_lock(ws.repo_lock):
                for result in changed:
                    write_pointer(result.pointer_file, result.pointer)
                ws.repo.stage([ws.repo.relpath(r.pointer_file) for r in changed])
    return results


def _with_digest(ws: Workspace, pointer: Pointer, digests: Digests) -> Pointer:
    if pointer.kind == "file":
        return replace(pointer, digest=digests.of(pointer.oid))
    ws.store.verify(pointer.oid)
    entries = decode_dir_manifest(ws.store.read_bytes(pointer.oid), pointer.oid)
    manifest = encode_dir_manifest([replace(e, digest=digests.of(e.oid)) for e in entries])
    return replace(pointer, oid=ws.store.put_bytes(manifest), digest=digest_of_data(manifest))
