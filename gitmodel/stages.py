"""Stage assignments: a tag `NAME#STAGE#N` per assignment, checked against `model.stages`."""

from __future__ import annotations

from dataclasses import dataclass

from gitmodel.errors import UsageError
from gitmodel.registry import ModelVersion, Registry
from gitmodel.tagnames import STAGE_NAME_RE, stage_tag_name
from gitmodel.workspace import Workspace


@dataclass(frozen=True)
class StageChange:
    tag: str | None  # None when nothing had to change
    name: str
    stage: str
    version: str
    previous: str | None  # the version the stage pointed at before
    fallback: str | None = None  # after a demote: an earlier, never unassigned holder (as GTO)


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
