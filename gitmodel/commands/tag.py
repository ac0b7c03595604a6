"""`git model tag`: register the pointer at a commit as an immutable version `NAME@vX.Y.Z`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gitmodel.errors import UsageError
from gitmodel.pointer import Pointer
from gitmodel.registry import ModelHistory, Registry, ambiguous_name
from gitmodel.semver import BUMPS, FIRST_VERSION, SemVer
from gitmodel.tagnames import version_tag_name
from gitmodel.workspace import Workspace, open_workspace


@dataclass(frozen=True)
class TagResult:
    tag: str
    name: str
    version: str
    commit: str
    pointer_path: str
    pointer: Pointer


def tag(
    name: str,
    version: str | None = None,
    *,
    bump: str | None = None,
    message: str | None = None,
    rev: str = "HEAD",
    repo: str | Path = ".",
) -> TagResult:
    """Create the annotated tag NAME@VERSION on `rev`, whose pointer for NAME it registers."""
    ws = open_workspace(Path(repo))
    registry = Registry(ws)
    commit = ws.repo.resolve_commit(rev)
    found = registry.pointer_at(commit, name)
    if found is None:
        raise UsageError(
            f"no pointer for model {name!r} at {rev} ({commit[:12]})",
            "commit the pointer first (`git model add … --name NAME`, `git commit`), or pass --rev",
        )
    pointer_path, pointer = found
    if len(shared := registry.pointer_paths_named(commit, name)) > 1:
        raise ambiguous_name(name, shared, rev)
    if commit == ws.repo.head_commit():
        _refuse_uncommitted(ws, pointer_path)
    history = registry.models.get(name, ModelHistory(name))
    for existing in history.versions:
        if existing.commit == commit:
            raise UsageError(
                f"{commit[:12]} is already registered as {existing.tag}",
                "versions are immutable; commit a new pointer to register another version",
            )
    chosen = _choose_version(history, version, bump)
    tag_name = version_tag_name(name, chosen)
    text = _tag_message(name, chosen, pointer_path, pointer, message)
    ws.repo.create_tag(tag_name, commit, text, after=history.last_event_at)
    return TagResult(tag_name, name, str(chosen), commit, pointer_path, pointer)


def _refuse_uncommitted(ws: Workspace, pointer_path: str) -> None:
    from gitmodel.artifactstate import artifact_status

    if ws.repo.git("status", "--porcelain", "--", pointer_path).strip():
        raise UsageError(
            f"{pointer_path} has uncommitted changes",
            "commit them first (a version names a commit), or pass --rev REV",
        )
    state = artifact_status(ws, ws.repo.root / pointer_path)
    if state.state == "modified":
        raise UsageError(
            f"{state.path} was modified after `git model add`",
            f"re-add and commit it first: git model add {state.path} && git commit",
        )


def _choose_version(history: ModelHistory, version: str | None, bump: str | None) -> SemVer:
    latest = history.latest
    if version is not None:
        if bump is not None:
            raise UsageError("give either VERSION or --bump, not both", "e.g. git model tag NAME")
        chosen = SemVer.parse(f"v{version}" if version[:1].isdigit() else version)
        if history.find(chosen) is not None:
            raise UsageError(
                f"{history.name}@{chosen} already exists; versions are immutable",
                f"pick a higher version, or let git-model bump: git model tag {history.name}",
            )
        if latest is not None and not chosen > latest.version:
            raise UsageError(
                f"{chosen} is not above the latest version {latest.version}",
                f"pick a version above {latest.version}",
            )
        return chosen
    if bump is not None and bump not in BUMPS:
        raise UsageError(f"unknown bump {bump!r}", "use --bump major, minor or patch")
    if latest is None:
        return SemVer.parse(FIRST_VERSION) if bump is None else SemVer(0, 0, 0).bump(bump)
    return latest.version.bump(bump or "patch")


def _tag_message(
    name: str, version: SemVer, pointer_path: str, pointer: Pointer, message: str | None
) -> str:
    lines = [message or f"Register {name} {version}", ""]
    lines.append(f"git-model: {name} {version}")
    lines.append(f"pointer: {pointer_path}")
    lines.append(f"oid: {pointer.oid}")
    if pointer.metrics:
        shown = ", ".join(f"{k}={v}" for k, v in sorted(pointer.metrics.items()))
        lines.append(f"metrics: {shown}")
    return "\n".join(lines) + "\n"
