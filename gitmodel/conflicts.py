"""Reading a pointer that a merge left in conflict: the merge driver's markers (written by
commands/merge_driver.py), or Git's own when the driver is not configured."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

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
