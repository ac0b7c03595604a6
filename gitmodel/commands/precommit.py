"""The pre-commit check: no big file reaches Git history, and every staged pointer is sound."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from gitmodel.errors import GitError, GitModelError
from gitmodel.git import GitRepo
from gitmodel.pointer import POINTER_SUFFIX
from gitmodel.printable import printable

DEFAULT_MAX_FILE_SIZE = 10 * 1024 * 1024
PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib", ".pt", ".pth", ".bin", ".ckpt")


@dataclass(frozen=True)
class StagedFile:
    path: str
    blob: str
    size: int


def pre_commit(args: list[str], stdin: bytes) -> int:
    repo = GitRepo.discover(Path.cwd())
    staged = staged_files(repo)
    if not staged:
        return 0
    problems, warnings = check_staged(repo.root, staged)
    for text in warnings:
        print(printable(f"git-model: warning: {text}"), file=sys.stderr)
    for text in problems:
        print(printable(f"git-model: {text}"), file=sys.stderr)
    if problems:
        print(
            "git-model: commit refused (bypass once with `git commit --no-verify`)", file=sys.stderr
        )
        return 1
    return 0


def staged_files(repo: GitRepo) -> list[StagedFile]:
    """Files added or changed in the index being committed, with their staged sizes."""
    entries = [
        (e.path, e.oid)
        for e in repo.staged_changes()
        if e.mode not in ("160000", "120000")  # skip submodules, links
    ]
    sizes = repo.object_sizes([blob for _, blob in entries])
    return [StagedFile(path, blob, size) for (path, blob), size in zip(entries, sizes, strict=True)]


def check_staged(root: Path, staged: list[StagedFile]) -> tuple[list[str], list[str]]:
    repo = GitRepo.discover(root)
    limit = _max_file_size(repo)
    problems: list[str] = []
    pickles: list[str] = []
    pointers = [f for f in staged if f.path.endswith(POINTER_SUFFIX)]
    for f in staged:
        if f not in pointers and f.size > limit:
            problems.append(
                f"{f.path} is {_decimal_size(f.size)}; track it with `git model add {f.path}` "
                f"(limit model.maxFileSize = {_decimal_size(limit)})"
            )
        elif f not in pointers and f.path.endswith(PICKLE_SUFFIXES) and _is_pickle_blob(repo, f):
            pickles.append(f.path)
    if pointers:
        pointer_problems, pickle_paths = _check_pointers(repo, pointers)
        problems += pointer_problems
        pickles += pickle_paths
    if pickles and (repo.config_get("model.pickle") or "").lower() == "deny":
        problems += [
            f"{p} is a pickle-based format, refused by model.pickle = deny (loading it can run "
            "arbitrary code; convert it to safetensors)"
            for p in pickles
        ]
        return problems, []
    return problems, [_pickle_text(p) for p in pickles]


def _check_pointers(repo: GitRepo, pointers: list[StagedFile]) -> tuple[list[str], list[str]]:
    from gitmodel.artifactstate import MODIFIED, artifact_status
    from gitmodel.pointer import parse_pointer
    from gitmodel.workspace import open_workspace

    ws = open_workspace(repo.root)
    problems, pickles = [], []
    for f in pointers:
        data = repo.cat_blob(f.blob)
        try:
            pointer = parse_pointer(data, f.path, location=f.path)
        except GitModelError as exc:
            from gitmodel.conflicts import parse_conflict

            conflict = parse_conflict(data)
            if conflict is not None:
                problems.append(
                    f"{f.path} still holds merge conflict markers (both sides changed "
                    f"{conflict.clash}; {conflict.hint(f.path)})"
                )
            else:
                problems.append(f"{exc.message} (re-run `git model add` on its artifact)")
            continue
        if not ws.in_cache(pointer.oid):
            problems.append(
                f"{f.path} names {pointer.oid}, which is not in the cache "
                f"(re-add the artifact: git model add {f.path.removesuffix(POINTER_SUFFIX)})"
            )
            continue
        state = artifact_status(ws, repo.root / f.path)
        artifact = f.path.removesuffix(POINTER_SUFFIX)
        if state.state == MODIFIED and state.oid == pointer.oid:
            problems.append(
                f"{artifact} changed after `git model add`; the commit would record stale "
                f"bytes (re-add it: git model add {artifact})"
            )
        if artifact.endswith(PICKLE_SUFFIXES) and _is_pickle_file(repo.root / artifact):
            pickles.append(artifact)
    ws.stat_cache.close()
    return problems, pickles


def _max_file_size(repo: GitRepo) -> int:
    try:
        limit = repo.config_get_int("model.maxFileSize")
    except GitError:
        raise GitModelError(
            "model.maxFileSize is not a size", "use bytes or a k/m/g suffix, e.g. 10m"
        ) from None
    return DEFAULT_MAX_FILE_SIZE if limit is None else limit


def _decimal_size(n: int) -> str:
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


def _pickle_text(path: str) -> str:
    return (
        f"{path} is a pickle-based format: loading it can run arbitrary code; prefer "
        "safetensors (set `git config model.pickle deny` to refuse pickles)"
    )


def _is_pickle_bytes(head: bytes) -> bool:
    """A raw pickle (protocol 2+ starts with 0x80) or a zip holding one (torch.save)."""
    return head[:1] == b"\x80" or head[:4] == b"PK\x03\x04"


def _is_pickle_file(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            return _is_pickle_bytes(f.read(4)) or path.suffix in (".pkl", ".pickle", ".joblib")
    except OSError:
        return path.suffix in (".pkl", ".pickle", ".joblib")


def _is_pickle_blob(repo: GitRepo, f: StagedFile) -> bool:
    if f.path.endswith((".pkl", ".pickle", ".joblib")):
        return True
    head = repo.cat_blob(f.blob)[:4]
    return _is_pickle_bytes(head)
