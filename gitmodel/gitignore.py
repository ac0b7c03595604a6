"""Keeping artifacts out of Git: one anchored line per artifact in its folder's .gitignore."""

from __future__ import annotations

import re
from pathlib import Path

from gitmodel.errors import UsageError
from gitmodel.fsutil import atomic_write_bytes

# Git reads these as wildcards or as its escape character anywhere in a pattern. A leading
# `#` or `!` is never a concern: every line starts with the anchoring `/`.
_WILDCARD_RE = re.compile(r"([\\*?\[\]])")


def ignore_line(artifact: Path) -> str:
    """The .gitignore pattern that matches exactly this name in its own folder, escaped as
    gitignore(5) requires; UsageError for a name no pattern can hold (a line break)."""
    name = artifact.name
    if "\n" in name or "\r" in name:
        raise UsageError(
            f"cannot list {name!r} in .gitignore: a line break cannot be escaped there",
            "rename it without the line break and add it again",
        )
    escaped = _WILDCARD_RE.sub(r"\\\1", name)
    kept = escaped.rstrip(" ")  # Git drops trailing spaces unless each is escaped
    return "/" + kept + "\\ " * (len(escaped) - len(kept))


def ensure_ignored(artifact: Path) -> Path | None:
    """Add the artifact to `.gitignore` beside it; returns that file if it changed.

    Earlier releases wrote the name unescaped: such a line (`/*.bin` for a file named
    `*.bin`) matches other files too, so it is rewritten escaped in place.
    """
    gitignore = artifact.parent / ".gitignore"
    line = ignore_line(artifact)
    unescaped = "/" + artifact.name
    if line != unescaped and replace_lines(gitignore, (unescaped, unescaped + "/"), line):
        return gitignore
    return gitignore if append_line_once(gitignore, line, (line, line + "/")) else None


def replace_lines(path: Path, old: tuple[str, ...], new: str) -> bool:
    """Replace each line of a text file that is one of `old` with `new`; False if none is."""
    try:
        existing = path.read_bytes()
    except FileNotFoundError:
        return False
    wanted = {line.encode("utf-8", errors="surrogateescape") for line in old}
    lines = existing.split(b"\n")
    if not wanted.intersection(lines):
        return False
    replacement = new.encode("utf-8", errors="surrogateescape")
    updated = [replacement if line in wanted else line for line in lines]
    atomic_write_bytes(path, b"\n".join(updated))
    return True


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
