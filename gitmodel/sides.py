"""The two sides of a diff: the work tree, the index, a commit, or a registered version."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from gitmodel.conflicts import parse_conflict
from gitmodel.errors import GitModelError, UsageError
from gitmodel.pointer import Pointer, parse_pointer
from gitmodel.registry import Registry, is_version_spec
from gitmodel.workspace import Workspace

WORKTREE = ":worktree"
INDEX = ":index"
REPO_CONFIG = ".gitmodel.toml"


@dataclass
class Side:
    label: str
    commit: str | None  # None for the work tree and the index
    pointers: dict[str, Pointer] = field(default_factory=dict)  # pointer path -> pointer
    directions: dict[str, str] = field(default_factory=dict)  # from the repo config file
    warnings: list[str] = field(default_factory=list)
    conflicts: set[str] = field(default_factory=set)  # pointer paths left in a merge conflict

    def add(self, path: str, data: bytes) -> None:
        conflict = parse_conflict(data)
        try:
            # a conflicted pointer stands for our side, the one the branch had before
            pointer = parse_pointer(conflict.ours if conflict else data, path, location=path)
        except GitModelError as exc:
            self.warnings.append(f"{self.label}: skipped {exc.message}")
            return
        if conflict is not None:
            self.conflicts.add(path)
            self.warnings.append(
                f"{self.label}: {path} is in a merge conflict (both sides changed "
                f"{conflict.clash}); {conflict.hint(path)}"
            )
        self.pointers[path] = pointer


def split_range(text: str) -> tuple[str, str, bool] | None:
    """`A...B` -> (A, B, merge-base) and `A..B` -> (A, B, plain); None if not a range."""
    for sep, merge_base in (("...", True), ("..", False)):
        if sep in text:
            left, right = text.split(sep, 1)
            return left or "HEAD", right or "HEAD", merge_base
    return None


def resolve_side(ws: Workspace, registry: Registry, spec: str) -> Side:
    if spec == WORKTREE:
        side = Side("work tree", None)
        for pointer_file in ws.pointer_files():
            side.add(ws.repo.relpath(pointer_file), pointer_file.read_bytes())
        side.directions = _directions(_read_optional(ws.repo.root / REPO_CONFIG), side)
        return side
    if spec == INDEX:
        side = Side("index", None)
        out = ws.repo.git("ls-files", "-s", "-z", "--", "*.gitmodel")
        for record in filter(None, out.split("\0")):
            meta, path = record.split("\t", 1)
            data = registry.reader.read_blob(meta.split()[1])
            side.add(path, data or b"")
        staged = ws.repo.git("ls-files", "-s", "--", REPO_CONFIG).split()
        config = registry.reader.read_blob(staged[1]) if staged else None
        side.directions = _directions(config, side)
        return side
    if is_model_version(registry, spec):
        version = registry.resolve(spec)
        side = Side(spec, version.commit)
        if version.pointer is not None and version.pointer_path is not None:
            side.pointers[version.pointer_path] = version.pointer
        side.directions = _directions(registry.reader.read_file(version.commit, REPO_CONFIG), side)
        return side
    commit = ws.repo.resolve_commit(spec)
    return commit_side(registry, spec, commit)


def is_model_version(registry: Registry, spec: str) -> bool:
    """NAME@vX / NAME@latest / NAME#STAGE of a registered model (not Git's `main@{1}`)."""
    if not is_version_spec(spec):
        return False
    name = spec.split("@", 1)[0].split("#", 1)[0]
    return name in registry.models


def commit_side(registry: Registry, label: str, commit: str) -> Side:
    side = Side(label, commit)
    for path in registry.reader.pointer_paths(commit):
        side.add(path, registry.reader.read_file(commit, path) or b"")
    side.directions = _directions(registry.reader.read_file(commit, REPO_CONFIG), side)
    return side


def _read_optional(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _directions(data: bytes | None, side: Side) -> dict[str, str]:
    """`[directions]` of .gitmodel.toml: metric name -> "higher" or "lower"."""
    if not data:
        return {}
    try:
        table = tomllib.loads(data.decode("utf-8")).get("directions", {})
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(
            f"{REPO_CONFIG} ({side.label}) is not valid TOML: {exc}",
            "fix the file; see docs/commands/diff.md for its format",
        ) from None
    result = {}
    for key, value in table.items():
        if value not in ("higher", "lower"):
            raise UsageError(
                f"{REPO_CONFIG} ({side.label}): direction of {key!r} must be "
                f'"higher" or "lower", got {value!r}',
                'e.g. [directions] latency_p99 = "lower"',
            )
        result[key] = value
    return result
