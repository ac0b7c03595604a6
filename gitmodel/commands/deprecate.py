"""`git model deprecate`: retire a model the GTO way, with the tag `NAME@deprecated`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gitmodel.errors import UsageError
from gitmodel.registry import ModelHistory, Registry
from gitmodel.table import format_time
from gitmodel.tagnames import deprecation_tag_name
from gitmodel.workspace import open_workspace


@dataclass(frozen=True)
class DeprecateResult:
    name: str
    tag: str
    commit: str


def deprecate(name: str, *, message: str | None = None, repo: str | Path = ".") -> DeprecateResult:
    """Tag the commit of the model's latest registry event `NAME@deprecated` (as `gto
    deprecate` does): `ls`, `versions` and GTO's `show` then leave the model out until a
    later registry event (a new version, a stage assignment) revives it."""
    ws = open_workspace(Path(repo))
    registry = Registry(ws)
    history = registry.models.get(name)
    if history is None:
        raise UsageError(
            f"model {name!r} has no registry tags; there is nothing to deprecate",
            "`git model ls --deprecated` lists the models of the registry",
        )
    if history.deprecation is not None:
        since = format_time(history.deprecation.created_at)
        raise UsageError(
            f"{name} is deprecated already ({history.deprecation.name}, {since})",
            f"a new version or stage assignment revives it, e.g. git model tag {name}",
        )
    commit = _latest_event_commit(history) or ws.repo.resolve_commit("HEAD")
    tag = deprecation_tag_name(name, None)
    if ws.repo.git("tag", "--list", tag).strip():  # deprecated before, then revived
        tag = deprecation_tag_name(name, history.next_counter())
    text = message or f"Deprecate {name}"
    ws.repo.create_tag(tag, commit, f"{text}\n", after=history.last_event_at)
    return DeprecateResult(name, tag, commit)


def _latest_event_commit(history: ModelHistory) -> str | None:
    """The commit GTO puts a deprecation on: that of the model's latest registry event."""
    timed = [(v.created_at, v.commit) for v in history.versions]
    timed += [(e.created_at, e.commit) for e in history.events]
    return max(timed)[1] if timed else None
