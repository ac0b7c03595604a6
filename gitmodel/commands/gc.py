"""`git model gc`: delete objects nothing needs any more, local or on a remote; pack the
local cache (gitmodel/packing.py).

"Needed" is computed from Git itself: every pointer version in the history of every branch,
tag, remote-tracking ref, stash entry and worktree HEAD, plus each worktree's index and work
tree, and (for a shared cache) those of every repository that registered with the cache.
With --keep-tags the history of branches is dropped, except commits not yet on any remote:
tag tips, HEADs, stashes, indexes, work trees and unpushed commits still keep their objects.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from gitmodel.cache.lock import file_lock
from gitmodel.errors import GitModelError, UsageError
from gitmodel.packing import PackingResult, pack_cache, packed_garbage
from gitmodel.packs.recipe import Recipe
from gitmodel.packs.store import LocalPacks
from gitmodel.pointer import Pointer
from gitmodel.reachability import ALL_REFS, KEEP_TAGS, Needed, needed_by_git
from gitmodel.remotes.base import IncompleteUpload, Remote
from gitmodel.remotes.config import resolve_remote
from gitmodel.remotes.layout import RemotePacks
from gitmodel.remotes.packgc import PackGcResult, gc_packs
from gitmodel.workspace import Workspace, open_workspace

__all__ = ["ALL_REFS", "DEFAULT_GRACE_HOURS", "KEEP_TAGS", "GcResult", "gc"]
DEFAULT_GRACE_HOURS = 24.0  # remote gc: keep unneeded objects younger than this


@dataclass
class GcResult:
    where: str
    scope: str
    dry_run: bool
    kept: int = 0
    deleted: list[tuple[str, int]] = field(default_factory=list)  # oid, size
    recent: int = 0  # unneeded remote objects kept because they are younger than the grace
    # Incomplete uploads on a remote (killed or failed pushes): aborted, or kept as recent.
    aborted: list[IncompleteUpload] = field(default_factory=list)
    recent_uploads: int = 0
    repos: list[str] = field(default_factory=list)  # repositories whose refs were read
    packing: PackingResult | None = None  # local gc: what went into packs
    # A remote in the packed layout: its recipes (also in `deleted`) and packs.
    packs: PackGcResult | None = None

    @property
    def freed(self) -> int:
        loose = sum(size for _, size in self.deleted)
        if self.packs is None:
            return loose
        recipes = sum(size for _, size in self.packs.deleted_recipes)
        files = sum(size for _, size in self.packs.deleted_files)  # freed by pack rewrites
        return loose - recipes - files + self.packs.freed


def gc(
    *,
    dry_run: bool = False,
    remote: str | None = None,
    scope: str = ALL_REFS,
    grace_hours: float | None = None,
    repo: str | Path = ".",
) -> GcResult:
    """Delete (or with `dry_run` list) the objects nothing needs. `grace_hours` (remote only,
    default 24): unneeded objects written more recently stay."""
    grace_hours = _checked_grace(grace_hours, remote)
    ws = open_workspace(Path(repo))
    with file_lock(ws.cache_lock):  # exclusive: no add or checkout runs while we decide
        reachable = needed_by_git(ws, scope)
        needed, unknown = reachable.oids, reachable.unknown
        if remote is not None:
            result = _gc_remote(ws, remote, needed, unknown, scope, dry_run, grace_hours)
        else:
            result = _gc_local(ws, reachable, scope, dry_run)
        result.repos = [str(r) for r in reachable.repos]
    return result


def _gc_local(ws: Workspace, reachable: Needed, scope: str, dry_run: bool) -> GcResult:
    """Delete unneeded loose objects (and recipes of unneeded packed ones), then pack."""
    result = GcResult("local cache", scope, dry_run)
    doomed = []
    kept: dict[str, Path] = {}
    for oid, path in ws.store.local_objects():
        if oid in reachable.oids:
            result.kept += 1
            kept[oid] = path
        else:
            result.deleted.append((oid, path.stat().st_size))
            doomed.append(path)
    result.deleted += packed_garbage(ws, reachable.oids, kept)
    _refuse_if_unknown(reachable.unknown, result)
    if not dry_run:
        ws.sweep_temps()
    # Packing first: a packed version may need chunks that only an unneeded loose object
    # holds (a version checked out at the last gc), which it copies into packs.
    result.packing = pack_cache(ws, reachable, kept, dry_run)
    result.kept += result.packing.only_packed
    if not dry_run and doomed:
        ws.store.bump_generation()  # a new cache generation: status re-checks what it trusted
        for path in doomed:
            path.unlink()
        ws.store.bump_generation()
    return result


def _checked_grace(grace_hours: float | None, remote: str | None) -> float:
    if grace_hours is None:
        return DEFAULT_GRACE_HOURS
    if remote is None:
        raise UsageError(
            "--grace applies to a remote's objects",
            "pass --remote NAME, or leave --grace out for the local cache",
        )
    if not grace_hours >= 0:  # also refuses NaN
        raise UsageError(f"--grace {grace_hours}: not a number of hours", "pass 0 or more, e.g. 24")
    return grace_hours


def _refuse_if_unknown(unknown: list[Pointer], result: GcResult) -> None:
    if unknown and (result.deleted or result.recent):
        raise GitModelError(
            f"cannot tell which objects folder {unknown[0].name!r} needs: its manifest "
            f"{unknown[0].oid} is not in the local cache, so gc deletes nothing",
            "fetch it first (git model fetch; --rev REV or --all-versions for older ones), "
            "then run gc again",
        )


def _gc_remote(
    ws: Workspace,
    name: str,
    needed: set[str],
    unknown: list[Pointer],
    scope: str,
    dry_run: bool,
    grace_hours: float,
) -> GcResult:
    """Unneeded objects written within the grace period stay: they may belong to a commit
    whose `git push` has not landed yet (objects go up before the commit that names them).
    Where the remote does not tell an object's age, only --grace 0 deletes it. Incomplete
    uploads that killed or failed pushes left are aborted under the same grace."""
    target = resolve_remote(ws.repo, name)
    view = RemotePacks.open(target, ws.store.root)  # refuses a layout newer than ours
    result = GcResult(target.label, scope, dry_run)
    cutoff = time.time() - grace_hours * 3600
    for oid in sorted(target.call(target.list_oids)):
        if oid in needed:
            result.kept += 1
            continue
        size, written = target.call(partial(target.size_and_age, oid))
        if grace_hours > 0 and (written is None or written > cutoff):
            result.recent += 1
        else:
            result.deleted.append((oid, size))
    for upload in target.call(target.incomplete_uploads):
        if grace_hours > 0 and (upload.started is None or upload.started > cutoff):
            result.recent_uploads += 1  # perhaps a push still running
        else:
            result.aborted.append(upload)
    _refuse_if_unknown(unknown, result)
    if not dry_run:
        for oid, _ in result.deleted:
            target.call(partial(target.delete, oid))
        for upload in result.aborted:
            target.call(partial(target.abort_upload, upload))
    if view.version is not None:
        result.packs = _gc_packs(ws, target, view, needed, unknown, result, dry_run, grace_hours)
    return result


def _gc_packs(
    ws: Workspace,
    target: Remote,
    view: RemotePacks,
    needed: set[str],
    unknown: list[Pointer],
    result: GcResult,
    dry_run: bool,
    grace_hours: float,
) -> PackGcResult:
    local = LocalPacks(ws.store.root)

    def recipe_of(oid: str) -> Recipe:
        return local.recipe(oid) or view.read_recipe(oid)

    cutoff = time.time() - grace_hours * 3600 if grace_hours > 0 else None
    work = ws.store.tmp_dir / f"gc-{os.getpid()}-{os.urandom(4).hex()}"
    if unknown:  # would anything go? then refuse, as for loose objects
        plan = gc_packs(target, view, needed, recipe_of, cutoff, True, work)
        going = len(plan.deleted_recipes) + len(plan.deleted_files)
        _refuse_if_unknown(unknown, GcResult(result.where, result.scope, True, recent=going))
    packs = gc_packs(target, view, needed, recipe_of, cutoff, dry_run, work)
    result.deleted += packs.deleted_recipes + packs.deleted_files
    result.recent += packs.recent_recipes + packs.recent_files
    result.kept += sum(1 for oid in view.recipes if oid in needed) + packs.kept_files
    return packs
