"""A folder remote (a mounted NAS, a shared disk): plain files, renamed into place."""

from __future__ import annotations

import os
import shlex
import shutil
import stat
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from gitmodel.remotes.base import IncompleteUpload, KeyInfo, Remote, RemoteError, oid_from_key


class FolderRemote(Remote):
    def __init__(self, name: str, url: str) -> None:
        super().__init__(name, url)
        self.root = Path(url.removeprefix("file://")).expanduser()

    def _path(self, oid: str) -> Path:
        return self.root / self.key(oid)

    def _check_root(self) -> None:
        if not self.root.is_dir():
            raise RemoteError(
                f"remote {self.label}: the folder does not exist",
                f"create it (mkdir -p {shlex.quote(str(self.root))}) or mount it, or point the "
                f"remote elsewhere (`git model remote remove {self.name}`, then "
                f"`git model remote add {self.name} URL`)",
            )

    def list_oids(self) -> set[str]:
        self._check_root()
        found = set()
        objects = self.root / "objects"
        if objects.is_dir():
            for prefix in os.scandir(objects):
                if prefix.is_dir() and len(prefix.name) == 2:
                    for entry in os.scandir(prefix.path):
                        oid = oid_from_key(f"{prefix.name}/{entry.name}")
                        if oid:
                            found.add(oid)
        return found

    def exists(self, oid: str) -> bool:
        self._check_root()
        return self._path(oid).is_file()

    def size(self, oid: str) -> int:
        return self._path(oid).stat().st_size

    def size_and_age(self, oid: str) -> tuple[int, float | None]:
        st = self._path(oid).stat()
        return st.st_size, st.st_mtime

    def upload(self, source: str, oid: str) -> None:
        self.put_file(source, self.key(oid))

    def put_file(self, source: str, key: str) -> None:
        self._put(key, lambda temp: shutil.copyfile(source, temp))

    def put_bytes(self, key: str, data: bytes) -> None:
        self._put(key, lambda temp: Path(temp).write_bytes(data))

    def _put(self, key: str, write: Callable[[Path], object]) -> None:
        """Write to a temp file in tmp/ (a killed upload leaves nothing under `key`), sync it,
        make it read-only and rename it into place."""
        self._check_root()
        final = self.root / key
        final.parent.mkdir(parents=True, exist_ok=True)
        (self.root / "tmp").mkdir(exist_ok=True)
        temp = self.root / "tmp" / f"{final.name}.{os.getpid()}-{os.urandom(4).hex()}"
        try:
            write(temp)
            with temp.open("rb+") as f:
                os.fsync(f.fileno())
            os.chmod(temp, 0o444)
            os.replace(temp, final)
        finally:
            if temp.exists():
                temp.unlink()

    def read_range(self, key: str, start: int, length: int) -> bytes:
        self._check_root()
        with (self.root / key).open("rb", buffering=0) as f:
            parts = []
            while length > 0:
                data = os.pread(f.fileno(), length, start)
                if not data:
                    break
                parts.append(data)
                start += len(data)
                length -= len(data)
        return b"".join(parts)

    def read_key(self, key: str, limit: int) -> bytes:
        self._check_root()
        with (self.root / key).open("rb") as f:
            data = f.read(limit + 1)
        if len(data) > limit:
            raise self.too_big(key, limit)
        return data

    def list_keys(self, prefix: str) -> list[KeyInfo]:
        self._check_root()
        top = self.root / prefix
        found = []
        for path in top.rglob("*") if top.is_dir() else []:
            st = path.lstat()
            if stat.S_ISREG(st.st_mode):
                key = path.relative_to(self.root).as_posix()
                found.append(KeyInfo(key, st.st_size, st.st_mtime))
        return sorted(found, key=lambda k: k.key)

    def delete_key(self, key: str) -> None:
        (self.root / key).unlink(missing_ok=True)

    def incomplete_uploads(self) -> list[IncompleteUpload]:
        self._check_root()
        tmp = self.root / "tmp"
        if not tmp.is_dir():
            return []
        with os.scandir(tmp) as entries:
            return [
                IncompleteUpload(f"tmp/{e.name}", e.path, e.stat().st_mtime)
                for e in sorted(entries, key=lambda e: e.name)
                if e.is_file(follow_symlinks=False)
            ]

    def abort_upload(self, upload: IncompleteUpload) -> None:
        Path(upload.handle).unlink(missing_ok=True)

    def open(self, oid: str) -> BinaryIO:
        self._check_root()
        return self._path(oid).open("rb")

    def delete(self, oid: str) -> None:
        path = self._path(oid)
        path.unlink(missing_ok=True)
