"""Keeping artifacts out of Git: one anchored line per artifact in its folder's .gitignore."""

from __future__ import annotations

from pathlib import Path

from gitmodel.fsutil import atomic_write_bytes


def ignore_line(artifact: Path) -> str:
    return "/" + artifact.name


def ensure_ignored(artifact: Path) -> Path | None:
    """Add the artifact to `.gitignore` beside it; returns that file if it changed."""
    gitignore = artifact.parent / ".gitignore"
    line = ignore_line(artifact)
    return gitignore if append_line_once(gitignore, line, (line, line + "/")) else None


def append_line_once(path: Path, line: str, present_if: tuple[str, ...] = ()) -> bool:
    """Append `line` to a text file unless it (or any of `present_if`) is already a line."""
    try:
        existing = path.read_bytes()
    except FileNotFoundError:
        existing = b""
    lines = existing.decode("utf-8", errors="surrogateescape").splitlines()
    if any(candidate in lines for candidate in (line, *present_if)):
        return False
    prefix = existing if not existing or existing.endswith(b"\n") else existing + b"\n"
    atomic_write_bytes(path, prefix + line.encode("utf-8", errors="surrogateescape") + b"\n")
    return True
