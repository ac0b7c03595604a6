"""`git model add`: store an artifact in the cache and stage a pointer that describes it."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from gitmodel.cache.lock import file_lock
from gitmodel.digests import records_digest
from gitmodel.errors import PointerError, UsageError
from gitmodel.fsutil import atomic_write_bytes
from gitmodel.gitignore import ensure_ignored, ignore_line
from gitmodel.ingest import Digests, store_artifact
from gitmodel.lineage import LineageInProgress
from gitmodel.pointer import (
    NAME_RE,
    POINTER_SUFFIX,
    Pointer,
    has_git_segment,
    is_pointer_path,
    pointer_path_for,
    read_pointer,
    write_pointer,
)
from gitmodel.progress import ProgressCallback
from gitmodel.tomlfmt import Scalar
from gitmodel.workspace import Workspace, locate_artifact, open_workspace, register_repo

NO_OID = "xxh128:" + "0" * 32  # a draft pointer's, until the artifact is stored


@dataclass(frozen=True)
class AddResult:
    artifact: Path
    pointer_file: Path
    pointer: Pointer
    changed: bool  # the artifact's bytes differ from the previous pointer's (or there was none)
    hashed_bytes: int
    carried_metrics: tuple[str, ...] = ()  # kept from the previous version though bytes changed
    warnings: tuple[str, ...] = field(default_factory=tuple)
    pointer_changed: bool = True  # False when the pointer was rewritten with the same content


def add(
    paths: Sequence[str | Path],
    *,
    repo: str | Path = ".",
    name: str | None = None,
    metrics: Mapping[str, Scalar] | None = None,
    params: Mapping[str, Scalar] | None = None,
    data: Sequence[str | Path] = (),
    digest: str | None = None,
    force: bool = False,
    progress: ProgressCallback | None = None,
) -> list[AddResult]:
    """Track each path (file or folder): cache its bytes, write and stage its pointer.

    `digest` ("sha256" or "none") says whether to record a SHA-256 digest (a version-2
    pointer); by default `git config model.digest` says, else whether the previous pointer
    had one (or model.requireDigest is set).

    Refuses stale bytes (those of another version, placed or stored by git-model, while the
    pointer changed under them, e.g. by `git stash` or `git reset --hard`) unless `force`.

    Git LFS pointer stubs (a clone without `git lfs pull`) are refused unless `force`.

    `progress`, if given, is called as `progress(done_bytes, total_bytes, label)` while each
    artifact is stored (gitmodel.progress.ProgressCallback).
    """
    if not paths:
        raise UsageError("nothing to add", "name a file or folder: git model add PATH")
    if name is not None and len(paths) > 1:
        raise UsageError(
            "--name names one model, but several paths were given",
            "add the paths one at a time, each with its own --name",
        )
    ws = open_workspace(Path(repo))
    register_repo(ws)
    ws.sweep_temps()  # a killed add's temps: one may be a hard link to a file being added
    cwd = Path(repo)
    artifacts = [_check_addable(ws, cwd / p) for p in paths]
    with_digest = {}
    for artifact in artifacts:  # refuse a bad pointer, setting or stale bytes before any write
        previous = _previous_pointer(pointer_path_for(artifact))
        with_digest[artifact] = records_digest(ws, digest, previous)
        if previous is not None and not force:
            _refuse_stale(ws, artifact, previous)
    digests = Digests(ws)
    shared_name_warnings = _check_new_names(ws, artifacts, name)
    results = []
    for artifact in artifacts:
        results.append(
            _add_one(
                ws,
                artifact,
                name,
                dict(metrics or {}),
                dict(params or {}),
                [cwd / d for d in data],
                digests if with_digest[artifact] else None,
                force,
                progress,
            )
        )
    ws.stat_cache.close()
    if shared_name_warnings:
        results[-1] = replace(
            results[-1], warnings=results[-1].warnings + tuple(shared_name_warnings)
        )
    return results


def _check_new_names(ws: Workspace, artifacts: list[Path], name: str | None) -> list[str]:
    """A new pointer must not silently take the name of another: the registry keys on names.

    Without --name that is refused; an explicit --name that another pointer has is a choice,
    made with a warning (tag and promote then refuse that name as ambiguous).
    """
    new = [a for a in artifacts if not pointer_path_for(a).exists()]
    if not new:
        return []
    taken: dict[str, list[str]] = {}
    for pointer_file in ws.pointer_files():
        try:
            taken.setdefault(read_pointer(pointer_file).name, []).append(
                ws.repo.relpath(pointer_file)
            )
        except PointerError:
            continue
    warnings = []
    for artifact in new:
        model = name or default_name(artifact)
        pointer_rel = ws.repo.relpath(pointer_path_for(artifact))
        others = taken.get(model, [])
        if others and name is None:
            raise UsageError(
                f"{pointer_rel} would be a second pointer of model {model!r} "
                f"(already: {', '.join(others)})",
                f"give it a name of its own: git model add {ws.repo.relpath(artifact)} --name NAME",
            )
        if others:
            warnings.append(
                f"model {model!r} now has {len(others) + 1} pointers ({', '.join(others)}, "
                f"{pointer_rel}); `git model tag {model}` will refuse it as ambiguous"
            )
        taken.setdefault(model, []).append(pointer_rel)
    return warnings


def _check_addable(ws: Workspace, given: Path) -> Path:
    rel = ws.repo.relpath(given)
    artifact = ws.repo.root / rel
    shown = rel or "."
    if rel in ("", ".") or has_git_segment(rel):
        raise UsageError(
            f"cannot add {shown}: it is the repository itself or inside .git",
            "name a model file or folder inside the work tree",
        )
    if is_pointer_path(rel):
        raise UsageError(
            f"{shown} is a pointer file; add the artifact it describes instead",
            f"git model add {rel[: -len(POINTER_SUFFIX)]}",
        )
    if not os.path.lexists(artifact):
        raise UsageError(f"{shown}: no such file or folder", "check the path and try again")
    ignore_line(artifact)  # refuses a name that .gitignore cannot hold, before anything is written
    if artifact.is_symlink() and not _points_into_cache(ws, artifact):
        raise UsageError(f"{shown} is a symlink", "add the file or folder it points to instead")
    if artifact.is_dir() and not artifact.is_symlink():
        inner = ws.repo.ls_files([f"{rel}/*{POINTER_SUFFIX}"], others=True)
        if inner:
            raise UsageError(
                f"{shown} contains pointers of other artifacts ({inner[0]})",
                "add the artifacts inside it one by one instead of the whole folder",
            )
    if ws.repo.ls_files([rel]):
        raise UsageError(
            f"{shown} is tracked by Git; git-model cannot take over a path Git stores",
            f"untrack it first: git rm -r --cached {rel} (then commit), and add it again",
        )
    # where its pointer would send a checkout: not into the Git folder or the cache
    kind = "dir" if artifact.is_dir() and not artifact.is_symlink() else "file"
    probe = Pointer(name="model", path=artifact.name, oid=NO_OID, size=0, kind=kind)
    locate_artifact(ws, pointer_path_for(artifact), probe)
    return artifact


def _refuse_stale(ws: Workspace, artifact: Path, previous: Pointer) -> None:
    from gitmodel.artifacts import placed_oid

    if previous.oid != (oid := placed_oid(ws, artifact)) and oid is not None:
        rel = ws.repo.relpath(artifact)
        raise UsageError(
            f"{rel} holds the bytes of another version ({oid}, in the cache), not the "
            f"{previous.oid} its pointer names: the pointer changed under them (a stash, reset, "
            "merge or checkout of the pointer)",
            f"bring the pointer's bytes with `git model checkout {rel}`, or record these "
            f"with `git model add --force {rel}`",
        )


def _points_into_cache(ws: Workspace, path: Path) -> bool:
    from gitmodel.artifacts import object_link_oid

    return object_link_oid(ws, path) is not None


def _add_one(
    ws: Workspace,
    artifact: Path,
    name: str | None,
    metrics: dict[str, Scalar],
    params: dict[str, Scalar],
    data: list[Path],
    digests: Digests | None,
    force: bool,
    progress: ProgressCallback | None,
) -> AddResult:
    pointer_file = pointer_path_for(artifact)
    previous = _previous_pointer(pointer_file)
    draft = Pointer(
        name=name if name is not None else (previous.name if previous else default_name(artifact)),
        path=artifact.name,
        oid=NO_OID,
        size=0,
        kind="file",
    )
    _check_name(draft.name)
    lineage_in_progress = LineageInProgress(ws, data)
    # The shared cache lock spans storing and the pointer write: a gc (exclusive) must not
    # run in between, or it would delete an object no pointer names yet.
    with file_lock(ws.cache_lock, shared=True):
        stored = store_artifact(
            ws,
            artifact,
            previous.oid if previous else None,
            previous.format if previous else None,
            digests,
            allow_lfs_stubs=force,
            progress=progress,
        )
        lineage = lineage_in_progress.result()
        changed = previous is None or previous.oid != stored.oid
        carried: tuple[str, ...] = ()
        if previous is not None and changed:
            carried = tuple(sorted(set(previous.metrics) - set(metrics)))
        pointer = replace(
            draft,
            oid=stored.oid,
            digest=stored.digest,
            size=stored.size,
            kind=stored.kind,
            format=stored.format,
            metrics={**(previous.metrics if previous else {}), **metrics},
            params={**(previous.params if previous else {}), **params},
            lineage=lineage if changed or previous is None or data else previous.lineage,
        )
        with file_lock(ws.repo_lock):
            _write_and_stage(ws, artifact, pointer_file, pointer)
    return AddResult(
        artifact,
        pointer_file,
        pointer,
        changed,
        stored.hashed_bytes,
        carried,
        stored.warnings,
        pointer_changed=previous is None or previous != pointer,
    )


def _write_and_stage(ws: Workspace, artifact: Path, pointer_file: Path, pointer: Pointer) -> None:
    """Write the pointer and the .gitignore line and stage both; if Git refuses to stage
    (a stale index.lock, a full disk), put both files back as they were."""
    ignore_file = artifact.parent / ".gitignore"
    before = {path: _read_or_none(path) for path in (pointer_file, ignore_file)}
    try:
        write_pointer(pointer_file, pointer)
        gitignore = ensure_ignored(artifact)
        to_stage = [ws.repo.relpath(pointer_file)]
        ignore_rel = ws.repo.relpath(ignore_file)
        if gitignore is not None or not ws.repo.is_tracked(ignore_rel):
            to_stage.append(ignore_rel)  # never re-stage a user's unrelated .gitignore edits
        ws.repo.stage(to_stage)
    except BaseException:
        for path, content in before.items():
            if content is None:
                path.unlink(missing_ok=True)
            elif _read_or_none(path) != content:
                atomic_write_bytes(path, content)
        raise


def _read_or_none(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _previous_pointer(pointer_file: Path) -> Pointer | None:
    if not pointer_file.exists():
        return None
    try:
        return read_pointer(pointer_file)
    except PointerError as exc:
        raise PointerError(
            f"{exc.message}", f"fix or delete {pointer_file.name} and run `git model add` again"
        ) from None


def default_name(artifact: Path) -> str:
    stem = artifact.name if artifact.is_dir() else artifact.stem
    name = re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-")
    return name or "model"


def _check_name(name: str) -> None:
    if not NAME_RE.fullmatch(name):
        raise UsageError(
            f"invalid model name {name!r}",
            "use lowercase letters, digits, '-' or '/', starting and ending with a "
            "letter or digit (it becomes part of Git tag names)",
        )
