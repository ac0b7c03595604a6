"""`git model show`: one model version's pointer, format facts, stages and stage history."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from gitmodel.errors import UsageError
from gitmodel.git import TagInfo
from gitmodel.pointer import Pointer, read_pointer
from gitmodel.registry import ModelVersion, Registry, StageEvent, is_version_spec
from gitmodel.selection import select_pointers
from gitmodel.workspace import open_workspace


@dataclass(frozen=True)
class ShowResult:
    pointer_path: str
    pointer: Pointer
    version: ModelVersion | None  # the registered version this is, if any
    stages: list[str] = field(default_factory=list)  # stages pointing at this version now
    current_stages: dict[str, str] = field(default_factory=dict)  # stage -> version, all
    history: list[StageEvent] = field(default_factory=list)
    deprecation: TagInfo | None = None  # the tag that deprecates the model, while it does


def show(target: str, *, repo: str | Path = ".") -> ShowResult:
    """TARGET: a path, NAME (its pointer in the work tree), NAME@vX.Y.Z, NAME@latest, NAME#STAGE."""
    ws = open_workspace(Path(repo))
    registry = Registry(ws)
    version: ModelVersion | None = None
    if is_version_spec(target) and not os.path.lexists(Path(repo) / target):
        version = registry.resolve(target)
        if version.pointer is None or version.pointer_path is None:
            raise UsageError(
                f"{version.tag} points at {version.commit[:12]}, which has no pointer for "
                f"{version.name}",
                "the tag was made by hand on the wrong commit; delete and recreate it",
            )
        pointer_path, pointer = version.pointer_path, version.pointer
    else:
        files = select_pointers(ws, [target], Path(repo))
        if len(files) != 1:
            raise UsageError(
                f"{target!r} matches {len(files)} pointers", "name one artifact or model"
            )
        pointer = read_pointer(files[0])
        pointer_path = ws.repo.relpath(files[0])
    history = registry.models.get(pointer.name)
    if history is None:
        return ShowResult(pointer_path, pointer, None)
    if version is None:
        same = [v for v in history.versions if v.pointer and v.pointer.oid == pointer.oid]
        version = same[-1] if same else None
    current = history.stages()
    return ShowResult(
        pointer_path=pointer_path,
        pointer=pointer,
        version=version,
        stages=history.stages_of(version) if version else [],
        current_stages={s: str(v.version) for s, v in current.items()},
        history=list(history.events),
        deprecation=history.deprecation,
    )
