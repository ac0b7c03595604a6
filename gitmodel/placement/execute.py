"""Carrying out a checkout plan: pointers written and staged, bytes placed from the cache."""

from __future__ import annotations

import gc
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gitmodel.cache.links import materialise
from gitmodel.cache.lock import file_lock
from gitmodel.cache.objects import missing_object
from gitmodel.fsutil import atomic_write_bytes, make_writable
from gitmodel.placement.folderfill import execute_fill
from gitmodel.placement.plan import CheckoutPlan, Placement
from gitmodel.pointer import POINTER_SUFFIX
from gitmodel.progress import Progress, ProgressCallback
from gitmodel.workspace import Workspace


@contextmanager
def python_gc_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the block: a checkout allocates an object or
    more per file and frees nearly nothing, so the collections it would trigger scan a growing
    heap for no gain (tens of milliseconds for a folder of many files)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def write_pointers(ws: Workspace, pointer_writes: list[tuple[Path, bytes]]) -> None:
    """Write restored pointers, keep their artifacts ignored, and stage both."""
    if not pointer_writes:
        return
    from gitmodel.gitignore import ensure_ignored

    to_stage = []
    with file_lock(ws.repo_lock):
        for pointer_file, data in pointer_writes:
            if not pointer_file.exists() or pointer_file.read_bytes() != data:
                pointer_file.parent.mkdir(parents=True, exist_ok=True)
                atomic_write_bytes(pointer_file, data)
            artifact = pointer_file.with_name(pointer_file.name.removesuffix(POINTER_SUFFIX))
            gitignore = ensure_ignored(artifact)
            to_stage.append(ws.repo.relpath(pointer_file))
            if gitignore is not None:
                to_stage.append(ws.repo.relpath(gitignore))
        ws.repo.stage(to_stage)


def execute_plan(
    ws: Workspace, plan: CheckoutPlan, progress: ProgressCallback | None = None
) -> None:
    for tree in plan.replace_trees:
        if tree.is_dir() and not tree.is_symlink():
            for sub in tree.rglob("*"):
                make_writable(sub)
            shutil.rmtree(tree)
        else:
            tree.unlink()
    for path in plan.removals:
        path.unlink()
    total = sum(p.size for p in plan.writes) + sum(sum(f.files.sizes) for f in plan.fills)
    placed = Progress("Checking out", total, progress)
    recorded = []
    for placement in plan.writes:
        dest = placement.dest
        if plan.folders_in_the_way and dest in plan.folders_in_the_way and dest.is_dir():
            shutil.rmtree(dest)
        if placement.packed:
            recorded.append((dest, _reassemble_in_place(ws, placement), placement.oid))
            placed.advance(placement.size)
            continue
        location = ws.store.location(placement.oid)
        mode = materialise(location, dest, ws.link_modes, placement.executable, ws.work_temps())
        linked = plan.object_stats.get(placement.oid) if mode == "hardlink" else None
        recorded.append((dest, linked or os.lstat(dest), placement.oid))
        placed.advance(placement.size)
    ws.stat_cache.record_many(recorded)
    for fill in plan.fills:
        execute_fill(ws, fill, placed)
    placed.close()


def _reassemble_in_place(ws: Workspace, placement: Placement) -> os.stat_result:
    """A packed object's bytes reassembled straight into a work-tree file (through a temp
    file, renamed only once it hashes to its oid), a writable copy; the cache stays packed."""
    recipe = ws.packs.recipe(placement.oid)
    if recipe is None:  # planned as packed, under the cache lock: gc cannot have run
        raise missing_object(placement.oid)
    dest = placement.dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    temp = Path(ws.work_temps().name_for(str(dest)))
    mode = 0o755 if placement.executable else 0o644
    return ws.packs.reassemble(recipe, dest, temp, mode, sync=False)
