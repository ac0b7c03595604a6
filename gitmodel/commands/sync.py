"""`git model push`, `fetch` and `pull`: share objects through a model remote."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gitmodel.cache.lock import file_lock
from gitmodel.digests import expected_digests, refuse_without_digest
from gitmodel.errors import GitModelError, UsageError
from gitmodel.manifestfetch import fetch_metadata
from gitmodel.pointer import Pointer, parse_pointer, read_pointer
from gitmodel.progress import ProgressCallback
from gitmodel.reachability import local_manifests, needed_objects, objects_of
from gitmodel.registry import Registry
from gitmodel.remotes.config import resolve_remote
from gitmodel.remotes.layout import missing_on
from gitmodel.selection import select_pointers
from gitmodel.sides import is_model_version
from gitmodel.transfer import TransferResult, default_jobs, download, upload
from gitmodel.workspace import Workspace, open_workspace, register_repo

if TYPE_CHECKING:
    from gitmodel.placement import CheckoutResult


@dataclass(frozen=True)
class SyncResult:
    remote: str
    pointers: int  # how many pointers were considered
    transfer: TransferResult


def push(
    remote: str | None = None,
    *,
    revs: Sequence[str] = (),
    all_versions: bool = False,
    jobs: int | None = None,
    repo: str | Path = ".",
    progress: ProgressCallback | None = None,
) -> SyncResult:
    """Upload the objects of HEAD's pointers (or of REVs, or of every registered version).
    `progress`, if given, hears of the bytes sent (gitmodel.progress.ProgressCallback)."""
    ws = open_workspace(Path(repo))
    target = resolve_remote(ws.repo, remote)
    pointers = _pointers_for(ws, revs or ["HEAD"], all_versions)
    with file_lock(ws.cache_lock, shared=True):
        oids = objects_of(ws, pointers)
        result = upload(ws.store, target, oids, jobs or default_jobs(target), progress)
    _raise_failures(result, "push")
    return SyncResult(target.label, len(pointers), result)


def fetch(
    targets: Sequence[str] = (),
    *,
    remote: str | None = None,
    revs: Sequence[str] = (),
    all_versions: bool = False,
    manifests_only: bool = False,
    jobs: int | None = None,
    repo: str | Path = ".",
    progress: ProgressCallback | None = None,
) -> SyncResult:
    """Download the objects the work tree's pointers name (or TARGETS', REVs', versions');
    with `manifests_only`, only their folder and tensor manifests, no weights. `progress`, if
    given, hears of the bytes received (gitmodel.progress.ProgressCallback)."""
    ws = open_workspace(Path(repo))
    register_repo(ws)
    source = resolve_remote(ws.repo, remote)
    pointers = _fetch_pointers(ws, targets, revs, all_versions, Path(repo))
    if manifests_only:  # nothing of them reaches the work tree: model.requireDigest is moot
        metadata = fetch_metadata(ws, source, pointers, jobs or default_jobs(source))
        _raise_failures(metadata, "fetch")
        return SyncResult(source.label, len(pointers), metadata)
    refuse_without_digest(ws, ((f"{p.name} ({p.path})", p) for p in pointers))
    total = TransferResult()
    with file_lock(ws.cache_lock, shared=True):
        needed = needed_objects(pointers, local_manifests(ws))
        asked: set[str] = set()
        while needed.oids - asked:  # folder manifests arrive first, then the files they list
            batch = needed.oids - asked
            asked |= batch
            digests = expected_digests(ws, pointers)  # a folder's files once its manifest is in
            step = download(
                ws.store,
                source,
                batch,
                jobs or default_jobs(source),
                claimed_sizes=needed.sizes,
                digests=digests,
                report_progress=progress,
            )
            total.add(step)
            needed = needed_objects(pointers, local_manifests(ws))
    _raise_failures(total, "fetch")
    return SyncResult(source.label, len(pointers), total)


def _raise_failures(result: TransferResult, verb: str) -> None:
    if result.failed:
        more = f" (and {len(result.failed) - 1} more)" if len(result.failed) > 1 else ""
        hint = f"run `git model {verb}` again; what already moved is kept"
        if " not on remote " in result.failed[0]:  # trying again cannot help: nobody pushed it
            hint = "push it from a clone that has it (git model push, --all-versions for old ones)"
        raise GitModelError(f"{verb} incomplete: {result.failed[0]}{more}", hint)


def _pointers_for(ws: Workspace, revs: Sequence[str], all_versions: bool) -> list[Pointer]:
    registry = Registry(ws)
    pointers: list[Pointer] = []
    for rev in revs:
        if is_model_version(registry, rev):
            version = registry.resolve(rev)
            pointers += [version.pointer] if version.pointer else []
            continue
        commit = ws.repo.resolve_commit(rev)
        for path in registry.reader.pointer_paths(commit):
            try:
                data = registry.reader.read_file(commit, path) or b""
                pointers.append(parse_pointer(data, path, location=path))
            except GitModelError:
                continue
    if all_versions:
        for history in registry.models.values():
            pointers += [v.pointer for v in history.versions if v.pointer is not None]
    return pointers


def _fetch_pointers(
    ws: Workspace, targets: Sequence[str], revs: Sequence[str], all_versions: bool, cwd: Path
) -> list[Pointer]:
    registry = Registry(ws)
    specs = [t for t in targets if is_model_version(registry, t)]
    paths = [t for t in targets if t not in specs]
    pointers = _pointers_for(ws, [*revs, *specs], all_versions)
    if paths or not (revs or specs or all_versions):
        pointers += [read_pointer(p) for p in select_pointers(ws, paths, cwd)]
    if not pointers:
        raise UsageError("no pointers to fetch", "track a model first: git model add PATH")
    return pointers


def pull(
    targets: Sequence[str] = (),
    *,
    remote: str | None = None,
    jobs: int | None = None,
    force: bool = False,
    repo: str | Path = ".",
    progress: ProgressCallback | None = None,
) -> tuple[SyncResult, CheckoutResult]:
    """fetch, then checkout: the exact bytes of the work tree's pointers (or TARGETS).
    `progress`, if given, hears of the bytes received, then of those placed."""
    from gitmodel.placement import place_targets

    fetched = fetch(targets, remote=remote, jobs=jobs, repo=repo, progress=progress)
    return fetched, place_targets(targets, Path(repo), force, verify=False, progress=progress)


def not_pushed(
    targets: Sequence[str] = (), *, remote: str | None = None, repo: str | Path = "."
) -> tuple[str, dict[str, int]]:
    """Per work-tree pointer (relative path), how many of its objects the remote lacks."""
    ws = open_workspace(Path(repo))
    target = resolve_remote(ws.repo, remote)
    files = select_pointers(ws, targets, Path(repo))
    needs: dict[str, set[str]] = {}
    for pointer_file in files:
        try:
            needs[ws.repo.relpath(pointer_file)] = objects_of(ws, [read_pointer(pointer_file)])
        except GitModelError:
            continue
    wanted = set().union(*needs.values()) if needs else set()
    lacking = missing_on(target, wanted, ws.store.root)  # neither loose nor in packs
    return target.label, {p: len(oids & lacking) for p, oids in needs.items() if oids & lacking}
