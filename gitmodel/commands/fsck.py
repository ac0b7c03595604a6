"""`git model fsck`: rehash objects; quarantine corrupt local ones and say how to recover."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import cast

from gitmodel.cache.lock import file_lock
from gitmodel.digests import work_tree_digests
from gitmodel.hashing import OID_PREFIX, DigestSink, ReadableInto, hash_stream, oid_of_bytes
from gitmodel.packs.verify import PacksCheck, check_local_packs
from gitmodel.progress import Progress, ProgressCallback
from gitmodel.reachability import ALL_REFS, needed_by_git
from gitmodel.remotes.base import Remote
from gitmodel.remotes.config import resolve_remote
from gitmodel.remotes.layout import read_format
from gitmodel.remotes.packfsck import fsck_packs
from gitmodel.sizecheck import size_mismatches
from gitmodel.transfer import default_jobs
from gitmodel.workspace import Workspace, open_workspace

MANIFEST_LIMIT = 256 * 1024 * 1024  # as the local cache reads a folder manifest


@dataclass
class FsckResult:
    where: str  # "local cache" or the remote's label
    checked: int = 0
    corrupt: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # needed objects a remote lacks
    quarantined: list[str] = field(default_factory=list)  # paths corrupt objects were moved to
    wrong_size: list[WrongSize] = field(default_factory=list)
    # Of `corrupt`: bytes that hash to their oid but not to the SHA-256 a pointer records.
    wrong_digest: list[str] = field(default_factory=list)
    packs: PacksCheck | None = None  # local: what the check of packs and recipes found
    # Each damaged pack or recipe: what is wrong, and where its files were moved (if they were).
    damaged_packs: list[tuple[str, list[str]]] = field(default_factory=list)
    # A remote in the packed layout: one line per bad pack, index, chunk or recipe.
    damaged: list[str] = field(default_factory=list)
    packed: bool = False  # the remote is in the packed layout


@dataclass(frozen=True)
class WrongSize:
    """A sound object whose size a pointer or folder manifest records wrongly."""

    oid: str
    claimed_by: str  # the pointer, or the pointer and manifest entry
    expected: int
    actual: int


def _check_sizes(
    result: FsckResult, oid: str, actual: int, claims: dict[str, dict[int, str]]
) -> None:
    for expected, what in size_mismatches(oid, actual, claims):
        result.wrong_size.append(WrongSize(oid, what, expected, actual))


def fsck(
    *,
    remote: str | None = None,
    jobs: int | None = None,
    repo: str | Path = ".",
    progress: ProgressCallback | None = None,
) -> FsckResult:
    """Rehash every object of the local cache (or of `remote`). `progress`, if given, hears of
    the local bytes rehashed (gitmodel.progress.ProgressCallback)."""
    ws = open_workspace(Path(repo))
    if remote is not None:
        return _fsck_remote(ws, remote, jobs or default_jobs())
    result = FsckResult("local cache")
    quarantine = ws.store.root / "quarantine"
    with file_lock(ws.cache_lock):  # exclusive: nothing may read an object we are moving
        claims = needed_by_git(ws, ALL_REFS).sizes
        digests = work_tree_digests(ws)
        objects = ws.store.local_objects()
        rehashed = Progress("Checking objects", sum(p.stat().st_size for _, p in objects), progress)

        def check(item: tuple[str, Path]) -> tuple[str, Path, str | None, int]:
            oid, path = item
            with path.open("rb", buffering=0) as f:
                problem, size = _rehash(f, oid, digests.get(oid), rehashed.advance)
            return oid, path, problem, size

        with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
            for oid, path, problem, size in pool.map(check, objects):
                result.checked += 1
                if problem == "digest":
                    result.wrong_digest.append(oid)
                if problem is None:
                    _check_sizes(result, oid, size, claims)
                else:
                    if not result.corrupt:  # objects disappear: status re-checks what it trusted
                        ws.store.bump_generation()
                    quarantine.mkdir(parents=True, exist_ok=True)
                    dest = quarantine / oid.removeprefix(OID_PREFIX)
                    os.replace(path, dest)
                    result.corrupt.append(oid)
                    result.quarantined.append(str(dest))
        rehashed.close()
        _fsck_packs(ws, result, progress)
        if result.corrupt or result.damaged_packs:
            ws.store.bump_generation()
    return result


def _fsck_packs(ws: Workspace, result: FsckResult, report: ProgressCallback | None) -> None:
    """Check the local packs and recipes; move damaged ones to the quarantine, as objects."""
    packs = ws.packs
    if not packs.packs_dir.is_dir() and not packs.recipes_dir.is_dir():
        return
    total = sum(p.stat().st_size for p in packs.packs_dir.glob("pack-*.pack"))
    checked = Progress("Checking packs", total, report)
    result.packs = check_local_packs(packs, checked.advance)
    checked.close()
    quarantine = ws.store.root / "quarantine"
    if any(damage.files for damage in result.packs.damaged):
        ws.store.bump_generation()  # objects disappear: status re-checks what it trusted
    for damage in result.packs.damaged:
        moved = []
        for path in damage.files:
            if path.exists():
                quarantine.mkdir(parents=True, exist_ok=True)
                recipe = path.parent.parent == packs.recipes_dir
                dest = quarantine / (
                    f"recipe-{path.parent.name}{path.name}" if recipe else path.name
                )
                os.replace(path, dest)
                moved.append(str(dest))
        result.damaged_packs.append((damage.message, moved))


def _rehash(
    stream: ReadableInto, oid: str, digest: str | None, advance: Callable[[int], None] | None
) -> tuple[str | None, int]:
    """What is wrong with an object's bytes: "oid", "digest" (a recorded SHA-256, checked in
    the same pass, does not match), or None; and how many bytes it holds."""
    sink = DigestSink() if digest is not None else None
    hashed = hash_stream(stream, sinks=[sink] if sink else (), progress=advance)
    if hashed.oid != oid:
        return "oid", hashed.size
    return ("digest" if sink is not None and sink.digest != digest else None), hashed.size


def _fsck_remote(ws: Workspace, name: str, jobs: int) -> FsckResult:
    """Rehash every object the remote holds, and list every object that Git needs (what
    `gc` keeps) and the remote lacks. A folder manifest that is not in the local cache is
    read from the remote, so a fresh clone can check a remote without fetching."""
    target = resolve_remote(ws.repo, name)
    work = ws.store.tmp_dir / f"fsck-{os.getpid()}-{os.urandom(4).hex()}"
    try:
        return _check_remote(ws, target, jobs, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _check_remote(ws: Workspace, target: Remote, jobs: int, work: Path) -> FsckResult:
    """`_fsck_remote`, with `work` for the packs it downloads to check them."""
    digests = work_tree_digests(ws)
    result = FsckResult(target.label)
    packed = None
    if read_format(target) is not None:
        packed = fsck_packs(target, work, digests)
        result.packed = True
        result.checked += packed.checked
        result.corrupt += packed.corrupt
        result.wrong_digest += packed.wrong_digest
        result.damaged = packed.damaged
    oids = sorted(target.call(target.list_oids))

    def check(oid: str) -> tuple[str, tuple[str | None, int]]:
        def rehash() -> tuple[str | None, int]:
            with target.open(oid) as stream:
                return _rehash(cast(ReadableInto, stream), oid, digests.get(oid), None)

        return oid, target.call(rehash)

    sizes = {oid: r.size for oid, r in packed.sound.items()} if packed else {}
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for oid, (problem, size) in pool.map(check, oids):
            result.checked += 1
            if problem == "digest":
                result.wrong_digest.append(oid)
            if problem is None:
                sizes[oid] = size
            else:
                result.corrupt.append(oid)
    listed, corrupt = set(oids) | (packed.recipes if packed else set()), set(result.corrupt)

    def manifest(oid: str) -> bytes | None:
        if ws.store.has(oid):
            return ws.store.read_bytes(oid)
        if packed is not None and (oid in packed.sound or packed.single_file(oid)):
            return packed.read_small(oid, MANIFEST_LIMIT)
        if oid not in listed or oid in corrupt:
            return None  # reported as missing or corrupt itself
        return target.call(partial(_read_verified, target, oid))

    with file_lock(ws.cache_lock, shared=True):
        needed = needed_by_git(ws, ALL_REFS, manifest)
    for oid in sorted(needed.oids - listed):
        single = packed.single_file(oid, digests.get(oid)) if packed is not None else None
        if single is None:  # a file of one chunk (no recipe) is in an index, or missing
            continue
        listed.add(oid)
        result.checked += 1
        problem, sizes[oid] = single
        if problem == "digest":
            result.wrong_digest.append(oid)
        if problem is not None:
            result.corrupt.append(oid)
            del sizes[oid]
    result.missing = sorted(needed.oids - listed)
    for oid, size in sorted(sizes.items()):
        _check_sizes(result, oid, size, needed.sizes)
    return result


def _read_verified(target: Remote, oid: str) -> bytes | None:
    with target.open(oid) as stream:
        data = stream.read(MANIFEST_LIMIT + 1)
    good = len(data) <= MANIFEST_LIMIT and oid_of_bytes(data) == oid
    return data if good else None
