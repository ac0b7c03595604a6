"""`git model gc`: delete objects nothing needs any more, local or on a remote.

"Needed" is computed from Git itself: every pointer version in the history of every branch,
tag, remote-tracking ref, stash entry and worktree HEAD, plus each worktree's index and work
tree, and (for a shared cache) those of every repository that registered with the cache.
With --keep-tags the history of branches is dropped, except commits not yet on any remote:
tag tips, HEADs, stashes, indexes, work trees and unpushed commits still keep their objects.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from gitmodel.cache.lock import file_lock
from gitmodel.commands.fsck import local_objects
from gitmodel.errors import GitModelError, UsageError
from gitmodel.git import GitRepo, run_git
from gitmodel.manifests import decode_dir_manifest
from gitmodel.pointer import POINTER_SUFFIX, Pointer, parse_pointer
from gitmodel.remotes.config import resolve_remote
from gitmodel.workspace import Workspace, open_workspace, registered_repos

ALL_REFS, KEEP_TAGS = "all-refs", "keep-tags"
DEFAULT_GRACE_HOURS = 24.0  # remote gc: keep unneeded objects younger than this


@dataclass
class GcResult:
    where: str
    scope: str
    dry_run: bool
    kept: int = 0
    deleted: list[tuple[str, int]] = field(default_factory=list)  # oid, size
    recent: int = 0  # unneeded remote objects kept because they are younger than the grace
    repos: list[str] = field(default_factory=list)  # repositories whose refs were read

    @property
    def freed(self) -> int:
        return sum(size for _, size in self.deleted)


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
        repos = [ws.repo.root, *[r for r in registered_repos(ws) if r != ws.repo.root]]
        pointers: list[Pointer] = []
        for root in repos:
            pointers += needed_pointers(GitRepo.discover(root), scope)
        needed, unknown = _needed_objects(ws, pointers)
        if remote is not None:
            result = _gc_remote(ws, remote, needed, unknown, scope, dry_run, grace_hours)
        else:
            result = GcResult("local cache", scope, dry_run)
            doomed = []
            for oid, path in local_objects(ws.store):
                if oid in needed:
                    result.kept += 1
                else:
                    result.deleted.append((oid, path.stat().st_size))
                    doomed.append(path)
            _refuse_if_unknown(unknown, result)
            if not dry_run:
                if doomed:  # a new cache generation: status re-checks the objects it trusted
                    ws.store.bump_generation()
                for path in doomed:
                    path.unlink()
                if doomed:
                    ws.store.bump_generation()
                ws.sweep_temps()
        result.repos = [str(r) for r in repos]
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


def needed_pointers(repo: GitRepo, scope: str) -> list[Pointer]:
    blobs: set[str] = set()
    stashes = run_git(["stash", "list", "--format=%H"], repo.root, check=False).stdout.split()
    heads = [h.decode() for h in stashes] + _worktree_heads(repo)
    if scope == ALL_REFS:
        blobs |= _pointer_blobs_in_history(repo, ["--all", *heads])
    elif scope == KEEP_TAGS:
        tips = run_git(["rev-list", "--no-walk", "--tags", "HEAD", *heads], repo.root).stdout
        for tip in tips.decode().split():
            blobs |= _pointer_blobs_in_tree(repo, tip)
        blobs |= _pointer_blobs_in_history(repo, ["--branches", "--not", "--remotes"])
    else:
        raise UsageError(f"unknown gc scope {scope!r}", "use --all-refs or --keep-tags")
    pointers = [_parse_blob(repo, blob) for blob in sorted(blobs)]
    pointers += _index_and_work_tree_pointers(repo)
    return [p for p in pointers if p is not None]


def _pointer_blobs_in_history(repo: GitRepo, revs: list[str]) -> set[str]:
    return set(repo.pointer_blobs_added(revs, POINTER_SUFFIX))


def _pointer_blobs_in_tree(repo: GitRepo, commit: str) -> set[str]:
    out = run_git(["ls-tree", "-r", "-z", commit], repo.root).stdout.decode(
        "utf-8", "surrogateescape"
    )
    blobs = set()
    for record in filter(None, out.split("\0")):
        meta, path = record.split("\t", 1)
        if path.endswith(POINTER_SUFFIX):
            blobs.add(meta.split()[2])
    return blobs


def _worktree_heads(repo: GitRepo) -> list[str]:
    out = run_git(["worktree", "list", "--porcelain"], repo.root).stdout.decode()
    return [line.split()[1] for line in out.splitlines() if line.startswith("HEAD ")]


def _worktree_roots(repo: GitRepo) -> list[Path]:
    out = run_git(["worktree", "list", "--porcelain"], repo.root).stdout.decode()
    return [
        Path(line[len("worktree ") :]) for line in out.splitlines() if line.startswith("worktree ")
    ]


def _index_and_work_tree_pointers(repo: GitRepo) -> list[Pointer | None]:
    found: list[Pointer | None] = []
    for root in _worktree_roots(repo):
        if not root.is_dir():
            continue
        staged = run_git(["ls-files", "-s", "-z", "--", f"*{POINTER_SUFFIX}"], root).stdout
        for record in filter(None, staged.decode("utf-8", "surrogateescape").split("\0")):
            found.append(_parse_blob(repo, record.split("\t", 1)[0].split()[1]))
        listed = run_git(
            [
                "ls-files",
                "-z",
                "--cached",
                "--others",
                "--exclude-standard",
                "--",
                f"*{POINTER_SUFFIX}",
            ],
            root,
        ).stdout
        for rel in filter(None, listed.decode("utf-8", "surrogateescape").split("\0")):
            path = root / rel
            if path.is_file():
                found.append(_parse(path.read_bytes(), str(path)))
    return found


def _parse_blob(repo: GitRepo, blob: str) -> Pointer | None:
    data = run_git(["cat-file", "blob", blob], repo.root).stdout
    return _parse(data, f"blob {blob[:12]}")


def _parse(data: bytes, source: str) -> Pointer | None:
    try:
        return parse_pointer(data, source)
    except GitModelError:
        return None  # a malformed pointer names nothing we can keep for it


def _needed_objects(ws: Workspace, pointers: list[Pointer]) -> tuple[set[str], list[Pointer]]:
    """Every oid the pointers need, and the folder pointers whose manifest is not here (their
    files cannot be listed, so gc must not delete anything while they are unknown)."""
    needed: set[str] = set()
    unknown: list[Pointer] = []
    for pointer in pointers:
        needed.add(pointer.oid)
        manifest = pointer.format.facts.get("manifest") if pointer.format else None
        if isinstance(manifest, str):
            needed.add(manifest)
        if pointer.kind != "dir":
            continue
        if not ws.store.has(pointer.oid):
            unknown.append(pointer)
            continue
        for entry in decode_dir_manifest(ws.store.read_bytes(pointer.oid), pointer.oid):
            needed.add(entry.oid)
            if entry.tensors:
                needed.add(entry.tensors)
    return needed, unknown


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
    Where the remote does not tell an object's age, only --grace 0 deletes it."""
    target = resolve_remote(ws.repo, name)
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
    _refuse_if_unknown(unknown, result)
    if not dry_run:
        for oid, _ in result.deleted:
            target.call(partial(target.delete, oid))
    return result
