"""`git model fsck`: rehash objects; quarantine corrupt local ones and say how to recover."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from gitmodel.cache.lock import file_lock
from gitmodel.cache.objects import ObjectStore
from gitmodel.digests import work_tree_digests
from gitmodel.hashing import OID_PREFIX, DigestSink, ReadableInto, hash_stream
from gitmodel.progress import Progress
from gitmodel.remotes.base import Remote
from gitmodel.remotes.config import resolve_remote
from gitmodel.transfer import default_jobs
from gitmodel.workspace import open_workspace


@dataclass
class FsckResult:
    where: str  # "local cache" or the remote's label
    checked: int = 0
    corrupt: list[str] = field(default_factory=list)
    quarantined: list[str] = field(default_factory=list)  # paths corrupt objects were moved to
    # Of `corrupt`: bytes that hash to their oid but not to the SHA-256 a pointer records.
    wrong_digest: list[str] = field(default_factory=list)


def local_objects(store: ObjectStore) -> list[tuple[str, Path]]:
    found = []
    if store.objects_dir.is_dir():
        for prefix in sorted(os.scandir(store.objects_dir), key=lambda e: e.name):
            if len(prefix.name) == 2 and prefix.is_dir():
                for entry in sorted(os.scandir(prefix.path), key=lambda e: e.name):
                    if len(entry.name) == 30 and not entry.name.startswith("."):
                        found.append((OID_PREFIX + prefix.name + entry.name, Path(entry.path)))
    return found


def fsck(
    *, remote: str | None = None, jobs: int | None = None, repo: str | Path = "."
) -> FsckResult:
    ws = open_workspace(Path(repo))
    if remote is not None:
        target = resolve_remote(ws.repo, remote)
        return _fsck_remote(target, jobs or default_jobs(), work_tree_digests(ws))
    result = FsckResult("local cache")
    quarantine = ws.store.root / "quarantine"
    with file_lock(ws.cache_lock):  # exclusive: nothing may read an object we are moving
        digests = work_tree_digests(ws)
        objects = local_objects(ws.store)
        progress = Progress("Checking objects", sum(p.stat().st_size for _, p in objects))

        def check(item: tuple[str, Path]) -> tuple[str, Path, str | None]:
            oid, path = item
            with path.open("rb", buffering=0) as f:
                problem = _rehash(f, oid, digests.get(oid), progress.advance)
            return oid, path, problem

        with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
            for oid, path, problem in pool.map(check, objects):
                result.checked += 1
                if problem == "digest":
                    result.wrong_digest.append(oid)
                if problem is not None:
                    if not result.corrupt:  # objects disappear: status re-checks what it trusted
                        ws.store.bump_generation()
                    quarantine.mkdir(parents=True, exist_ok=True)
                    dest = quarantine / oid.removeprefix(OID_PREFIX)
                    os.replace(path, dest)
                    result.corrupt.append(oid)
                    result.quarantined.append(str(dest))
        progress.close()
        if result.corrupt:
            ws.store.bump_generation()
    return result


def _rehash(
    stream: ReadableInto, oid: str, digest: str | None, advance: Callable[[int], None] | None
) -> str | None:
    """What is wrong with an object's bytes: "oid", "digest" (a recorded SHA-256, checked in
    the same pass, does not match), or None."""
    sink = DigestSink() if digest is not None else None
    if hash_stream(stream, sinks=[sink] if sink else (), progress=advance).oid != oid:
        return "oid"
    return "digest" if sink is not None and sink.digest != digest else None


def _fsck_remote(target: Remote, jobs: int, digests: dict[str, str]) -> FsckResult:
    result = FsckResult(target.label)
    oids = sorted(target.call(target.list_oids))

    def check(oid: str) -> tuple[str, str | None]:
        def rehash() -> str | None:
            with target.open(oid) as stream:
                return _rehash(cast(ReadableInto, stream), oid, digests.get(oid), None)

        return oid, target.call(rehash)

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for oid, problem in pool.map(check, oids):
            result.checked += 1
            if problem == "digest":
                result.wrong_digest.append(oid)
            if problem is not None:
                result.corrupt.append(oid)
    return result
