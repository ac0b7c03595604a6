"""Which objects a pointer needs: its artifact, and for folders and tensor files their manifests."""

from __future__ import annotations

from collections.abc import Iterable

from gitmodel.manifests import decode_dir_manifest
from gitmodel.pointer import Pointer
from gitmodel.workspace import Workspace


def objects_of(ws: Workspace, pointers: Iterable[Pointer]) -> set[str]:
    """Every oid the pointers name. A folder's files are listed only if its manifest is in
    the local cache (otherwise the manifest oid alone stands for them)."""
    needed: set[str] = set()
    for pointer in pointers:
        needed.add(pointer.oid)
        manifest = pointer.format.facts.get("manifest") if pointer.format else None
        if isinstance(manifest, str):
            needed.add(manifest)
        if pointer.kind == "dir" and ws.store.has(pointer.oid):
            for entry in decode_dir_manifest(ws.store.read_bytes(pointer.oid), pointer.oid):
                needed.add(entry.oid)
                if entry.tensors:
                    needed.add(entry.tensors)
    return needed
