"""Planning a checkout: what it takes to make the work tree hold the bytes a pointer names.

Plans first, then acts (execute.py): if any work-tree file would be overwritten or deleted
while its bytes are not in the cache, nothing is touched (unless forced).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from gitmodel.artifacts import FileHasher, walk_folder
from gitmodel.cache.objects import missing_object
from gitmodel.digests import expected_digests
from gitmodel.errors import CorruptObjectError, WouldOverwriteError
from gitmodel.manifests import decode_dir_columns
from gitmodel.placement.folderfill import (
    FolderFill,
    folder_unchanged,
    is_new_folder,
    loose_stats,
    plan_fill,
)
from gitmodel.pointer import POINTER_SUFFIX, Pointer, is_git_name
from gitmodel.sizecheck import check_file_size, check_folder_sizes, wrong_size
from gitmodel.unshare import shares_object_inode
from gitmodel.workspace import Workspace, locate_artifact


@dataclass(frozen=True)
class Placement:
    """One file to write: object oid -> work-tree path."""

    oid: str
    dest: Path
    size: int
    executable: bool = False
    packed: bool = False  # only packed: reassembled straight into the work tree (copy mode)


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
    packed_size = None if pointer.kind != "file" or verify else _packed_copy(ws, pointer.oid)
    if packed_size is None and not ws.ensure_loose(pointer.oid):  # unpacked, then placed
        raise _missing(ws, pointer.oid, artifact)
    what = ws.repo.relpath(pointer_file)
    digests = expected_digests(ws, [pointer]) if verify else {}
    if pointer.kind == "dir" and is_new_folder(artifact):
        plan.fills.append(fill := plan_fill(ws, pointer.oid, artifact, verify, digests))
        check_folder_sizes(what, pointer.oid, pointer.size, fill.files, fill.object_stats)
        return
    if pointer.kind == "file":
        targets = [Placement(pointer.oid, artifact, pointer.size, packed=packed_size is not None)]
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
    stats = loose_stats(ws, [target.oid for target in targets if not target.packed])
    for target in targets:
        if target.oid not in stats and not target.packed:
            raise _missing(ws, target.oid, target.dest)
    if packed_size is not None and packed_size != pointer.size:
        raise wrong_size(what, pointer.size, pointer.oid, packed_size)
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


def _packed_copy(ws: Workspace, oid: str) -> int | None:
    """The size of `oid` if checkout is to reassemble it straight into the work tree: it is
    packed and not loose, and the link modes copy it (only reflink may come before copy: a
    clone of a loose copy costs the same one write). Then no loose copy is written to the
    cache only to be copied again (docs/pack-format.md, section 9)."""
    for mode in ws.link_modes:
        if mode == "copy":
            break
        if mode != "reflink":
            return None
    else:
        return None
    if ws.store.has(oid):
        return None
    recipe = ws.packs.recipe(oid)
    if recipe is None or not ws.packs.is_packed(oid):  # chunks in packs or other loose objects
        return None
    return recipe.size


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
            if not ws.in_cache(hasher.oid_of(work.path, work.st)):
                plan.conflicts.append(ws.repo.relpath(work.path))
        plan.conflicts += [ws.repo.relpath(artifact / rel) for rel in nested_git]
        plan.replace_trees.append(artifact)
    elif kind == "dir" and os.path.lexists(artifact) and not artifact.is_dir():
        st = os.lstat(artifact)
        if not ws.in_cache(hasher.oid_of(artifact, st)):
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
        if not ws.in_cache(current):
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
    if ws.in_cache(hasher.oid_of(path, st)):
        plan.removals.append(path)
    else:
        plan.kept.append(ws.repo.relpath(path))


def _missing(ws: Workspace, oid: str, dest: Path) -> Exception:
    error = missing_object(oid)
    error.message += f" (needed for {ws.repo.relpath(dest)})"
    return error
