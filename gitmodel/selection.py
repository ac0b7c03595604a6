"""Choosing pointers from command-line targets: paths, folders or model names."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from gitmodel.errors import GitModelError, UsageError
from gitmodel.pointer import POINTER_SUFFIX, read_pointer
from gitmodel.workspace import Workspace


def select_pointers(ws: Workspace, targets: Sequence[str | Path], cwd: Path) -> list[Path]:
    """Pointer files matching the targets (all pointers when there are none)."""
    pointers = ws.pointer_files()
    if not targets:
        return pointers
    chosen: dict[Path, None] = {}
    names: dict[str, list[Path]] | None = None
    for target in targets:
        matches = _by_path(ws, pointers, cwd / target)
        if not matches:
            if names is None:
                names = _names(pointers)
            matches = names.get(str(target), [])
        if not matches:
            raise UsageError(
                f"{target}: no pointer matches this path or model name",
                "list tracked models with `git model status`",
            )
        chosen.update(dict.fromkeys(matches))
    return list(chosen)


def _by_path(ws: Workspace, pointers: list[Path], target: Path) -> list[Path]:
    try:
        rel = ws.repo.relpath(Path(os.path.abspath(target)))
    except GitModelError:
        return []
    absolute = ws.repo.root / rel if rel else ws.repo.root
    if not rel.endswith(POINTER_SUFFIX):
        candidate = absolute.with_name(absolute.name + POINTER_SUFFIX) if rel else None
        if candidate in pointers:
            return [candidate]
    if absolute in pointers:
        return [absolute]
    if absolute.is_dir():
        return [p for p in pointers if absolute in p.parents]
    return []


def _names(pointers: list[Path]) -> dict[str, list[Path]]:
    names: dict[str, list[Path]] = {}
    for pointer_file in pointers:
        try:
            names.setdefault(read_pointer(pointer_file).name, []).append(pointer_file)
        except GitModelError:
            continue
    return names
