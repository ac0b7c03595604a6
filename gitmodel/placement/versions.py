"""Planning the checkout of a registered version (NAME@vX.Y.Z, NAME#STAGE): its pointer from
Git history, then its bytes."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from gitmodel.errors import UsageError, WouldOverwriteError
from gitmodel.placement.plan import CheckoutPlan, plan_artifact
from gitmodel.workspace import Workspace

if TYPE_CHECKING:  # the registry (and Git history reading) is imported only for NAME@vX
    from gitmodel.registry import ModelVersion, Registry


def plan_version(
    ws: Workspace,
    registry: Registry,
    version: ModelVersion,
    plan: CheckoutPlan,
    verify: bool,
    force: bool,
) -> tuple[Path, bytes]:
    """Plan restoring a registered version; returns the pointer file and bytes to write."""
    if version.pointer is None or version.pointer_path is None:
        raise UsageError(
            f"{version.tag} points at {version.commit[:12]}, which has no pointer for "
            f"{version.name}",
            "the tag was made on the wrong commit; delete and recreate it",
        )
    data = registry.reader.read_file(version.commit, version.pointer_path) or b""
    pointer_file = ws.repo.root / version.pointer_path
    if (
        not force
        and _has_uncommitted_changes(ws, pointer_file, data)
        and not _is_a_registered_version(registry, version.name, pointer_file.read_bytes())
    ):
        raise WouldOverwriteError(
            f"{version.pointer_path} has uncommitted changes",
            "commit them, or discard them with --force",
        )
    plan_artifact(ws, version.pointer, pointer_file, plan, verify)
    return pointer_file, data


def _has_uncommitted_changes(ws: Workspace, pointer_file: Path, replacement: bytes) -> bool:
    if not pointer_file.exists() or pointer_file.read_bytes() == replacement:
        return False
    return bool(ws.repo.git("status", "--porcelain", "--", ws.repo.relpath(pointer_file)).strip())


def _is_a_registered_version(registry: Registry, name: str, data: bytes) -> bool:
    """Whether `data` is exactly some registered version's pointer (so nothing is lost by
    replacing it, e.g. after an earlier `git model checkout NAME@vX`)."""
    return any(
        v.pointer_path is not None and registry.reader.read_file(v.commit, v.pointer_path) == data
        for v in registry.history(name).versions
    )
