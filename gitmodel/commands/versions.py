"""`git model versions`: every registered version of a model, and (with --all) candidates."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from gitmodel.errors import UsageError
from gitmodel.pointer import Pointer
from gitmodel.registry import ModelVersion, Registry
from gitmodel.table import format_time
from gitmodel.tomlfmt import Scalar
from gitmodel.workspace import open_workspace


@dataclass(frozen=True)
class VersionRow:
    name: str
    version: str | None  # None for an unregistered candidate commit
    tag: str | None
    commit: str
    created_at: int
    author: str
    oid: str | None
    size: int | None
    metrics: dict[str, Scalar] = field(default_factory=dict)
    stages: list[str] = field(default_factory=list)
    ref: str | None = None  # the branch a candidate was found on

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "version": self.version,
            "tag": self.tag,
            "commit": self.commit,
            "created_at": self.created_at,
            "author": self.author,
            "oid": self.oid,
            "size": self.size,
            "metrics": self.metrics,
            "stages": self.stages,
            "registered": self.version is not None,
            "ref": self.ref,
        }


def versions(
    name: str, *, all: bool = False, deprecated: bool = False, repo: str | Path = "."
) -> list[VersionRow]:
    """A model's registered versions (and with `all`, unregistered candidates). A deprecated
    model is refused unless `deprecated`, as GTO's `show NAME` lists nothing for it."""
    ws = open_workspace(Path(repo))
    registry = Registry(ws)
    history = registry.history(name) if not all else registry.models.get(name)
    if history is not None and history.deprecation is not None and not deprecated:
        raise UsageError(
            f"{name} is deprecated ({history.deprecation.name}, "
            f"{format_time(history.deprecation.created_at)})",
            f"list its versions anyway with `git model versions {name} --deprecated`",
        )
    rows: list[VersionRow] = []
    if history is not None:
        rows = [_row(v, history.stages_of(v)) for v in history.versions]
    if all:
        registered = {r.commit for r in rows}
        paths = {v.pointer_path for v in (history.versions if history else []) if v.pointer_path}
        paths.update(registry.head_paths(name))
        if not paths and not rows:
            registry.history(name)  # raises the "no versions" error with its hint
        oids = {r.oid for r in rows if r.oid}
        rows += [
            c for c in _candidates(registry, name, sorted(paths), registered) if c.oid not in oids
        ]
    return rows


def _row(v: ModelVersion, stages: list[str]) -> VersionRow:
    pointer = v.pointer
    return VersionRow(
        name=v.name,
        version=str(v.version),
        tag=v.tag,
        commit=v.commit,
        created_at=v.created_at,
        author=v.tagger,
        oid=pointer.oid if pointer else None,
        size=pointer.size if pointer else None,
        metrics=dict(pointer.metrics) if pointer else {},
        stages=stages,
    )


def _candidates(
    registry: Registry, name: str, paths: list[str], registered: set[str]
) -> list[VersionRow]:
    """Commits on any branch that changed the model's pointer but are not registered."""
    if not paths:
        return []
    out = registry.ws.repo.git(
        "log",
        "--branches",
        "--exclude=*/HEAD",  # origin/HEAD: an alias of a branch listed anyway
        "--remotes",
        "--source",
        "--format=%H%x1f%ct%x1f%an <%ae>%x1f%S",
        "--",
        *paths,
    )
    rows = []
    seen: set[str] = set()
    for line in out.splitlines():
        commit, time, author, ref = line.split("\x1f")
        if commit in registered or commit in seen:
            continue
        seen.add(commit)
        found = registry.pointer_at(commit, name, paths[0])
        if found is None:
            continue
        pointer: Pointer = found[1]
        rows.append(
            VersionRow(
                name=name,
                version=None,
                tag=None,
                commit=commit,
                created_at=int(time),
                author=author,
                oid=pointer.oid,
                size=pointer.size,
                metrics=dict(pointer.metrics),
                ref=ref.removeprefix("refs/heads/").removeprefix("refs/remotes/"),
            )
        )
    rows.reverse()  # oldest first, like the registered versions
    return rows
