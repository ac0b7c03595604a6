"""`git model checkout`: put the bytes every pointer names into the work tree.

Plans first, then acts: if any work-tree file would be overwritten or deleted while its bytes
are not in the cache, nothing is touched (unless --force).

A folder artifact that is not in the work tree yet (the common case: a fresh clone, a switch
of branch) skips the file-by-file planning (commands/folderfill.py).
"""

from __future__ import annotations

import gc
import os
import shutil
import stat
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from gitmodel.artifacts import FileHasher, walk_folder
from gitmodel.cache.links import materialise
from gitmodel.cache.lock import file_lock
from gitmodel.cache.objects import missing_object
from gitmodel.commands.folderfill import (
    FolderFill,
    execute_fill,
    folder_unchanged,
    is_new_folder,
    plan_fill,
)
from gitmodel.digests import expected_digests, refuse_without_digest
from gitmodel.errors import CorruptObjectError, UsageError, WouldOverwriteError
from gitmodel.fsutil import atomic_write_bytes, make_writable
from gitmodel.manifests import decode_dir_columns
from gitmodel.pointer import POINTER_SUFFIX, Pointer, is_git_name, read_pointer
from gitmodel.progress import Progress
from gitmodel.selection import select_pointers
from gitmodel.sizecheck import check_file_size, check_folder_sizes
from gitmodel.unshare import shares_object_inode
from gitmodel.workspace import Workspace, locate_artifact, open_workspace, register_repo

if TYPE_CHECKING:  # the registry (and Git history reading) is imported only for NAME@vX
    from gitmodel.registry import ModelVersion, Registry


@dataclass(frozen=True)
class Placement:
    """One file to write: object oid -> work-tree path."""

    oid: str
    dest: Path
    size: int
    executable: bool = False


@dataclass
class CheckoutPlan:
    writes: list[Placement] = field(default_factory=list)
    removals: list[Path] = field(default_factory=list)  # cached copies the manifest dropped
    replace_trees: list[Path] = field(default_factory=list)  # a folder where a file goes
    conflicts: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # extra files we may not delete
    unchanged: list[str] = field(default_factory=list)
    folders_in_the_way: set[Path] = field(default_factory=set)  # where a write's file goes
    # oid -> the object's stat: a hard link to it has the same inode, mtime and size
    object_stats: dict[str, os.stat_result] = field(default_factory=dict)
    fills: list[FolderFill] = field(default_factory=list)  # folders not in the work tree yet


@dataclass(frozen=True)
class CheckoutResult:
    restored: list[str]
    unchanged: list[str]
    removed: list[str]
    kept: list[str]


def checkout(
    targets: Sequence[str | Path] = (),
    *,
    repo: str | Path = ".",
    force: bool = False,
    verify: bool = False,
    side: str | None = None,
) -> CheckoutResult:
    """Materialise artifacts. A target NAME@vX.Y.Z, NAME@latest or NAME#STAGE first restores
    that version's pointer (like `git checkout TAG -- POINTER`, staged), then its bytes.
    With `side` ("ours" or "theirs"), each target is a pointer in a merge conflict (default:
    every one): that side's pointer is written and staged, resolving it, then its bytes."""
    if side is not None:
        from gitmodel.conflicts import resolve_conflicts

        targets = resolve_conflicts(Path(repo), targets, side)
    with paused_gc():
        return _checkout(targets, Path(repo), force, verify)


@contextmanager
def paused_gc() -> Iterator[None]:
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


def _checkout(
    targets: Sequence[str | Path], repo: Path, force: bool, verify: bool
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
        execute_plan(ws, plan)
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


def plan_version(
    ws: Workspace,
    registry: Registry,
    version: ModelVersion,
    plan: CheckoutPlan,
    verify: bool,
    force: bool,
) -> tuple[Path, bytes]:
    """Plan restoring a registered version; returns the pointer file and bytes to write."""
    if version.pointer is None or version.pointer_path is None:
        raise UsageError(
            f"{version.tag} points at {version.commit[:12]}, which has no pointer for "
            f"{version.name}",
            "the tag was made on the wrong commit; delete and recreate it",
        )
    data = registry.reader.read_file(version.commit, version.pointer_path) or b""
    pointer_file = ws.repo.root / version.pointer_path
    if (
        not force
        and _has_uncommitted_changes(ws, pointer_file, data)
        and not _is_a_registered_version(registry, version.name, pointer_file.read_bytes())
    ):
        raise WouldOverwriteError(
            f"{version.pointer_path} has uncommitted changes",
            "commit them, or discard them with --force",
        )
    plan_artifact(ws, version.pointer, pointer_file, plan, verify)
    return pointer_file, data


def _has_uncommitted_changes(ws: Workspace, pointer_file: Path, replacement: bytes) -> bool:
    if not pointer_file.exists() or pointer_file.read_bytes() == replacement:
        return False
    return bool(ws.repo.git("status", "--porcelain", "--", ws.repo.relpath(pointer_file)).strip())


def _is_a_registered_version(registry: Registry, name: str, data: bytes) -> bool:
    """Whether `data` is exactly some registered version's pointer (so nothing is lost by
    replacing it, e.g. after an earlier `git model checkout NAME@vX`)."""
    return any(
        v.pointer_path is not None and registry.reader.read_file(v.commit, v.pointer_path) == data
        for v in registry.history(name).versions
    )


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


def refuse_conflicts(plan: CheckoutPlan, force: bool) -> None:
    if plan.conflicts and not force:
        shown = ", ".join(plan.conflicts[:5]) + (" …" if len(plan.conflicts) > 5 else "")
        raise WouldOverwriteError(
            f"checkout would overwrite changes not saved in the cache: {shown}",
            "save them with `git model add`, or discard them with --force",
        )


def plan_artifact(
    ws: Workspace, pointer: Pointer, pointer_file: Path, plan: CheckoutPlan, verify: bool
) -> None:
    """Add to `plan` what it takes to make the work tree hold the bytes `pointer` names."""
    artifact = locate_artifact(ws, pointer_file, pointer, to_write=True)
    ws.work_temps().sweep_beside(str(artifact))
    if not ws.store.has(pointer.oid):
        raise _missing(ws, pointer.oid, artifact)
    what = ws.repo.relpath(pointer_file)
    digests = expected_digests(ws, [pointer]) if verify else {}
    if pointer.kind == "dir" and is_new_folder(artifact):
        plan.fills.append(fill := plan_fill(ws, pointer.oid, artifact, verify, digests))
        check_folder_sizes(what, pointer.oid, pointer.size, fill.files, fill.object_stats)
        return
    if pointer.kind == "file":
        targets = [Placement(pointer.oid, artifact, pointer.size)]
    else:
        c = decode_dir_columns(ws.store.read_bytes(pointer.oid), pointer.oid)
        check_folder_sizes(what, pointer.oid, pointer.size, c, {})  # the total, at least
        if not verify and folder_unchanged(ws, artifact, pointer.oid):
            prefix = ws.repo.relpath(artifact) + "/"
            plan.unchanged += [prefix + path for path in c.paths]
            return
        top = str(artifact)
        targets = [
            Placement(oid, Path(f"{top}/{path}"), size, executable)
            for path, oid, size, executable in zip(
                c.paths, c.oids, c.sizes, c.executable, strict=True
            )
        ]
    stats = ws.store.stats_of([target.oid for target in targets])
    for target in targets:
        if target.oid not in stats:
            raise _missing(ws, target.oid, target.dest)
    if pointer.kind == "file":
        check_file_size(what, pointer.oid, pointer.size, stats.get(pointer.oid))
    else:
        check_folder_sizes(what, pointer.oid, pointer.size, c, stats)
    plan.object_stats.update(stats)
    if verify:
        for oid in stats:
            ws.store.verify(oid, digests.get(oid))
    hasher = FileHasher(ws, artifact if pointer.kind == "dir" else None)
    _plan_root(ws, artifact, pointer.kind, plan, hasher)
    found = _found_in_folder(artifact) if pointer.kind == "dir" else None
    for target in targets:
        _plan_file(ws, target, plan, hasher, _lstat(target.dest, found))
    if found:
        wanted = {str(t.dest) for t in targets}
        for location, st in found.items():
            if location not in wanted and _is_work_file(location, st):
                _plan_extra(ws, Path(location), st, plan, hasher)
    hasher.save()


def _found_in_folder(folder: Path) -> dict[str, os.stat_result]:
    """Everything under `folder` (files, links and folders) by absolute path, with its lstat:
    one scan instead of a few stat calls per manifest entry. Empty if it is no real folder."""
    found: dict[str, os.stat_result] = {}

    def visit(directory: str) -> None:
        with os.scandir(directory) as entries:
            for entry in entries:
                if is_git_name(entry.name):
                    continue  # a nested repository's own folder is never touched
                st = entry.stat(follow_symlinks=False)
                found[entry.path] = st
                if stat.S_ISDIR(st.st_mode):
                    visit(entry.path)

    if folder.is_dir() and not folder.is_symlink():
        visit(str(folder))
    return found


def _lstat(path: Path, found: dict[str, os.stat_result] | None) -> os.stat_result | None:
    if found is not None:
        return found.get(str(path))
    try:
        return os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None


def _is_work_file(location: str, st: os.stat_result) -> bool:
    """What walk_folder lists: regular files and symlinks, not pointer files."""
    kind = stat.S_IFMT(st.st_mode)
    return kind in (stat.S_IFREG, stat.S_IFLNK) and not location.endswith(POINTER_SUFFIX)


def _plan_root(
    ws: Workspace, artifact: Path, kind: str, plan: CheckoutPlan, hasher: FileHasher
) -> None:
    """Handle a folder standing where a file goes, or a file where a folder goes."""
    if kind == "file" and artifact.is_dir() and not artifact.is_symlink():
        nested_git: list[str] = []  # never in the cache: in the way, like a changed file
        for work in walk_folder(artifact, nested_git):
            if not ws.store.has(hasher.oid_of(work.path, work.st)):
                plan.conflicts.append(ws.repo.relpath(work.path))
        plan.conflicts += [ws.repo.relpath(artifact / rel) for rel in nested_git]
        plan.replace_trees.append(artifact)
    elif kind == "dir" and os.path.lexists(artifact) and not artifact.is_dir():
        st = os.lstat(artifact)
        if not ws.store.has(hasher.oid_of(artifact, st)):
            plan.conflicts.append(ws.repo.relpath(artifact))
        plan.replace_trees.append(artifact)


def _plan_file(
    ws: Workspace,
    target: Placement,
    plan: CheckoutPlan,
    hasher: FileHasher,
    st: os.stat_result | None,
) -> None:
    """`st`: the lstat of what is at the target's path now, None if nothing is."""
    dest = target.dest
    if st is not None and stat.S_ISDIR(st.st_mode):
        if dest not in plan.replace_trees:  # else _plan_root judged the folder's files
            plan.conflicts.append(ws.repo.relpath(dest) + "/")
        plan.folders_in_the_way.add(dest)
    elif st is not None:
        current = hasher.oid_of(dest, st)
        if current == target.oid and not shares_object_inode(ws, st, current):
            plan.unchanged.append(ws.relpath(dest))
            return
        if current != target.oid and _shares_inode(st, ws.store.path(target.oid)):
            raise CorruptObjectError(
                f"{ws.repo.relpath(dest)} was edited in place through a hard link, so object "
                f"{target.oid} in the cache changed with it",
                "keep the edit with `git model add`; the old bytes come back only from a "
                "remote (delete the object, then `git model pull`)",
            )
        if not ws.store.has(current):
            plan.conflicts.append(ws.repo.relpath(dest))
    plan.writes.append(target)


def _shares_inode(st: os.stat_result, object_path: Path) -> bool:
    try:
        obj = os.stat(object_path)
    except FileNotFoundError:
        return False
    return (st.st_ino, st.st_dev) == (obj.st_ino, obj.st_dev)


def _plan_extra(
    ws: Workspace, path: Path, st: os.stat_result, plan: CheckoutPlan, hasher: FileHasher
) -> None:
    if ws.store.has(hasher.oid_of(path, st)):
        plan.removals.append(path)
    else:
        plan.kept.append(ws.repo.relpath(path))


def execute_plan(ws: Workspace, plan: CheckoutPlan) -> None:
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
    progress = Progress("Checking out", total)
    recorded = []
    for placement in plan.writes:
        dest = placement.dest
        if plan.folders_in_the_way and dest in plan.folders_in_the_way and dest.is_dir():
            shutil.rmtree(dest)
        location = ws.store.location(placement.oid)
        mode = materialise(location, dest, ws.link_modes, placement.executable, ws.work_temps())
        linked = plan.object_stats.get(placement.oid) if mode == "hardlink" else None
        recorded.append((dest, linked or os.lstat(dest), placement.oid))
        progress.advance(placement.size)
    ws.stat_cache.record_many(recorded)
    for fill in plan.fills:
        execute_fill(ws, fill, progress)
    progress.close()


def _missing(ws: Workspace, oid: str, dest: Path) -> Exception:
    error = missing_object(oid)
    error.message += f" (needed for {ws.repo.relpath(dest)})"
    return error
