"""pre-push: make sure every object the pushed commits' pointers name can be shared.

Reads the ref ranges Git gives on stdin and looks only at pointers those commits introduce
(no full-history scan). Until a model remote is configured, it checks that the objects are
in the local cache, so no one pushes a pointer nobody could ever fetch.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from gitmodel.git import ZERO_SHA, GitRepo, is_null_oid
from gitmodel.pointer import POINTER_SUFFIX
from gitmodel.printable import printable

if TYPE_CHECKING:
    from gitmodel.progress import ProgressCallback
    from gitmodel.workspace import Workspace


def pre_push(args: list[str], stdin: bytes, progress: ProgressCallback | None = None) -> int:
    if os.environ.get("GIT_MODEL_SKIP_PUSH") == "1":
        return 0
    remote = args[0] if args else os.environ.get("PRE_COMMIT_REMOTE_NAME", "origin")
    repo = GitRepo.discover(Path.cwd())
    blobs = pushed_pointer_blobs(repo, remote, _ref_updates(stdin))
    if not blobs:
        return 0
    return _check_objects(repo, blobs, progress)


def _ref_updates(stdin: bytes) -> list[tuple[str, str]]:
    """(local sha, remote sha) for each ref being pushed (deletions dropped)."""
    updates = []
    for line in stdin.decode().splitlines():
        parts = line.split()
        if len(parts) == 4 and not is_null_oid(parts[1]):
            updates.append((parts[1], parts[3]))
    if not updates and os.environ.get("PRE_COMMIT_TO_REF"):  # run by the pre-commit framework
        updates.append(
            (os.environ["PRE_COMMIT_TO_REF"], os.environ.get("PRE_COMMIT_FROM_REF", ZERO_SHA))
        )
    return updates


def pushed_pointer_blobs(
    repo: GitRepo, remote: str, updates: list[tuple[str, str]]
) -> dict[str, str]:
    """Pointer blob id -> path, for every pointer version the pushed commits add."""
    blobs: dict[str, str] = {}
    for local, remote_sha in updates:
        known = not is_null_oid(remote_sha) and repo.has_commit(remote_sha)
        revs = [local, f"^{remote_sha}"] if known else [local, "--not", f"--remotes={remote}"]
        blobs.update(repo.pointer_blobs_added(revs, POINTER_SUFFIX))
    return blobs


def _check_objects(repo: GitRepo, blobs: dict[str, str], progress: ProgressCallback | None) -> int:
    from gitmodel.errors import GitModelError
    from gitmodel.pointer import parse_pointer
    from gitmodel.reachability import objects_of
    from gitmodel.workspace import open_workspace

    ws = open_workspace(repo.root)
    missing: list[str] = []
    needed: set[str] = set()
    for blob, path in sorted(blobs.items(), key=lambda item: item[1]):
        data = repo.cat_blob(blob)
        try:
            pointer = parse_pointer(data, path, location=path)
        except GitModelError:
            continue  # the pre-commit check reports malformed pointers; nothing to upload
        objects = objects_of(ws, [pointer])
        needed |= objects
        absent = sorted(o for o in objects if not ws.in_cache(o))
        missing += [f"{path} needs {oid}" for oid in absent]
    for line in missing:
        print(
            printable(f"git-model pre-push: {line}, which is not in the local cache"),
            file=sys.stderr,
        )
    if missing:
        print(
            "git-model pre-push: push refused: nobody could fetch those objects (re-add the "
            "artifacts on the machine that has them, or push with GIT_MODEL_SKIP_PUSH=1)",
            file=sys.stderr,
        )
        return 1
    return _upload(ws, needed, progress)


def _upload(ws: Workspace, oids: set[str], progress: ProgressCallback | None) -> int:
    """Upload to the default model remote, if one is configured (else the check is all)."""
    from gitmodel.remotes.config import all_remotes, resolve_remote
    from gitmodel.transfer import default_jobs, upload

    if not oids or not any(all_remotes(ws.repo)):
        return 0
    remote = resolve_remote(ws.repo, None)
    result = upload(ws.store, remote, oids, default_jobs(remote), progress)
    if result.failed:
        for line in result.failed:
            print(printable(f"git-model pre-push: upload failed: {line}"), file=sys.stderr)
        print(
            "git-model pre-push: push refused: the objects are not on the model remote "
            f"{remote.label}",
            file=sys.stderr,
        )
        return 1
    if result.transferred:
        print(
            f"git-model pre-push: uploaded {len(result.transferred)} object(s) to {remote.label}",
            file=sys.stderr,
        )
    return 0
