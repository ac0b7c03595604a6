"""Content-addressed objects at `objects/<2 hex>/<30 hex>`, read-only and written atomically."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from gitmodel.errors import CorruptObjectError, GitModelError, ObjectMissingError
from gitmodel.fsutil import remove_quietly, try_link
from gitmodel.hashing import ByteRange, StreamDigest, hash_stream, oid_hex, oid_of_bytes
from gitmodel.progress import Progress

OBJECT_MODE = 0o444


@dataclass(frozen=True)
class Ingested:
    digest: StreamDigest
    work_file_is_object: bool  # True when the work-tree file now shares the object's inode


class ObjectStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.objects_dir = root / "objects"
        self.tmp_dir = root / "tmp"

    def path(self, oid: str) -> Path:
        digits = oid_hex(oid)
        return self.objects_dir / digits[:2] / digits[2:]

    def has(self, oid: str) -> bool:
        return self.path(oid).is_file()

    def open(self, oid: str) -> BinaryIO:
        try:
            return self.path(oid).open("rb")
        except FileNotFoundError:
            raise missing_object(oid) from None

    def read_bytes(self, oid: str, limit: int = 256 * 1024 * 1024) -> bytes:
        """Read a small object (a manifest) and check its hash."""
        with self.open(oid) as f:
            data = f.read(limit + 1)
        if len(data) > limit or oid_of_bytes(data) != oid:
            raise corrupt_object(oid, self.path(oid))
        return data

    def put_bytes(self, data: bytes) -> str:
        oid = oid_of_bytes(data)
        if self.has(oid):
            return oid
        temp = self._new_temp()
        try:
            with temp.open("wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            self._publish(temp, oid)
        finally:
            remove_quietly(temp)
        return oid

    def ingest(
        self,
        source: Path,
        link_modes: Iterable[str],
        ranges: Iterable[ByteRange] = (),
        progress: Progress | None = None,
    ) -> Ingested:
        """Hash `source` and make sure its bytes are an object, reading the file once.

        With hardlink first in `link_modes` the work-tree file itself becomes the object (no
        copy); with reflink the object is a copy-on-write clone; otherwise the bytes are
        streamed into a temp file while they are hashed.
        """
        ranges = list(ranges)
        advance = progress.advance if progress else None
        for mode in link_modes:
            temp = self._new_temp()
            try:
                if mode == "hardlink" and try_link(mode, source, temp):
                    digest = _hash_path(temp, ranges, advance)
                    return Ingested(digest, self._publish(temp, digest.oid))
                if mode == "reflink" and try_link(mode, source, temp):
                    digest = _hash_path(temp, ranges, advance)
                    self._publish(temp, digest.oid)
                    return Ingested(digest, False)
                if mode in ("copy", "symlink"):
                    digest = _copy_hashing(source, temp, ranges, advance)
                    self._publish(temp, digest.oid)
                    return Ingested(digest, False)
            finally:
                remove_quietly(temp)
        raise GitModelError(
            f"could not store {source}: no link mode in {list(link_modes)} works here",
            "add 'copy' to `git config model.linkType`",
        )

    def verify(self, oid: str) -> None:
        path = self.path(oid)
        try:
            with path.open("rb") as f:
                actual = hash_stream(f).oid
        except FileNotFoundError:
            raise missing_object(oid) from None
        if actual != oid:
            raise corrupt_object(oid, path)

    def _new_temp(self) -> Path:
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        return self.tmp_dir / f"{os.getpid()}-{os.urandom(6).hex()}"

    def _publish(self, temp: Path, oid: str) -> bool:
        """Move a finished temp file to its object path; False if the object already existed."""
        final = self.path(oid)
        if final.exists():
            return False
        final.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(temp, OBJECT_MODE)
        os.replace(temp, final)
        return True


def _hash_path(
    path: Path, ranges: list[ByteRange], advance: Callable[[int], None] | None
) -> StreamDigest:
    with path.open("rb") as f:
        return hash_stream(f, ranges, progress=advance)


def _copy_hashing(
    source: Path, temp: Path, ranges: list[ByteRange], advance: Callable[[int], None] | None
) -> StreamDigest:
    with source.open("rb") as src, temp.open("wb") as dst:
        digest = hash_stream(src, ranges, sinks=[dst.write], progress=advance)
        dst.flush()
        os.fsync(dst.fileno())
    return digest


def missing_object(oid: str) -> ObjectMissingError:
    return ObjectMissingError(
        f"object {oid} is not in the cache",
        "fetch it with `git model pull`, or re-add the artifact on the machine that has it",
    )


def corrupt_object(oid: str, path: Path) -> CorruptObjectError:
    return CorruptObjectError(
        f"object {oid} is corrupt: {path} no longer hashes to its id",
        "delete that file and fetch it again with `git model pull`",
    )
