"""A pointer that a merge left in conflict: reading the merge driver's markers (written by
commands/merge_driver.py, or Git's own when the driver is not configured), and resolving it
with one side."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gitmodel.errors import UsageError
from gitmodel.pointer import POINTER_SUFFIX

# Two pointers at their size cap, and the marker lines: enough to see both sides.
SCAN_LIMIT = 2 * 64 * 1024 + 4096
_DRIVER_MIDDLE = re.compile(rb"^======= git-model: both sides changed (.*)$", re.MULTILINE)


@dataclass(frozen=True)
class PointerConflict:
    ours: bytes  # our side's pointer text
    theirs: bytes
    clash: str  # what both sides changed, e.g. "metrics.acc", or "the pointer"

    def hint(self, pointer_path: str) -> str:
        return f"pick one: git model checkout --ours {pointer_path} (or --theirs)"


def parse_conflict(data: bytes) -> PointerConflict | None:
    """The two sides of a conflicted pointer's text; None if it holds no conflict markers."""
    if not data.startswith(b"<<<<<<< "):
        return None
    lines = data.splitlines(keepends=True)
    middle = next((i for i, line in enumerate(lines) if line.startswith(b"=======")), None)
    end = next((i for i, line in enumerate(lines) if line.startswith(b">>>>>>> ")), None)
    if middle is None or end is None or not 0 < middle < end:
        return None
    found = _DRIVER_MIDDLE.match(lines[middle].rstrip(b"\r\n"))
    clash = found.group(1).decode("utf-8", "replace") if found else "the pointer"
    return PointerConflict(b"".join(lines[1:middle]), b"".join(lines[middle + 1 : end]), clash)


def read_conflict(pointer_file: Path) -> PointerConflict | None:
    try:
        with pointer_file.open("rb") as f:
            return parse_conflict(f.read(SCAN_LIMIT))
    except OSError:
        return None


def resolve_conflicts(cwd: Path, targets: Sequence[str | Path], side: str) -> list[str]:
    """`git checkout --ours/--theirs` and `git add` for conflicted pointers; their paths. A
    pointer already marked resolved (`git add`ed) while it still holds the merge driver's
    markers gets that side's text from the markers."""
    from gitmodel.fsutil import atomic_write_bytes
    from gitmodel.git import GitRepo

    repo = GitRepo.discover(cwd)
    wanted = []
    for target in targets:
        rel = repo.relpath(cwd / target)
        wanted.append(rel if rel.endswith(POINTER_SUFFIX) else rel + POINTER_SUFFIX)
    out = repo.git("ls-files", "-u", "-z", "--", *(wanted or [f"*{POINTER_SUFFIX}"]))
    unmerged = sorted({entry.split("\t", 1)[1] for entry in out.split("\0") if "\t" in entry})
    from_markers = {}
    for rel in wanted:
        conflict = None if rel in unmerged else read_conflict(repo.root / rel)
        if conflict is not None:
            from_markers[rel] = conflict.ours if side == "ours" else conflict.theirs
        elif rel not in unmerged:
            raise UsageError(
                f"{rel} is not in a merge conflict",
                f"--{side} picks a side of a conflicted pointer; without it, "
                "`git model checkout` brings the bytes the pointer names",
            )
    if not unmerged and not from_markers:
        raise UsageError(
            "no pointer is in a merge conflict", f"run `git model checkout` without --{side}"
        )
    if unmerged:
        repo.git("checkout", f"--{side}", "--", *unmerged)
    for rel, data in from_markers.items():
        atomic_write_bytes(repo.root / rel, data)
    resolved = unmerged + sorted(from_markers)
    repo.stage(resolved)
    return [str(repo.root / rel) for rel in resolved]
