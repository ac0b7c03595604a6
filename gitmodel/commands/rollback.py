"""`git model rollback`: a new commit restoring an earlier version (history is never rewritten)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gitmodel.cache.lock import file_lock
from gitmodel.digests import refuse_without_digest
from gitmodel.errors import GitError, GitModelError, UsageError
from gitmodel.fsutil import atomic_write_bytes
from gitmodel.placement import (
    CheckoutPlan,
    execute_plan,
    plan_artifact,
    plan_version,
    python_gc_paused,
    refuse_conflicts,
    write_pointers,
)
from gitmodel.pointer import parse_pointer
from gitmodel.progress import ProgressCallback
from gitmodel.registry import ModelHistory, ModelVersion, Registry
from gitmodel.semver import SemVer
from gitmodel.stages import StageChange, assign_stage, check_stage_name
from gitmodel.workspace import Workspace, open_workspace


@dataclass(frozen=True)
class RollbackResult:
    name: str
    target: ModelVersion
    previous: ModelVersion | None  # the version rolled back from (None if unregistered)
    commit: str | None  # the new commit, unless --no-commit or nothing changed
    stage_change: StageChange | None


def rollback(
    name: str,
    *,
    to: str | None = None,
    stage: str | None = None,
    no_commit: bool = False,
    force: bool = False,
    repo: str | Path = ".",
    progress: ProgressCallback | None = None,
) -> RollbackResult:
    """Restore an earlier version's pointer and bytes, commit it, and optionally re-assign
    a stage to it. Default target: the version before the current one (or before the one
    the stage points at, with `stage`). `progress`, if given, hears of the bytes placed
    (gitmodel.progress.ProgressCallback)."""
    ws = open_workspace(Path(repo))
    registry = Registry(ws)
    history = registry.history(name)
    if stage is not None:
        check_stage_name(ws, stage)
    current = _current_version(ws, registry, history, stage)
    target = _target_version(history, current, to)
    if target.pointer is not None:
        refuse_without_digest(ws, [(f"{target.tag}:{target.pointer_path}", target.pointer)])
    plan = CheckoutPlan()
    with python_gc_paused(), file_lock(ws.cache_lock, shared=True):
        pointer_file, data = plan_version(ws, registry, target, plan, False, force)
        refuse_conflicts(plan, force)
        # compare with HEAD, not the work tree: `checkout NAME@vX` may have staged it already
        head = ws.repo.head_commit()
        relpath = ws.repo.relpath(pointer_file)
        changed = head is None or registry.reader.read_file(head, relpath) != data
        old = pointer_file.read_bytes() if pointer_file.is_file() else None
        before = _PointerState(relpath, old, ws.repo.index_entry(relpath))
        write_pointers(ws, [(pointer_file, data)])
        execute_plan(ws, plan, progress)
    ws.stat_cache.close()
    commit = None
    if changed and not no_commit:
        was = f" (was {current.version})" if current else ""
        message = f"Roll back {name} to {target.version}{was}"
        try:
            commit = ws.repo.commit_paths(message, [relpath])
        except GitError as exc:
            raise GitError(exc.message, _undo(ws, before, progress)) from None
    stage_change = None
    if stage is not None:
        stage_change = assign_stage(ws, registry, target, stage, None)
    return RollbackResult(name, target, current, commit, stage_change)


@dataclass(frozen=True)
class _PointerState:
    """What a rollback changes, as it was before: the pointer's bytes and its index entry."""

    relpath: str
    data: bytes | None
    index_entry: str | None


def _undo(ws: Workspace, before: _PointerState, progress: ProgressCallback | None) -> str:
    """Put the pointer, its index entry and its artifact's bytes back as they were (the old
    bytes are in the cache: the rollback refused to overwrite any that were not, unless
    --force); returns the hint for the error that caused it."""
    pointer_file = ws.repo.root / before.relpath
    if before.data is None:
        pointer_file.unlink(missing_ok=True)
    else:
        atomic_write_bytes(pointer_file, before.data)
    ws.repo.restore_index_entry(before.relpath, before.index_entry)
    if before.data is None:
        return "the rollback was undone; fix the cause, then run it again"
    try:
        pointer = parse_pointer(before.data, before.relpath)
        plan = CheckoutPlan()
        with python_gc_paused(), file_lock(ws.cache_lock, shared=True):
            plan_artifact(ws, pointer, pointer_file, plan, False)
            refuse_conflicts(plan, False)
            execute_plan(ws, plan, progress)
        ws.stat_cache.close()
    except GitModelError as exc:
        return (
            f"the pointer was restored, but not its artifact ({exc.message}); "
            f"fix the cause, then run `git model checkout {before.relpath}` and the rollback again"
        )
    return "the rollback was undone; fix the cause, then run it again"


def _current_version(
    ws: Workspace, registry: Registry, history: ModelHistory, stage: str | None
) -> ModelVersion | None:
    if stage is not None:
        current = history.stages().get(stage)
        if current is None:
            raise UsageError(
                f"{history.name} has no version in stage {stage!r}",
                f"pass --to VERSION, or see stages with `git model versions {history.name}`",
            )
        return current
    # the committed pointer: `checkout NAME@vX` may have changed the work tree's already
    head = ws.repo.head_commit()
    found = registry.pointer_at(head, history.name) if head else None
    if found is not None:
        same = [v for v in history.versions if v.pointer and v.pointer.oid == found[1].oid]
        if same:
            return same[-1]
    return None


def _target_version(
    history: ModelHistory, current: ModelVersion | None, to: str | None
) -> ModelVersion:
    if to is not None:
        wanted = SemVer.parse(f"v{to}" if to[:1].isdigit() else to)
        found = history.find(wanted)
        if found is None:
            known = ", ".join(str(v.version) for v in history.versions)
            raise UsageError(
                f"{history.name}@{wanted} is not a registered version (known: {known})",
                f"list versions with `git model versions {history.name}`",
            )
        return found
    if current is None:
        raise UsageError(
            f"the {history.name} pointer at HEAD is not a registered version",
            "say which version to go back to with --to VERSION",
        )
    earlier = [v for v in history.versions if v.version < current.version]
    if not earlier:
        raise UsageError(
            f"{history.name} {current.version} is the first version; there is none before it",
            "pass --to VERSION to choose one",
        )
    return earlier[-1]
