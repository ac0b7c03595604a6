"""Checkout of the pointers and versions a user names: what `git model checkout` and
`git model pull` run."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gitmodel.cache.lock import file_lock
from gitmodel.digests import refuse_without_digest
from gitmodel.placement.execute import execute_plan, python_gc_paused, write_pointers
from gitmodel.placement.plan import CheckoutPlan, plan_artifact, refuse_conflicts
from gitmodel.placement.versions import plan_version
from gitmodel.pointer import read_pointer
from gitmodel.progress import ProgressCallback
from gitmodel.selection import select_pointers
from gitmodel.workspace import open_workspace, register_repo


@dataclass(frozen=True)
class CheckoutResult:
    restored: list[str]
    unchanged: list[str]
    removed: list[str]
    kept: list[str]


def place_targets(
    targets: Sequence[str | Path],
    repo: Path,
    force: bool,
    verify: bool,
    progress: ProgressCallback | None = None,
) -> CheckoutResult:
    """Materialise the pointers (paths) and registered versions (NAME@vX.Y.Z…) in `targets`,
    every pointer of the work tree if none is given."""
    with python_gc_paused():
        return _place_targets(targets, repo, force, verify, progress)


def _place_targets(
    targets: Sequence[str | Path],
    repo: Path,
    force: bool,
    verify: bool,
    progress: ProgressCallback | None,
) -> CheckoutResult:
    ws = open_workspace(repo)
    register_repo(ws)
    ws.sweep_temps()
    specs = [str(t) for t in targets if _is_spec(repo, str(t))]
    paths = [t for t in targets if str(t) not in specs]
    plan = CheckoutPlan()
    pointer_writes: list[tuple[Path, bytes]] = []
    with file_lock(ws.cache_lock, shared=True):
        if specs:
            from gitmodel.registry import Registry

            registry = Registry(ws)
            for spec in specs:
                version = registry.resolve(spec)
                if version.pointer is not None:
                    refuse_without_digest(
                        ws, [(f"{version.tag}:{version.pointer_path}", version.pointer)]
                    )
                pointer_writes.append(plan_version(ws, registry, version, plan, verify, force))
        if paths or not specs:
            for pointer_file in select_pointers(ws, paths, repo):
                pointer = read_pointer(pointer_file)
                refuse_without_digest(ws, [(ws.repo.relpath(pointer_file), pointer)])
                plan_artifact(ws, pointer, pointer_file, plan, verify)
        refuse_conflicts(plan, force)
        write_pointers(ws, pointer_writes)
        execute_plan(ws, plan, progress)
    ws.stat_cache.close()
    rel = ws.relpath
    restored = [rel(p.dest) for p in plan.writes]
    for fill in plan.fills:
        prefix = ws.repo.relpath(fill.folder) + "/"
        restored += [prefix + path for path in fill.files.paths]
    return CheckoutResult(
        restored=restored,
        unchanged=plan.unchanged,
        removed=[rel(p) for p in plan.removals],
        kept=plan.kept,
    )


def _is_spec(cwd: Path, target: str) -> bool:
    from gitmodel.registry import is_version_spec

    return is_version_spec(target) and not os.path.lexists(cwd / target)
