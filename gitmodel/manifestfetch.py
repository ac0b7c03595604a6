"""Fetching the metadata pointers name, never the weights: a folder's manifest and the tensor
manifests of files. What `git model fetch --manifests-only` and `git model diff
--fetch-manifests` bring, so that a diff in a fresh clone can name the changed tensors.

`diff` fetches only from a remote in Git config (`user_remote`), never from one committed in
`.gitmodel.toml`: the commits being diffed define that file, and a pull request from a fork
could point it anywhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from gitmodel.cache.lock import file_lock
from gitmodel.digests import expected_digests
from gitmodel.errors import GitModelError, UsageError
from gitmodel.manifests import decode_dir_manifest
from gitmodel.pointer import Pointer
from gitmodel.remotes.base import Remote
from gitmodel.remotes.config import default_remote_name, open_remote, read_remotes
from gitmodel.remotes.shared import SHARED_FILE
from gitmodel.transfer import TransferResult, default_jobs, download
from gitmodel.workspace import Workspace, register_repo


@dataclass
class Metadata:
    oids: set[str]  # folder manifests and tensor manifests
    unlisted: int  # folders whose manifest is not cached: their files' tensor manifests wait


def metadata_oids(ws: Workspace, pointers: Iterable[Pointer]) -> Metadata:
    """What the pointers' metadata is: a file's tensor manifest; a folder's manifest and, once
    that is in the cache, the tensor manifest of each of its files."""
    found = Metadata(set(), 0)
    for pointer in pointers:
        manifest = pointer.format.facts.get("manifest") if pointer.format else None
        if pointer.kind == "file":
            if isinstance(manifest, str):
                found.oids.add(manifest)
            continue
        found.oids.add(pointer.oid)
        if not ws.store.has(pointer.oid):
            found.unlisted += 1
            continue
        data = ws.store.read_bytes(pointer.oid)
        found.oids |= {e.tensors for e in decode_dir_manifest(data, pointer.oid) if e.tensors}
    return found


def missing_metadata(ws: Workspace, pointers: Iterable[Pointer]) -> bool:
    found = metadata_oids(ws, pointers)
    return found.unlisted > 0 or any(not ws.store.has(o) for o in found.oids)


def fetch_metadata(
    ws: Workspace, source: Remote, pointers: Iterable[Pointer], jobs: int
) -> TransferResult:
    """Download the metadata objects the cache lacks, each verified against its oid (and a
    folder manifest against its pointer's digest): folder manifests first, then the tensor
    manifests they list. Not one object a pointer or manifest entry names as bytes."""
    chosen = list(pointers)
    total = TransferResult()
    asked: set[str] = set()
    with file_lock(ws.cache_lock, shared=True):
        while batch := metadata_oids(ws, chosen).oids - asked:
            asked |= batch
            digests = expected_digests(ws, chosen)
            step = download(ws.store, source, batch, jobs, digests=digests)
            total.add(step)  # with what a packed remote moved
    total.transferred.sort()
    return total


def user_remote(ws: Workspace, name: str | None) -> Remote:
    """A remote this clone's user configured (Git config), never a committed one: NAME, else
    `model.defaultRemote`, else the only remote in Git config."""
    configured = read_remotes(ws.repo)
    fetch_hint = "or fetch them yourself: git model fetch --manifests-only --rev REV"
    chosen = name or default_remote_name(ws.repo)
    if chosen is None:
        if len(configured) != 1:
            raise UsageError(
                "no model remote in Git config to fetch manifests from"
                if not configured
                else "several model remotes in Git config and no default",
                "name one: --remote NAME"
                if configured
                else f"add one: git model remote add origin URL ({SHARED_FILE} remotes are "
                f"not used here), {fetch_hint}",
            )
        chosen = next(iter(configured))
    if chosen not in configured:
        raise UsageError(
            f"model remote {chosen!r} is not in Git config; diff fetches manifests only from "
            f"remotes you configured, never from {SHARED_FILE}",
            f"add it: git model remote add {chosen} URL, {fetch_hint}",
        )
    return open_remote(ws.repo, configured[chosen])


DIFF_FETCH_CONFIG = "model.diffFetch"
_TRUE, _FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0", "")


def diff_fetches(ws: Workspace, asked: bool | None, remote: str | None) -> bool:
    """Whether `diff` may fetch missing manifests: `--fetch-manifests` / `--no-fetch-manifests`,
    else `git config model.diffFetch` (default false: a diff stays offline unless told)."""
    if asked is None:
        value = ws.settings.get(DIFF_FETCH_CONFIG.lower(), "").lower()
        if value not in (*_TRUE, *_FALSE):
            raise UsageError(
                f"{DIFF_FETCH_CONFIG} is {value!r}, not a boolean",
                f"set it with `git config {DIFF_FETCH_CONFIG} true` (or false)",
            )
        asked = value in _TRUE
    if remote is not None and not asked:
        raise UsageError(
            "--remote applies only to --fetch-manifests",
            "add --fetch-manifests, or drop --remote",
        )
    return asked


def fetch_for_diff(ws: Workspace, pointers: Iterable[Pointer], remote: str | None) -> list[str]:
    """Fetch the manifests the cache lacks for these pointers from a remote in Git config.
    A remote that cannot serve them leaves the diff as it is: the warnings say why."""
    chosen = list(pointers)
    try:
        if not missing_metadata(ws, chosen):
            return []
    except GitModelError:  # a damaged cached manifest: the tensor line already says so
        return []
    try:
        source = user_remote(ws, remote)
    except UsageError as exc:
        if remote is not None:
            raise
        return [f"manifests not fetched: {exc.message} ({exc.hint})"]
    register_repo(ws)
    try:
        result = fetch_metadata(ws, source, chosen, default_jobs(source))
    except GitModelError as exc:  # unreachable, corrupt: the diff is still worth showing
        return [f"manifests not fetched: {exc.message}"]
    if not result.failed:
        return []
    more = f" (and {len(result.failed) - 1} more)" if len(result.failed) > 1 else ""
    return [f"manifests not fetched: {result.failed[0]}{more}"]
