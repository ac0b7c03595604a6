"""Content-addressed objects at `objects/<2 hex>/<30 hex>`, read-only and written atomically."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from io import FileIO
from pathlib import Path
from typing import BinaryIO

from gitmodel.cache.adopt import adopt, adoptable
from gitmodel.cache.copying import copy_hashing
from gitmodel.cache.tempfiles import TempFolder
from gitmodel.errors import CorruptObjectError, GitModelError, ObjectMissingError
from gitmodel.fsutil import (
    atomic_write_bytes,
    hard_link,
    libc_function,
    remove_quietly,
    try_link,
)
from gitmodel.hashing import (
    OID_PREFIX,
    ByteRange,
    DigestSink,
    StreamDigest,
    hash_stream,
    oid_hex,
    oid_of_bytes,
)

OBJECT_MODE = 0o444
GENERATION_FILE = "generation"

# Called with the open descriptor of the bytes about to be hashed (read it with pread only),
# before they are hashed; returns the byte ranges to hash on their own (a tensor manifest).
Scanner = Callable[[int], Sequence[ByteRange]]


@dataclass(frozen=True)
class Ingested:
    digest: StreamDigest
    work_file_is_object: bool  # True when the work-tree file now shares the object's inode
    # The work file's lstat when ingesting replaced it (a big file adopted in copy mode).
    replaced_work_file: os.stat_result | None = None


class ObjectStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.objects_dir = root / "objects"
        self.tmp_dir = root / "tmp"
        self._objects = str(self.objects_dir)  # string paths: pathlib is slow per object
        # Temp names: a per-process owner token and a counter, not randomness per file; what
        # a killed process leaves behind, the next run's sweep removes (cache/tempfiles.py).
        self.temps = TempFolder(str(self.tmp_dir))
        self._batch: dict[str, str | Path] | None = None  # oid -> written temp, while batching
        self._no_reflink = False  # reflink refused once: not tried again for every file

    def location(self, oid: str) -> str:
        """The object's path as a string: `path` without building a Path (for hot loops)."""
        digits = oid_hex(oid)
        return f"{self._objects}/{digits[:2]}/{digits[2:]}"

    def path(self, oid: str) -> Path:
        return Path(self.location(oid))

    def has(self, oid: str) -> bool:
        return os.path.isfile(self.location(oid))

    def _present(self, oid: str) -> bool:
        """`has` with one access() call and no stat result: the check before a publish (only
        objects are ever put at an object path, so no file type check is needed). For oids
        computed here (not user input), as is `_hashed_location`."""
        return os.access(self._hashed_location(oid), os.F_OK)

    def _hashed_location(self, oid: str) -> str:
        """`location` of an oid this process just computed: no format check needed."""
        return f"{self._objects}/{oid[7:9]}/{oid[9:]}"

    def stat(self, oid: str) -> os.stat_result | None:
        """The object file's stat, or None if it is not there: `has` plus what a hard link to
        the object will look like (same inode, mtime and size)."""
        try:
            st = os.stat(self.location(oid))
        except (FileNotFoundError, NotADirectoryError):
            return None
        return st if stat.S_ISREG(st.st_mode) else None

    def stats_of(self, oids: list[str]) -> dict[str, os.stat_result]:
        """The stat of each object that is present (a regular file), by oid; absent ones are
        left out. One stat per object, relative to an open descriptor of the objects folder
        rather than through its full path: for the many objects of a folder artifact."""
        from gitmodel.errors import UsageError  # here, not at the top: an additive helper
        from gitmodel.hashing import all_oids

        if not all_oids(oids):
            raise UsageError("not a list of object ids", "an oid is 'xxh128:' and 32 hex digits")
        try:
            objects = os.open(self._objects, os.O_RDONLY | os.O_DIRECTORY)
        except FileNotFoundError:
            return {}
        found: dict[str, os.stat_result] = {}
        stat_at = os.stat
        try:
            for oid in dict.fromkeys(oids):
                try:
                    st = stat_at(f"{oid[7:9]}/{oid[9:]}", dir_fd=objects)
                except (FileNotFoundError, NotADirectoryError):
                    continue
                if stat.S_ISREG(st.st_mode):
                    found[oid] = st
        finally:
            os.close(objects)
        return found

    def local_objects(self) -> list[tuple[str, Path]]:
        """Every object in the store, (oid, path), sorted by oid."""
        found = []
        if self.objects_dir.is_dir():
            for prefix in sorted(os.scandir(self.objects_dir), key=lambda e: e.name):
                if len(prefix.name) == 2 and prefix.is_dir():
                    for entry in sorted(os.scandir(prefix.path), key=lambda e: e.name):
                        if len(entry.name) == 30 and not entry.name.startswith("."):
                            found.append((OID_PREFIX + prefix.name + entry.name, Path(entry.path)))
        return found

    def generation(self) -> str:
        """A token that changes whenever objects may have been deleted (gc, fsck quarantine).

        Objects are otherwise only ever added, so what was found present under one token is
        still present while it holds. "0" for a cache that never lost an object.
        """
        try:
            with open(self.root / GENERATION_FILE, "rb") as f:
                return f.read(64).decode("ascii", "replace").strip() or "0"
        except (FileNotFoundError, NotADirectoryError):
            return "0"

    def bump_generation(self) -> None:
        """Start a new generation; call it before deleting objects and again after, under the
        exclusive cache lock (a crash midway, or a status that checked the objects while they
        were being deleted, then still sees a token other than the one it trusted)."""
        self.root.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(self.root / GENERATION_FILE, os.urandom(16).hex().encode() + b"\n")

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Write many objects with one file-system sync instead of one fsync each.

        Objects copied inside the block stay temp files until it ends without error; then a
        single syncfs makes all their bytes durable and only after that are they renamed into
        place, so no object is ever visible before its bytes are safely on disk. Inside the
        block, `has` does not see them yet (a second copy of the same bytes is dropped).
        """
        if self._batch is not None:
            yield
            return
        self._batch = {}
        try:
            yield
            if self._batch:
                sync_file_system(self.tmp_dir)
                for oid, temp in self._batch.items():
                    _rename_into_place(temp, self._hashed_location(oid))
                self._batch.clear()
        finally:
            for temp in self._batch.values():
                remove_quietly(temp)
            self._batch = None

    def _keep(
        self,
        temp: str | Path,
        oid: str,
        durable: bool,
        fd: int | None = None,
        *,
        read_only: bool = False,
    ) -> bool:
        """Publish a written temp now, or (unsynced, in a batch) when the batch ends.

        The caller checked that the object is not there yet (see `publish`). `fd`, if given,
        is the temp file open, to make it read-only without looking its path up again;
        `read_only`: it is already. True if the temp file was taken (moved or queued); False
        if the caller removes it.
        """
        if durable:
            if fd is not None:
                os.fchmod(fd, OBJECT_MODE)
            self.publish(temp, oid, read_only_already=fd is not None or read_only)
            return True
        assert self._batch is not None
        if oid in self._batch:
            return False
        if fd is not None:
            os.fchmod(fd, OBJECT_MODE)
        elif not read_only:
            os.chmod(temp, OBJECT_MODE)
        self._batch[oid] = temp
        return True

    def pending(self, oid: str) -> Path | None:
        """The temp file holding `oid` while a batch has not published it yet."""
        temp = self._batch.get(oid) if self._batch is not None else None
        return None if temp is None else Path(temp)

    def _keep_linked(self, temp: str, oid: str, fd: int) -> bool:
        """Like _keep for a hard link or clone (open as `fd`): the bytes may still be only in
        the page cache (written by whoever made the file), so they are flushed before the
        object appears."""
        if self._present(oid):
            return False  # the caller links the work file to the object that is there
        durable = self._batch is None
        if durable:
            os.fsync(fd)
        return self._keep(temp, oid, durable, fd)

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
        durable = self._batch is None
        temp = self.new_temp()
        taken = False
        try:
            with open(temp, "wb") as f:
                f.write(data)
                if durable:
                    f.flush()
                    os.fsync(f.fileno())
            taken = self._keep(temp, oid, durable)
        finally:
            if not taken:
                remove_quietly(temp)
        return oid

    def ingest(
        self,
        source: Path | str,
        link_modes: Iterable[str],
        ranges: Iterable[ByteRange] = (),
        advance: Callable[[int], None] | None = None,
        *,
        scan: Scanner | None = None,
        st: os.stat_result | None = None,
    ) -> Ingested:
        """Hash `source` and make sure its bytes are an object, reading the file once.

        With hardlink first in `link_modes` the work-tree file itself becomes the object (no
        copy); with reflink the object is a copy-on-write clone; otherwise the bytes are
        streamed into a temp file while they are hashed, or, for a big file whose lstat `st`
        allows it, the file's inode becomes the object and the work tree gets the copy
        (see gitmodel/cache/adopt.py). The file is opened once: `scan`, if given, reads its
        header from that descriptor and returns the ranges to hash. `advance` hears of each
        step's bytes.
        """
        source = os.fspath(source)
        fixed = tuple(ranges)
        for mode in link_modes:
            if mode == "reflink" and self._no_reflink:
                continue
            temp = self.new_temp_name()
            taken = False
            try:
                if mode == "hardlink":
                    if not hard_link(source, temp):
                        continue
                elif mode == "reflink":
                    if not try_link(mode, Path(source), Path(temp)):
                        self._no_reflink = True
                        continue
                elif mode in ("copy", "symlink"):
                    if mode == "copy" and st is not None and adoptable(st):
                        adopted = self._adopt(source, st, temp, scan or (lambda fd: fixed), advance)
                        if adopted is not None:
                            taken = True
                            return adopted
                    durable = self._batch is None
                    src = os.open(source, os.O_RDONLY)
                    try:
                        wanted = scan(src) if scan is not None else fixed
                        digest = _copy_hashing(src, temp, wanted, advance, durable)
                    finally:
                        os.close(src)
                    if self._present(digest.oid):
                        return Ingested(digest, False)
                    taken = self._keep(temp, digest.oid, durable, read_only=True)
                    return Ingested(digest, False)
                else:
                    continue
                # A hard link or clone: hash the temp file, the inode that becomes the object
                # (the work-tree path may be replaced meanwhile; this file cannot).
                fd = os.open(temp, os.O_RDONLY)
                try:
                    wanted = scan(fd) if scan is not None else fixed
                    digest = _hash_fd(fd, wanted, advance)
                    taken = self._keep_linked(temp, digest.oid, fd)
                finally:
                    os.close(fd)
                return Ingested(digest, taken and mode == "hardlink")
            finally:
                if not taken:
                    remove_quietly(temp)
        raise GitModelError(
            f"could not store {source}: no link mode in {list(link_modes)} works here",
            "add 'copy' to `git config model.linkType`",
        )

    def _adopt(
        self,
        source: str,
        st: os.stat_result,
        temp: str,
        scan: Scanner,
        advance: Callable[[int], None] | None,
    ) -> Ingested | None:
        """Make the work file's inode the object and give the work tree a fresh copy; None
        (nothing changed, `temp` still the caller's) where the file system does not allow it.

        The object is published at once, even inside a batch: adopt synced its bytes.
        """
        adopted = adopt(source, st, temp, self.new_temp_name(), scan, advance)
        if adopted is None:
            return None
        oid = adopted.digest.oid
        if self._present(oid) or self.pending(oid) is not None:
            adopted.abandon()
            remove_quietly(temp)
            return Ingested(adopted.digest, False)
        self.publish(temp, oid)
        return Ingested(adopted.digest, False, replaced_work_file=adopted.swap_in())

    def verify(self, oid: str, digest: str | None = None) -> None:
        """Rehash an object; refuses one whose bytes do not hash to `oid`, or, when a
        `digest` is given, whose SHA-256 (computed in the same pass) is not `digest`."""
        if digest is None:
            self._rehash(oid, None)
            return
        actual = self.digest_of(oid)
        if actual != digest:
            raise digest_mismatch(oid, str(self.path(oid)), digest, actual)

    def digest_of(self, oid: str) -> str:
        """The SHA-256 digest of an object, whose xxh128 is checked in the same pass."""
        sink = DigestSink()
        self._rehash(oid, sink)
        return sink.digest

    def _rehash(self, oid: str, sink: DigestSink | None) -> None:
        path = self.path(oid)
        try:
            with path.open("rb", buffering=0) as f:
                actual = hash_stream(f, sinks=[sink] if sink else ()).oid
        except FileNotFoundError:
            raise missing_object(oid) from None
        if actual != oid:
            raise corrupt_object(oid, path)

    def new_temp(self) -> Path:
        return Path(self.new_temp_name())

    def new_temp_name(self) -> str:
        """A fresh path in `tmp/` (nothing is created there), unique among live processes."""
        return self.temps.new_name()

    def publish(self, temp: str | Path, oid: str, *, read_only_already: bool = False) -> None:
        """Move a finished temp file to its object path.

        Callers check once beforehand that the object is missing; if another process stored
        it meanwhile, the rename replaces it with the same bytes (objects are content
        addressed), atomically, so readers see one complete copy or the other.
        """
        final = self.location(oid)
        if not read_only_already:
            os.chmod(temp, OBJECT_MODE)
        _rename_into_place(temp, final)


def _rename_into_place(temp: str | Path, final: str) -> None:
    try:
        os.replace(temp, final)
    except FileNotFoundError:  # the fan-out folder does not exist yet
        os.makedirs(os.path.dirname(final), exist_ok=True)
        os.replace(temp, final)


def _hash_fd(
    fd: int, ranges: Iterable[ByteRange], advance: Callable[[int], None] | None
) -> StreamDigest:
    # Unbuffered (hash_stream reads big chunks), and the descriptor stays the caller's.
    with FileIO(fd, "rb", closefd=False) as f:
        return hash_stream(f, ranges, progress=advance)


def _copy_hashing(
    src: int,
    temp: str,
    ranges: Iterable[ByteRange],
    advance: Callable[[int], None] | None,
    durable: bool = True,
) -> StreamDigest:
    # Read and write: a big file's copy is hashed by reading the temp file back. Read-only
    # from the start (the descriptor still writes), so publishing needs no chmod by path.
    dst = os.open(temp, os.O_RDWR | os.O_CREAT | os.O_TRUNC, OBJECT_MODE)
    try:
        os.fchmod(dst, OBJECT_MODE)  # the exact mode, whatever the umask
        digest = copy_hashing(src, dst, ranges, advance)
        if durable:
            os.fsync(dst)
    finally:
        os.close(dst)
    return digest


def sync_file_system(folder: Path) -> None:
    """Make every written byte on the file system holding `folder` durable (Linux syncfs).

    Where syncfs is not available, falls back to a system-wide sync.
    """
    import ctypes

    syncfs = libc_function("syncfs")
    if syncfs is None:
        os.sync()
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        if syncfs(fd) != 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err), str(folder))
    finally:
        os.close(fd)


def missing_object(oid: str) -> ObjectMissingError:
    return ObjectMissingError(
        f"object {oid} is not in the cache",
        "fetch it with `git model pull`, or re-add the artifact on the machine that has it",
    )


def digest_mismatch(oid: str, where: str, expected: str, actual: str) -> CorruptObjectError:
    """Bytes that hash to their xxh128 oid but not to the recorded SHA-256: crafted, or the
    pointer that records the digest is wrong. Never kept, never used."""
    return CorruptObjectError(
        f"object {oid} ({where}) does not match its recorded digest: expected {expected}, "
        f"got {actual}",
        "its bytes were made to satisfy the xxh128 oid, or the pointer is wrong; do not use "
        "them: delete the copy and fetch it from a trusted remote (see docs/security.md)",
    )


def corrupt_object(oid: str, path: Path) -> CorruptObjectError:
    return CorruptObjectError(
        f"object {oid} is corrupt: {path} no longer hashes to its id",
        "delete that file and fetch it again with `git model pull`",
    )
