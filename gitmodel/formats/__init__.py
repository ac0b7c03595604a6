"""Format readers: cheap facts from headers, never executing model code."""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from gitmodel.hashing import ByteRange
from gitmodel.pointer import FactValue
from gitmodel.tomlfmt import format_string

MAX_FACT_CHARS = 256  # a string fact
MAX_LIST_BYTES = 4096  # a list fact, as written in the pointer (which is capped at 64 KiB)
# Tensors of one file that get facts and a tensor manifest. Each costs about 1.5 KB of memory
# while the file is added; real model files have at most a few tens of thousands. A file with
# more is stored without facts, with a warning.
MAX_TENSORS = 1 << 16


class FormatError(Exception):
    """The file claims a format (by name or magic) but its header is not valid."""


@dataclass(frozen=True, slots=True)
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
    # Other files the tensor data lives in (ONNX external data), as the model names them.
    external_files: Sequence[str] = field(default_factory=tuple)

    @property
    def ranges(self) -> list[ByteRange]:
        return [ByteRange(t.begin, t.end) for t in self.tensors]


class HeaderStream(Protocol):
    """What the format readers need of a file: read from the position, and move it."""

    def read(self, n: int, /) -> bytes: ...

    def seek(self, pos: int, /) -> int: ...


class PositionalReader:
    """A HeaderStream over an open descriptor that reads with pread: the descriptor's own
    offset never moves, so the same descriptor can then be hashed from its start."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.pos = 0

    def read(self, n: int, /) -> bytes:
        data = os.pread(self.fd, n, self.pos)
        self.pos += len(data)
        return data

    def seek(self, pos: int, /) -> int:
        self.pos = pos
        return pos


def scan_file(path: Path) -> FormatScan | None:
    """Detect a known format from the file's first bytes (or, for ONNX, its suffix).

    None if it is none we know; FormatError if it claims a format but its header is not valid.
    """
    fd = os.open(path, os.O_RDONLY)
    try:
        return scan_fd(fd, os.fspath(path))
    finally:
        os.close(fd)


def scan_fd(fd: int, name: str, size: int | None = None) -> FormatScan | None:
    """`scan_file` for a file already open as `fd` (`name` is its path or file name, for the
    suffix), read with pread only. `size` is fstat'ed when not given and a format matches.

    Per file of a folder this costs one 9-byte pread when the format is none we know.
    """
    head = os.pread(fd, 9, 0)
    if (
        not head.startswith(b"GGUF")
        and head[8:9] != b"{"
        and not name[-12:].lower().endswith((".safetensors", ".onnx"))
    ):
        return None  # only a name could have made it a format: skip the readers (most files)
    from gitmodel.formats import gguf, onnx, safetensors

    if head.startswith(gguf.MAGIC):
        scanner = gguf.scan
    elif safetensors.looks_like(name, head):
        scanner = safetensors.scan
    elif onnx.looks_like(name):
        scanner = onnx.scan
    else:
        return None
    if size is None:
        size = os.fstat(fd).st_size
    return scanner(PositionalReader(fd), size)


def clip_text(text: str) -> str:
    return text[:MAX_FACT_CHARS]


def clip_list(items: Iterable[str], max_items: int) -> list[str]:
    """The first items, at most `max_items` of them and MAX_LIST_BYTES once written as TOML."""
    kept: list[str] = []
    written = 0
    for item in items:
        written += len(format_string(clip_text(item)).encode()) + 2
        if len(kept) == max_items or written > MAX_LIST_BYTES:
            break
        kept.append(clip_text(item))
    return kept


class HeaderReader:
    """Reads a header through a small window; every length is checked against the file size.

    `skip` only moves the position, so big fields (tensor data, long arrays) are never read,
    and no read can ask for more than the bytes the file still holds.
    """

    WINDOW = 1024 * 1024

    def __init__(self, stream: HeaderStream, size: int) -> None:
        self.stream = stream
        self.size = size
        self.pos = 0
        self._window = b""
        self._start = 0

    def need(self, n: int, what: str) -> None:
        if n < 0 or n > self.size - self.pos:
            raise FormatError(f"{what} runs past the end of the file")

    def skip(self, n: int, what: str) -> None:
        self.need(n, what)
        self.pos += n

    def _at(self, n: int, what: str) -> int:
        """Make the next n bytes readable (n already checked); their offset in the window."""
        offset = self.pos - self._start
        if offset < 0 or offset + n > len(self._window):
            self.stream.seek(self.pos)
            self._window = self.stream.read(max(n, self.WINDOW))
            self._start, offset = self.pos, 0
            if len(self._window) < n:
                raise FormatError(f"{what} runs past the end of the file")
        return offset

    def read(self, n: int, what: str) -> bytes:
        self.need(n, what)
        offset = self._at(n, what)
        self.pos += n
        return self._window[offset : offset + n]

    def unpack(self, layout: struct.Struct, what: str) -> tuple[Any, ...]:
        self.need(layout.size, what)
        offset = self._at(layout.size, what)
        self.pos += layout.size
        return layout.unpack_from(self._window, offset)

    def varint(self, what: str) -> int:
        """A protobuf base-128 varint (at most 10 bytes), as an unsigned 64-bit integer."""
        n = min(10, self.size - self.pos)
        offset = self._at(n, what) if n else 0
        result = shift = 0
        for i in range(n):
            byte = self._window[offset + i]
            result |= (byte & 0x7F) << shift
            if byte < 0x80:
                self.pos += i + 1
                if result >= 1 << 64:
                    raise FormatError(f"{what}: varint does not fit 64 bits")
                return result
            shift += 7
        if n < 10:
            raise FormatError(f"{what} runs past the end of the file")
        raise FormatError(f"{what}: varint longer than 10 bytes")
