"""`git model promote` / `demote`: stage assignments as tags `NAME#STAGE#N` / `NAME#STAGE!#N`."""

from __future__ import annotations

from pathlib import Path

from gitmodel.errors import UsageError
from gitmodel.registry import Registry, ambiguous_name
from gitmodel.stages import StageChange, assign_stage, check_stage_name
from gitmodel.tagnames import stage_tag_name
from gitmodel.workspace import open_workspace

__all__ = ["StageChange", "demote", "promote"]


def promote(
    spec: str, stage: str, *, message: str | None = None, repo: str | Path = "."
) -> StageChange:
    """Assign STAGE to the version `spec` names (NAME@vX.Y.Z, NAME@latest, NAME#OTHER)."""
    ws = open_workspace(Path(repo))
    registry = Registry(ws)
    check_stage_name(ws, stage)
    target = registry.resolve(spec)
    if shared := registry.ambiguous_paths(target):
        raise ambiguous_name(target.name, shared, target.tag)
    return assign_stage(ws, registry, target, stage, message)


def demote(
    name: str, stage: str, *, message: str | None = None, repo: str | Path = "."
) -> StageChange:
    """Unassign STAGE from whatever version holds it (tag `NAME#STAGE!#N`)."""
    ws = open_workspace(Path(repo))
    registry = Registry(ws)
    history = registry.history(name)
    current = history.stages().get(stage)
    if current is None:
        raise UsageError(
            f"{name} has no version in stage {stage!r}",
            f"see the assigned stages with `git model versions {name}`",
        )
    tag = stage_tag_name(name, stage, history.next_counter(), unassign=True)
    text = message or f"Unassign {stage} from {name} {current.version}"
    ws.repo.create_tag(tag, current.commit, f"{text}\n", after=history.last_event_at)
    fallback = Registry(ws).history(name).stages().get(stage)
    shown = str(current.version)
    return StageChange(
        tag, name, stage, shown, shown, fallback=str(fallback.version) if fallback else None
    )
