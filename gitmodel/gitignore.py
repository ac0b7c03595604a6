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
    try:
        existing = gitignore.read_bytes()
    except FileNotFoundError:
        existing = b""
    lines = existing.decode("utf-8", errors="surrogateescape").splitlines()
    if line in lines or line + "/" in lines:
        return None
    prefix = existing if not existing or existing.endswith(b"\n") else existing + b"\n"
    atomic_write_bytes(gitignore, prefix + line.encode("utf-8", errors="surrogateescape") + b"\n")
    return gitignore
