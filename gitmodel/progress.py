"""Progress of long work as a callback: the storage and domain layers count, their caller shows.

Ingest, checkout, transfers and fsck count the bytes of a task with a `Progress` and report each
step to the `ProgressCallback` their caller passed (none: they report nothing; they never
print). The command line passes a `TerminalProgress`, one self-rewriting stderr line, when
stderr is a terminal and -q was not given; a Python caller passes any function it likes.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import Protocol, TextIO

from gitmodel.printable import printable


class ProgressCallback(Protocol):
    """Called as `callback(done_bytes, total_bytes, label)` after each step of a task whose
    size is known (`label` says what runs, e.g. "Adding model.safetensors"): `done_bytes` grows
    with each call and reaches `total_bytes` when the task completes. Calls for one task never
    overlap, even when several threads do its work. Any function of three arguments will do."""

    def __call__(self, done_bytes: int, total_bytes: int, label: str, /) -> None: ...


class Progress:
    """Counts the bytes of one task towards its total and reports each step to `report`."""

    def __init__(self, label: str, total: int, report: ProgressCallback | None) -> None:
        self.label = label
        self.total = total
        self.done = 0
        self._report = report if total > 0 else None
        self._lock = threading.Lock()

    def advance(self, amount: int) -> None:
        if self._report is None or amount <= 0:
            return
        with self._lock:  # workers of one task advance it concurrently (fsck, transfers)
            self.done += amount
            self._report(self.done, self.total, self.label)

    def close(self) -> None:
        """The task ended, done or not: a terminal line ends here."""
        if isinstance(self._report, TerminalProgress):
            self._report.end()


def _human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def terminal_progress() -> TerminalProgress | None:
    """A progress line on stderr if it is a terminal that can redraw one, else None."""
    if sys.stderr.isatty() and os.environ.get("TERM") != "dumb":
        return TerminalProgress(sys.stderr)
    return None


class TerminalProgress:
    """A `ProgressCallback` drawing one self-rewriting line per task, at most ten times a
    second; the line ends with its task (`Progress.close`), or at `end()` (a command that
    failed: its error goes on a line of its own)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._task: tuple[str, int] | None = None  # (label, total) of the line being drawn
        self._done = 0
        self._last_draw = 0.0

    def __call__(self, done: int, total: int, label: str) -> None:
        task = (label, total)
        if task != self._task:
            self.end()
            self._task, self._last_draw = task, 0.0
        self._done = done
        now = time.monotonic()
        if now - self._last_draw >= 0.1:
            self._last_draw = now
            self._draw()

    def end(self) -> None:
        """Finish the line being drawn, if any, with the last count it was given."""
        if self._task is None:
            return
        self._draw()
        self._stream.write("\n")
        self._stream.flush()
        self._task = None

    def _draw(self) -> None:
        assert self._task is not None
        label, total = self._task
        amounts = f"{_human(self._done)} / {_human(total)}"
        line = f"\r{printable(label)}: {100 * self._done / total:5.1f}% ({amounts})\x1b[K"
        self._stream.write(line)
        self._stream.flush()
