"""Putting an artifact's bytes into the cache: one pass per changed file, none for unchanged."""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from pathlib import Path
from typing import NamedTuple

from gitmodel.artifacts import FileHasher, WorkFile, folder_fingerprint, walk_folder
from gitmodel.cache.links import materialise
from gitmodel.cache.statcache import FolderState
from gitmodel.externaldata import (
    external_scan,
    missing_in_folder_warning,
    summary_of,
    untracked_data_warning,
)
from gitmodel.formats import FormatError, FormatScan, scan_fd
from gitmodel.hashing import ByteRange, digest_of_data
from gitmodel.lfsstubs import is_lfs_stub, refuse_lfs_stubs
from gitmodel.manifests import (
    FileEntry,
    TensorSummary,
    encode_dir_manifest,
    encode_tensor_manifest,
    tensor_summary,
)
from gitmodel.pointer import FactValue, FormatInfo
from gitmodel.progress import Progress, ProgressCallback
from gitmodel.unshare import give_own_copy, shares_object_inode
from gitmodel.workspace import Workspace


@dataclass(frozen=True)
class StoredArtifact:
    oid: str
    size: int
    kind: str
    format: FormatInfo | None
    hashed_bytes: int  # how much was actually read; 0 when the stat cache knew everything
    warnings: tuple[str, ...] = ()
    digest: str | None = None  # SHA-256 of the content (file bytes or folder manifest), if asked


class Digests:
    """SHA-256 digests of objects, each read from the cache (a second pass over the object,
    whose xxh128 is checked on the way), once per command.

    Never copied from an earlier pointer or manifest: one that came from someone else may
    record the digest of other bytes with the same xxh128, and re-adding would vouch for them.
    """

    def __init__(self, ws: Workspace) -> None:
        self._ws = ws
        self._known: dict[str, str] = {}

    def of(self, oid: str) -> str:
        digest = self._known.get(oid)
        if digest is None:
            digest = self._known[oid] = self._ws.store.digest_of(oid)
        return digest


class StoredFile(NamedTuple):  # a tuple: one per file of a folder
    oid: str
    size: int
    tensors: str | None
    scan: FormatScan | None
    hashed: bool
    st: os.stat_result  # the work file's stat that `oid` was found for (recorded in the stat cache)


def store_file(
    ws: Workspace,
    path: Path | str,
    known_tensors: dict[str, str | None],
    progress: Progress | None,
    warnings: list[str],
    hasher: FileHasher | None = None,
    st: os.stat_result | None = None,
) -> StoredFile:
    """Store one file; `known_tensors` maps oids we already have a tensor manifest for.

    With a `hasher`, stat cache reads come from it and writes are queued on it (save them
    with `hasher.save()`); without one, each goes to the stat cache at once. `st` is the
    file's lstat if the caller has it (a folder walk does). Paths stay strings in here:
    this runs once per file of a folder.
    """
    location = os.fspath(path)
    if st is None:
        st = os.lstat(location)
    cached = hasher.cached_oid(location, st) if hasher else ws.stat_cache.lookup(location, st)
    if cached is not None and shares_object_inode(ws, st, cached):
        cached = None  # a killed add left it the object itself: the copy below repairs that
    if cached is not None and ws.store.has(cached) and cached in known_tensors:
        size = os.stat(location).st_size  # the object's size, also through a symlink into the cache
        if progress is not None:
            progress.advance(size)
        return StoredFile(cached, size, known_tensors[cached], None, hashed=False, st=st)
    found: list[FormatScan] = []

    def scan(fd: int) -> Sequence[ByteRange]:
        try:
            result = scan_fd(fd, location)
        except FormatError as exc:
            name = Path(location)
            warnings.append(f"{name.name}: not read as {name.suffix.lstrip('.')}: {exc}")
            return ()
        if result is None:
            return ()
        found.append(result)
        return result.ranges

    ingested = ws.store.ingest(
        location, ws.link_modes, (), progress.advance if progress else None, scan=scan, st=st
    )
    digest = ingested.digest
    format_scan = found[-1] if found else None
    tensors = None
    if format_scan is not None and format_scan.tensors:
        tensors = ws.store.put_bytes(
            encode_tensor_manifest(format_scan.name, format_scan.tensors, digest.range_oids)
        )
    relinked = ws.link_modes[0] in ("hardlink", "symlink") and not ingested.work_file_is_object
    if relinked:
        # Inside a batch, an object met twice is still a temp file: a hard link to it is a
        # link to the object-to-be (the same inode), and the work file keeps its bytes if the
        # batch fails.
        source = ws.store.pending(digest.oid) or ws.store.path(digest.oid)
        materialise(source, Path(location), ws.link_modes, False, ws.work_temps())
    # The stat from before the file was read (unless a link replaced it): had the file
    # changed meanwhile, its new mtime makes the next status rehash it.
    recorded = os.lstat(location) if relinked else ingested.replaced_work_file or st
    if shares_object_inode(ws, recorded, digest.oid):
        recorded = give_own_copy(ws, location, digest.oid, executable=False)
    if hasher is not None:
        hasher.fresh.append((location, recorded, digest.oid))
    else:
        ws.stat_cache.record(location, recorded, digest.oid)
    return StoredFile(digest.oid, digest.size, tensors, format_scan, hashed=True, st=recorded)


def store_artifact(
    ws: Workspace,
    path: Path,
    previous_oid: str | None,
    previous_format: FormatInfo | None,
    digests: Digests | None = None,
    *,
    allow_lfs_stubs: bool = False,
    progress: ProgressCallback | None = None,
) -> StoredArtifact:
    """Store a file or folder; with `digests`, also record the SHA-256 of its content. Git LFS
    pointer stubs in it are refused unless allowed. `progress` hears of the bytes stored."""
    warnings: list[str] = []
    if path.is_dir() and not path.is_symlink():
        return _store_folder(ws, path, previous_oid, warnings, digests, allow_lfs_stubs, progress)
    stored = _store_one_file(
        ws, path, previous_oid, previous_format, warnings, allow_lfs_stubs, progress
    )
    return replace(stored, digest=digests.of(stored.oid)) if digests else stored


def _store_one_file(
    ws: Workspace,
    path: Path,
    previous_oid: str | None,
    previous_format: FormatInfo | None,
    warnings: list[str],
    allow_lfs_stubs: bool,
    report: ProgressCallback | None,
) -> StoredArtifact:
    known: dict[str, str | None] = {}
    if previous_oid is not None:
        manifest = previous_format.facts.get("manifest") if previous_format else None
        if manifest is None or (isinstance(manifest, str) and ws.store.has(manifest)):
            known[previous_oid] = manifest if isinstance(manifest, str) else None
    size = os.lstat(path).st_size
    if not allow_lfs_stubs and is_lfs_stub(os.fspath(path), size):
        refuse_lfs_stubs(ws.repo.relpath(path), [""])
    progress = Progress(f"Adding {path.name}", size, report)
    stored = store_file(ws, path, known, progress, warnings)
    progress.close()
    if external := external_scan(path, stored.scan):
        warning = untracked_data_warning(ws.repo.relpath(path), path, external)
        warnings += [warning] if warning else []
    if not stored.hashed:
        return StoredArtifact(stored.oid, stored.size, "file", previous_format, 0, tuple(warnings))
    fmt = None
    if stored.scan is not None:
        facts = dict(stored.scan.facts)
        if stored.tensors:
            facts["manifest"] = stored.tensors
        fmt = FormatInfo(stored.scan.name, facts)
    return StoredArtifact(stored.oid, stored.size, "file", fmt, stored.size, tuple(warnings))


def _store_folder(
    ws: Workspace,
    folder: Path,
    previous_oid: str | None,
    warnings: list[str],
    digests: Digests | None,
    allow_stubs: bool,
    report: ProgressCallback | None,
) -> StoredArtifact:
    generation = ws.store.generation()
    known = _known_tensor_manifests(ws, previous_oid)
    nested_git: list[str] = []
    files = walk_folder(folder, nested_git)
    if not allow_stubs:
        refuse_lfs_stubs(
            ws.repo.relpath(folder),
            (
                f.relpath
                for f in files
                if stat.S_ISREG(f.st.st_mode) and is_lfs_stub(f.location, f.st.st_size)
            ),
        )
    if nested_git:
        shown = ", ".join(f"{folder.name}/{rel}" for rel in nested_git[:3])
        more = f" and {len(nested_git) - 3} more" if len(nested_git) > 3 else ""
        warnings.append(
            f"skipped {shown}{more}: a nested Git repository's own folder is not stored "
            "(docs/commands/add.md)"
        )
    progress = Progress(f"Adding {folder.name}/", sum(f.st.st_size for f in files), report)
    entries: list[FileEntry] = []
    stored_as: list[WorkFile] = []  # each file with the stat its oid was found for
    all_present = True
    hashed = 0
    external_models: list[tuple[str, FormatScan]] = []  # ONNX files with external data
    hasher = FileHasher(ws, folder)
    with _object_batch(ws):
        for work in files:
            if stat.S_ISLNK(work.st.st_mode):
                oid = hasher.oid_of(work.path, work.st)  # only links into the cache are accepted
                entries.append(
                    FileEntry(work.relpath, oid, os.stat(work.path).st_size, tensors=known.get(oid))
                )
                stored_as.append(work)
                all_present = all_present and ws.store.has(oid)
                continue
            stored = store_file(ws, work.location, known, progress, warnings, hasher, work.st)
            hashed += stored.size if stored.hashed else 0
            entries.append(
                FileEntry(work.relpath, stored.oid, stored.size, work.executable, stored.tensors)
            )
            stored_as.append(work if stored.st is work.st else work._replace(st=stored.st))
            if stored.tensors is None and (scan := external_scan(work.location, stored.scan)):
                external_models.append((work.relpath, scan))
    hasher.save()
    progress.close()
    if digests is not None:  # after the batch: its objects are published only at its end
        entries = [replace(e, digest=digests.of(e.oid)) for e in entries]
    manifest = encode_dir_manifest(entries)
    oid = ws.store.put_bytes(manifest)
    if all_present:  # the next status trusts these stats and skips comparing the files
        state = FolderState(folder_fingerprint(stored_as), oid, str(ws.store.root), generation)
        ws.stat_cache.record_folder(folder, state)
    size = sum(e.size for e in entries)
    relpaths = {e.path for e in entries}
    for relpath, scan in external_models:
        warning = missing_in_folder_warning(ws.repo.relpath(folder), relpath, scan, relpaths)
        warnings += [warning] if warning else []
    extra = [summary_of(scan) for _, scan in external_models]
    fmt = FormatInfo("dir", folder_facts(ws, entries, extra))
    digest = digest_of_data(manifest) if digests is not None else None
    return StoredArtifact(oid, size, "dir", fmt, hashed, tuple(warnings), digest)


def _object_batch(ws: Workspace) -> AbstractContextManager[None]:
    """One file-system sync for a folder's new objects instead of one fsync per file.

    Not when the work files become symlinks to their objects: a symlink must never point at
    an object that is not there yet.
    """
    return nullcontext() if ws.link_modes[0] == "symlink" else ws.store.batch()


def folder_facts(
    ws: Workspace, entries: list[FileEntry], extra: Sequence[TensorSummary] = ()
) -> dict[str, FactValue]:
    """File count, plus parameters, tensors and dtypes summed over the folder's tensor files
    (and `extra`: models whose tensors have no manifest, such as ONNX with external data)."""
    facts: dict[str, FactValue] = {"files": len(entries)}
    summaries = [
        tensor_summary(ws.store.read_bytes(e.tensors), e.tensors) for e in entries if e.tensors
    ]
    summaries += extra
    if summaries:
        facts["parameters"] = sum(s.parameters for s in summaries)
        facts["tensors"] = sum(s.tensors for s in summaries)
        facts["dtypes"] = sorted(set().union(*(s.dtypes for s in summaries)))
    return facts


def _known_tensor_manifests(ws: Workspace, manifest_oid: str | None) -> dict[str, str | None]:
    """File oid -> tensor manifest oid, from the folder's previous manifest (if cached)."""
    from gitmodel.manifests import decode_dir_manifest

    if manifest_oid is None or not ws.store.has(manifest_oid):
        return {}
    entries = decode_dir_manifest(ws.store.read_bytes(manifest_oid), manifest_oid)
    return {e.oid: e.tensors for e in entries if e.tensors is None or ws.store.has(e.tensors)}
