"""Which objects Git needs: every pointer that any ref, stash, worktree, index or work tree
holds (in this repository and every one registered with a shared cache), and every object
those pointers name (the artifact, its tensor manifest, a folder's files).

`gc` keeps exactly this set; `fsck --remote` reports what of it a remote lacks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from gitmodel.errors import GitModelError, UsageError
from gitmodel.git import GitRepo
from gitmodel.manifests import decode_dir_manifest
from gitmodel.pointer import POINTER_SUFFIX, Pointer, parse_pointer
from gitmodel.workspace import Workspace, registered_repos

ALL_REFS, KEEP_TAGS = "all-refs", "keep-tags"

# The bytes of a folder manifest by oid, or None where they cannot be had.
ManifestReader = Callable[[str], bytes | None]


@dataclass
class Needed:
    oids: set[str] = field(default_factory=set)
    # oid -> each size recorded for it (by a file pointer or a folder manifest entry) -> who
    # records it: what the object's bytes must measure (sizecheck.check_claimed_size).
    sizes: dict[str, dict[int, str]] = field(default_factory=dict)
    # Folder pointers whose manifest could not be read: their files cannot be listed.
    unknown: list[Pointer] = field(default_factory=list)
    repos: list[Path] = field(default_factory=list)  # repositories whose refs were read
    # Of `oids`: folder and tensor manifests, small metadata that stays loose (never packed).
    metadata: set[str] = field(default_factory=set)


def objects_of(ws: Workspace, pointers: Iterable[Pointer]) -> set[str]:
    """Every oid the pointers name. A folder's files are listed only if its manifest is in
    the local cache (otherwise the manifest oid alone stands for them)."""
    return needed_objects(pointers, local_manifests(ws)).oids


def local_manifests(ws: Workspace) -> ManifestReader:
    return lambda oid: ws.store.read_bytes(oid) if ws.store.has(oid) else None


def needed_by_git(ws: Workspace, scope: str, manifests: ManifestReader | None = None) -> Needed:
    """What the pointers of this repository and of every registered one need; call it with
    the cache lock held."""
    repos = [ws.repo.root, *[r for r in registered_repos(ws) if r != ws.repo.root]]
    pointers: list[Pointer] = []
    for root in repos:
        pointers += needed_pointers(GitRepo.discover(root), scope)
    needed = needed_objects(pointers, manifests or local_manifests(ws))
    needed.repos = repos
    return needed


def needed_objects(pointers: Iterable[Pointer], manifests: ManifestReader) -> Needed:
    needed = Needed()
    sizes = needed.sizes
    for pointer in pointers:
        needed.oids.add(pointer.oid)
        manifest = pointer.format.facts.get("manifest") if pointer.format else None
        if isinstance(manifest, str):
            needed.oids.add(manifest)
            needed.metadata.add(manifest)
        if pointer.kind != "dir":
            sizes.setdefault(pointer.oid, {}).setdefault(pointer.size, _pointer_label(pointer))
            continue
        needed.metadata.add(pointer.oid)
        data = manifests(pointer.oid)
        if data is None:
            needed.unknown.append(pointer)
            continue
        for entry in decode_dir_manifest(data, pointer.oid):
            needed.oids.add(entry.oid)
            if entry.tensors:
                needed.oids.add(entry.tensors)
                needed.metadata.add(entry.tensors)
            claims = sizes.setdefault(entry.oid, {})
            if entry.size not in claims:
                claims[entry.size] = (
                    f"{_pointer_label(pointer)}: folder manifest {pointer.oid} entry {entry.path!r}"
                )
    return needed


@dataclass
class CheckedOut:
    """What the work trees may hold: the objects named by a pointer in a work tree, an index,
    a work tree's HEAD or a stash, of this repository and of every one sharing the cache."""

    oids: set[str]
    artifacts: list[Path]  # where work-tree pointers put their artifacts (links are found there)


def checked_out_by_git(ws: Workspace) -> CheckedOut:
    """The objects `gc` keeps loose (a checkout of them must stay fast, and a work-tree file
    may be a link to one); call it with the cache lock held."""
    repos = [ws.repo.root, *[r for r in registered_repos(ws) if r != ws.repo.root]]
    pointers: list[Pointer | None] = []
    artifacts: list[Path] = []
    for root in repos:
        repo = GitRepo.discover(root)
        worktrees = repo.worktrees()
        blobs: set[str] = set()
        for tip in repo.stash_commits() + [w.head for w in worktrees if w.head is not None]:
            blobs |= _pointer_blobs_in_tree(repo, tip)
        pointers += [_parse_blob(repo, blob) for blob in sorted(blobs)]
        pointers += _index_and_work_tree_pointers(repo, [w.root for w in worktrees], artifacts)
    oids = needed_objects([p for p in pointers if p is not None], local_manifests(ws)).oids
    return CheckedOut(oids, artifacts)


def _pointer_label(pointer: Pointer) -> str:
    return f"pointer {pointer.path}{POINTER_SUFFIX} (model {pointer.name!r})"


def needed_pointers(repo: GitRepo, scope: str) -> list[Pointer]:
    blobs: set[str] = set()
    worktrees = repo.worktrees()
    heads = repo.stash_commits() + [w.head for w in worktrees if w.head is not None]
    if scope == ALL_REFS:
        blobs |= _pointer_blobs_in_history(repo, ["--all", *heads])
    elif scope == KEEP_TAGS:
        head = ["HEAD"] if repo.head_commit() is not None else []  # none in a new repository
        for tip in repo.commits_at(["--tags", *head, *heads]):
            blobs |= _pointer_blobs_in_tree(repo, tip)
        blobs |= _pointer_blobs_in_history(repo, ["--branches", "--not", "--remotes"])
    else:
        raise UsageError(f"unknown gc scope {scope!r}", "use --all-refs or --keep-tags")
    pointers = [_parse_blob(repo, blob) for blob in sorted(blobs)]
    pointers += _index_and_work_tree_pointers(repo, [w.root for w in worktrees])
    return [p for p in pointers if p is not None]


def _pointer_blobs_in_history(repo: GitRepo, revs: list[str]) -> set[str]:
    return set(repo.pointer_blobs_added(revs, POINTER_SUFFIX))


def _pointer_blobs_in_tree(repo: GitRepo, commit: str) -> set[str]:
    return {e.oid for e in repo.tree_entries(commit) if e.path.endswith(POINTER_SUFFIX)}


def _index_and_work_tree_pointers(
    repo: GitRepo, roots: list[Path], artifacts: list[Path] | None = None
) -> list[Pointer | None]:
    """`artifacts`, if given, gets where each work-tree pointer puts its artifact."""
    found: list[Pointer | None] = []
    for root in roots:
        if not root.is_dir():
            continue
        tree = GitRepo.discover(root)
        for entry in tree.index_entries(f"*{POINTER_SUFFIX}"):
            found.append(_parse_blob(repo, entry.oid))
        for rel in tree.ls_files([f"*{POINTER_SUFFIX}"], others=True):
            path = root / rel
            if path.is_file():
                found.append(pointer := _parse(path.read_bytes(), str(path)))
                if pointer is not None and artifacts is not None:
                    artifacts.append(path.parent / pointer.path)
    return found


def _parse_blob(repo: GitRepo, blob: str) -> Pointer | None:
    data = repo.cat_blob(blob)
    return _parse(data, f"blob {blob[:12]}")


def _parse(data: bytes, source: str) -> Pointer | None:
    try:
        return parse_pointer(data, source)
    except GitModelError:
        return None  # a malformed pointer names nothing we can keep for it
