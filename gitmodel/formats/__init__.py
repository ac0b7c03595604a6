"""Format readers: cheap facts from headers, never executing model code."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gitmodel.hashing import ByteRange
from gitmodel.pointer import FactValue


class FormatError(Exception):
    """The file claims a format (by name or magic) but its header is not valid."""


@dataclass(frozen=True)
class TensorEntry:
    name: str
    dtype: str
    shape: tuple[int, ...]
    begin: int  # absolute byte offsets in the file
    end: int


@dataclass(frozen=True)
class FormatScan:
    """What a header told us, plus the byte ranges to hash for a tensor manifest."""

    name: str
    facts: dict[str, FactValue]
    tensors: Sequence[TensorEntry] = field(default_factory=tuple)

    @property
    def ranges(self) -> list[ByteRange]:
        return [ByteRange(t.begin, t.end) for t in self.tensors]


def scan_file(path: Path) -> FormatScan | None:
    """Detect a known format from the file's first bytes; None if it is none we know."""
    from gitmodel.formats import safetensors

    with path.open("rb") as f:
        head = f.read(9)
        if safetensors.looks_like(path, head):
            f.seek(0)
            return safetensors.scan(f, path.stat().st_size)
    return None
