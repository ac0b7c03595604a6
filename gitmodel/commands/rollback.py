"""`git model rollback`: a new commit restoring an earlier version (history is never rewritten)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gitmodel.cache.lock import file_lock
from gitmodel.commands.checkout import (
    CheckoutPlan,
    execute_plan,
    paused_gc,
    plan_version,
    refuse_conflicts,
    write_pointers,
)
from gitmodel.commands.promote import StageChange, assign_stage, check_stage_name
from gitmodel.digests import refuse_without_digest
from gitmodel.errors import UsageError
from gitmodel.registry import ModelHistory, ModelVersion, Registry
from gitmodel.semver import SemVer
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
) -> RollbackResult:
    """Restore an earlier version's pointer and bytes, commit it, and optionally re-assign
    a stage to it. Default target: the version before the current one (or before the one
    the stage points at, with `stage`)."""
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
    with paused_gc(), file_lock(ws.cache_lock, shared=True):
        pointer_file, data = plan_version(ws, registry, target, plan, False, force)
        refuse_conflicts(plan, force)
        # compare with HEAD, not the work tree: `checkout NAME@vX` may have staged it already
        head = ws.repo.head_commit()
        relpath = ws.repo.relpath(pointer_file)
        changed = head is None or registry.reader.read_file(head, relpath) != data
        write_pointers(ws, [(pointer_file, data)])
        execute_plan(ws, plan)
    ws.stat_cache.close()
    commit = None
    if changed and not no_commit:
        was = f" (was {current.version})" if current else ""
        message = f"Roll back {name} to {target.version}{was}"
        commit = ws.repo.commit_paths(message, [relpath])
    stage_change = None
    if stage is not None:
        stage_change = assign_stage(ws, registry, target, stage, None)
    return RollbackResult(name, target, current, commit, stage_change)


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
