"""`git model ls`: every model at HEAD with its latest version, stages and key metrics."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from gitmodel.errors import GitModelError
from gitmodel.pointer import parse_pointer
from gitmodel.registry import Registry
from gitmodel.tomlfmt import Scalar
from gitmodel.workspace import open_workspace


@dataclass(frozen=True)
class ModelRow:
    name: str
    pointer_path: str
    oid: str
    size: int
    latest: str | None  # greatest registered version
    head_version: str | None  # the version HEAD's pointer is, if it is registered
    stages: dict[str, str] = field(default_factory=dict)  # stage -> version
    metrics: dict[str, Scalar] = field(default_factory=dict)
    deprecated: bool = False  # `NAME@deprecated` is its latest registry event

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "pointer": self.pointer_path,
            "oid": self.oid,
            "size": self.size,
            "latest": self.latest,
            "head_version": self.head_version,
            "stages": self.stages,
            "metrics": self.metrics,
            "deprecated": self.deprecated,
        }


def ls(*, deprecated: bool = False, repo: str | Path = ".") -> list[ModelRow]:
    """Every model at HEAD; deprecated ones (as GTO's `show` hides them) only with
    `deprecated`."""
    ws = open_workspace(Path(repo))
    registry = Registry(ws)
    head = ws.repo.head_commit()
    if head is None:
        return []
    rows = []
    for path in sorted(registry.reader.pointer_paths(head)):
        data = registry.reader.read_file(head, path)
        try:
            pointer = parse_pointer(data or b"", path, location=path)
        except GitModelError:
            continue
        history = registry.models.get(pointer.name)
        retired = history is not None and history.deprecation is not None
        if retired and not deprecated:
            continue
        latest = history.latest if history else None
        head_version = None
        if history:
            same = [v for v in history.versions if v.pointer and v.pointer.oid == pointer.oid]
            head_version = str(same[-1].version) if same else None
        stages = {s: str(v.version) for s, v in history.stages().items()} if history else {}
        rows.append(
            ModelRow(
                name=pointer.name,
                pointer_path=path,
                oid=pointer.oid,
                size=pointer.size,
                latest=str(latest.version) if latest else None,
                head_version=head_version,
                stages=stages,
                metrics=dict(pointer.metrics),
                deprecated=retired,
            )
        )
    return rows
