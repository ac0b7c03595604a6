"""`git model status`: for every pointer, does the work tree hold the bytes it names?"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from gitmodel.artifactstate import (
    CONFLICT,
    INVALID,
    MISSING_FROM_CACHE,
    MISSING_FROM_WORKTREE,
    MODIFIED,
    STALE,
    STALE_DETAIL,
    UP_TO_DATE,
    ArtifactState,
    ArtifactStatus,
    artifact_status,
)
from gitmodel.selection import select_pointers
from gitmodel.workspace import open_workspace

__all__ = [
    "CONFLICT",
    "INVALID",
    "MISSING_FROM_CACHE",
    "MISSING_FROM_WORKTREE",
    "MODIFIED",
    "STALE",
    "STALE_DETAIL",
    "UP_TO_DATE",
    "ArtifactState",
    "ArtifactStatus",
    "artifact_status",
    "status",
]


def status(
    targets: Sequence[str | Path] = (), *, repo: str | Path = ".", thorough: bool = False
) -> list[ArtifactStatus]:
    """The state of each selected artifact. `thorough` compares every file of every folder and
    checks every object, even for a folder whose recorded fingerprint says it is unchanged."""
    ws = open_workspace(Path(repo))
    ws.sweep_temps()
    results = []
    for pointer_file in select_pointers(ws, targets, Path(repo)):
        results.append(artifact_status(ws, pointer_file, thorough=thorough))
    ws.stat_cache.close()
    return results
