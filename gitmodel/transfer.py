"""Moving objects between the local cache and a remote: only what is missing, in parallel,
verified byte for byte on the way in."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from functools import partial
from typing import cast

from gitmodel.cache.objects import ObjectStore, digest_mismatch
from gitmodel.errors import CorruptObjectError, GitModelError
from gitmodel.fsutil import remove_quietly
from gitmodel.hashing import ChunkSink, DigestSink, ReadableInto, hash_stream
from gitmodel.packs.store import LocalPacks
from gitmodel.progress import Progress, ProgressCallback
from gitmodel.remotes.base import Remote
from gitmodel.remotes.layout import RemotePacks, packs_wanted, require_packs_support
from gitmodel.remotes.packfetch import fetch_packed
from gitmodel.remotes.packpush import push_packed
from gitmodel.sizecheck import check_claimed_size


def default_jobs(remote: Remote | None = None) -> int:
    """The remote's `model.remote.NAME.jobs`, else a few per core: transfers wait on the
    network more than on the CPU."""
    if remote is not None and remote.tuning.jobs is not None:
        return remote.tuning.jobs
    return min(32, 4 * (os.cpu_count() or 2))


@dataclass
class TransferResult:
    transferred: list[str] = field(default_factory=list)
    present: int = 0  # already on the other side
    bytes: int = 0  # the size of the objects transferred
    failed: list[str] = field(default_factory=list)  # "oid: reason"
    # Packed layout (remotes/layout.py): bytes that crossed the wire (packs, indexes, recipes
    # and loose objects), chunks moved, chunks the other side had already.
    moved: int = 0
    packed: bool = False
    chunks: int = 0
    reused_chunks: int = 0

    def add(self, other: TransferResult) -> None:
        self.transferred += other.transferred
        self.present += other.present
        self.bytes += other.bytes
        self.failed += other.failed
        self.moved += other.moved
        self.packed = self.packed or other.packed
        self.chunks += other.chunks
        self.reused_chunks += other.reused_chunks


def upload(
    store: ObjectStore,
    remote: Remote,
    oids: Iterable[str],
    jobs: int,
    report_progress: ProgressCallback | None = None,
) -> TransferResult:
    """Send what the remote lacks (neither its loose object nor its packed form is there): as
    packs of the chunks it lacks (remotes/packpush.py), or with `layout = loose` as loose
    objects."""
    wanted = set(oids)
    local = LocalPacks(store.root)
    missing_locally = sorted(o for o in wanted if not store.has(o) and not local.is_packed(o))
    if missing_locally:
        raise GitModelError(
            f"{len(missing_locally)} object(s) to push are not in the local cache, e.g. "
            f"{missing_locally[0]}",
            "fetch them first (git model fetch) or re-add the artifacts that produced them",
        )
    view = RemotePacks.open(remote, store.root, jobs)
    in_packs = view.in_packs(wanted)  # from the listing of recipes and the indexes
    todo = sorted(remote.missing(wanted - in_packs, jobs)) if wanted - in_packs else []
    if todo and packs_wanted(remote, remote.options):
        pushed = push_packed(store, remote, view, todo, jobs)
        return TransferResult(
            transferred=sorted(pushed.objects),
            present=len(wanted) - len(todo),
            bytes=pushed.raw,
            moved=pushed.sent,
            packed=True,
            chunks=pushed.new_chunks,
            reused_chunks=pushed.reused_chunks,
        )
    for oid in todo:
        if not store.has(oid):
            local.unpack(oid, store)  # a loose remote takes whole objects
    result = TransferResult(present=len(wanted) - len(todo))
    sizes = {o: store.path(o).stat().st_size for o in todo}
    progress = Progress(f"Uploading to {remote.name}", sum(sizes.values()), report_progress)

    def send(oid: str) -> str:
        remote.call(lambda: remote.upload(str(store.path(oid)), oid))
        return oid

    _run(todo, send, jobs, result, sizes, progress, remote.cancel)
    result.moved = result.bytes
    return result


def download(
    store: ObjectStore,
    remote: Remote,
    oids: Iterable[str],
    jobs: int,
    claimed_sizes: Mapping[str, Mapping[int, str]] | None = None,
    digests: Mapping[str, str] | None = None,
    report_progress: ProgressCallback | None = None,
) -> TransferResult:
    """Fetch what the cache lacks. `claimed_sizes`: what pointers and manifests record for an
    object's size (a mismatch is refused like a wrong hash); an object with an entry in
    `digests` (oid -> SHA-256) must match that digest too, checked in the same pass as its
    xxh128."""
    wanted = set(oids)
    local = LocalPacks(store.root)
    todo = sorted(local.not_in_cache(wanted, store))
    result = TransferResult(present=len(wanted) - len(todo))
    if not todo:
        return result
    view = RemotePacks.shared(remote, store.root, jobs)  # refuses a layout newer than ours
    in_packs = sorted(view.in_packs(todo))  # reuses the chunks we have
    absent = remote.missing(set(todo) - set(in_packs), jobs) if len(in_packs) < len(todo) else set()
    for oid in sorted(absent):
        result.failed.append(f"{oid}: not on remote {remote.label}")
    todo = sorted(set(todo) - absent - set(in_packs))
    if in_packs:
        require_packs_support()
        fetched = fetch_packed(
            store, remote, view, in_packs, jobs, claimed_sizes or {}, digests or {}, report_progress
        )
        result.transferred += fetched.transferred
        result.bytes += fetched.raw
        result.moved += fetched.received
        result.packed = True
        result.chunks += fetched.fetched_chunks
        result.reused_chunks += fetched.reused_chunks
    sizes = _remote_sizes(remote, todo) if len(todo) < 64 else {}
    progress = Progress(f"Downloading from {remote.name}", sum(sizes.values()), report_progress)

    def fetch(oid: str) -> str:
        expected = (digests or {}).get(oid)
        remote.call(lambda: _fetch_one(store, remote, oid, claimed_sizes or {}, expected))
        return oid

    loose = TransferResult()
    _run(todo, fetch, jobs, loose, sizes, progress)
    loose.moved = loose.bytes
    result.add(loose)
    result.transferred.sort()
    return result


def _remote_sizes(remote: Remote, oids: list[str]) -> dict[str, int]:
    """Sizes for the progress bar (skipped for many objects: a round trip each)."""
    return {oid: remote.call(partial(remote.size, oid)) for oid in oids}


def _fetch_one(
    store: ObjectStore,
    remote: Remote,
    oid: str,
    claimed_sizes: Mapping[str, Mapping[int, str]],
    expected: str | None,
) -> None:
    """Stream one object into a temp file while hashing; keep it only if the hash (and the
    SHA-256, when one is `expected`) matches, and its size is what pointers record."""
    temp = store.new_temp()
    sink = DigestSink() if expected is not None else None
    try:
        with remote.open(oid) as src, temp.open("wb") as dst:
            sinks: list[ChunkSink] = [dst.write, sink] if sink is not None else [dst.write]
            digest = hash_stream(cast(ReadableInto, src), sinks=sinks)
            dst.flush()
            os.fsync(dst.fileno())
        if digest.oid != oid:
            raise CorruptObjectError(
                f"object {oid} from remote {remote.label} is corrupt: its bytes hash to "
                f"{digest.oid}; the bad bytes were not kept",
                f"delete {remote.key(oid)} from the remote, then `git model push` from a clone "
                f"that has it; find all corrupt ones: git model fsck --remote {remote.name}",
            )
        check_claimed_size(oid, digest.size, claimed_sizes)
        if sink is not None and expected is not None and sink.digest != expected:
            error = digest_mismatch(oid, f"from remote {remote.label}", expected, sink.digest)
            error.message += "; the bad bytes were not kept"
            raise error
        store.publish(temp, oid)
    finally:
        remove_quietly(temp)


def _run(
    todo: list[str],
    action: Callable[[str], str],
    jobs: int,
    result: TransferResult,
    sizes: dict[str, int],
    progress: Progress,
    cancel: Callable[[], None] | None = None,
) -> None:
    """On Ctrl-C or an error that ends the transfer, `cancel` asks the transfers in flight
    to stop and clean up (an upload aborts what it started); queued ones never start."""
    lock = threading.Lock()
    pool = ThreadPoolExecutor(max_workers=max(1, jobs))
    try:
        futures = {pool.submit(action, oid): oid for oid in todo}
        for future in as_completed(futures):
            oid = futures[future]
            try:
                future.result()
            except CorruptObjectError:
                progress.close()
                raise  # its own hint (fsck, re-push): fetching again would get the same bytes
            except GitModelError as exc:
                with lock:
                    result.failed.append(f"{oid}: {exc.message}")
                continue
            with lock:
                result.transferred.append(oid)
                result.bytes += sizes.get(oid, 0)
                progress.advance(sizes.get(oid, 0))
    except BaseException:
        if cancel is not None:
            cancel()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    progress.close()
    result.transferred.sort()
