"""Progress on a terminal: one self-rewriting stderr line, silent when piped or with -q."""

from __future__ import annotations

import os
import sys
import time

from gitmodel.printable import printable

_quiet = False


def set_quiet(quiet: bool) -> None:
    global _quiet
    _quiet = quiet


def is_quiet() -> bool:
    return _quiet


def progress_enabled() -> bool:
    return not _quiet and sys.stderr.isatty() and os.environ.get("TERM") != "dumb"


def _human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


class Progress:
    """Counts bytes (or items) towards a total and redraws at most ten times a second."""

    def __init__(self, label: str, total: int, *, unit_bytes: bool = True) -> None:
        self.label = printable(label)  # a path from a pointer may hold anything
        self.total = total
        self.done = 0
        self.unit_bytes = unit_bytes
        self.enabled = progress_enabled() and total > 0
        self._last_draw = 0.0
        self._started = time.monotonic()

    def advance(self, amount: int) -> None:
        self.done += amount
        if self.enabled:
            now = time.monotonic()
            if now - self._last_draw >= 0.1:
                self._last_draw = now
                self._draw()

    def close(self) -> None:
        if self.enabled:
            self._draw()
            sys.stderr.write("\n")
            sys.stderr.flush()

    def _draw(self) -> None:
        pct = 100 * self.done / self.total if self.total else 100.0
        if self.unit_bytes:
            amounts = f"{_human(self.done)} / {_human(self.total)}"
        else:
            amounts = f"{self.done} / {self.total}"
        sys.stderr.write(f"\r{self.label}: {pct:5.1f}% ({amounts})\x1b[K")
        sys.stderr.flush()
