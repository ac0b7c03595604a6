"""`git model promote` / `demote`: stage assignments as tags `NAME#STAGE#N` / `NAME#STAGE!#N`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gitmodel.errors import UsageError
from gitmodel.registry import ModelVersion, Registry, ambiguous_name
from gitmodel.tagnames import STAGE_NAME_RE, stage_tag_name
from gitmodel.workspace import Workspace, open_workspace


@dataclass(frozen=True)
class StageChange:
    tag: str | None  # None when nothing had to change
    name: str
    stage: str
    version: str
    previous: str | None  # the version the stage pointed at before
    fallback: str | None = None  # after a demote: an earlier, never unassigned holder (as GTO)


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


def assign_stage(
    ws: Workspace, registry: Registry, target: ModelVersion, stage: str, message: str | None
) -> StageChange:
    history = registry.history(target.name)
    previous = history.stages().get(stage)
    if previous is not None and previous.tag == target.tag:
        return StageChange(None, target.name, stage, str(target.version), str(previous.version))
    tag = stage_tag_name(target.name, stage, history.next_counter())
    text = message or f"Assign {stage} to {target.name} {target.version}"
    ws.repo.create_tag(tag, target.commit, f"{text}\n", after=history.last_event_at)
    return StageChange(
        tag, target.name, stage, str(target.version), str(previous.version) if previous else None
    )


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


def check_stage_name(ws: Workspace, stage: str) -> None:
    if not STAGE_NAME_RE.fullmatch(stage):
        raise UsageError(
            f"invalid stage name {stage!r}",
            "use lowercase letters, digits, '-' or '/', e.g. staging or production",
        )
    allowed = ws.repo.config_get("model.stages")
    if allowed:
        names = [s.strip() for s in allowed.split(",") if s.strip()]
        if stage not in names:
            raise UsageError(
                f"stage {stage!r} is not allowed here (model.stages = {', '.join(names)})",
                "use one of those, or change `git config model.stages`",
            )
