"""A folder remote (a mounted NAS, a shared disk): plain files, renamed into place."""

from __future__ import annotations

import os
import shlex
import shutil
from pathlib import Path
from typing import BinaryIO

from gitmodel.hashing import oid_hex
from gitmodel.remotes.base import IncompleteUpload, Remote, RemoteError, oid_from_key


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
        self._check_root()
        final = self._path(oid)
        final.parent.mkdir(parents=True, exist_ok=True)
        (self.root / "tmp").mkdir(exist_ok=True)  # a killed upload leaves nothing in objects/
        temp = self.root / "tmp" / f"{oid_hex(oid)}.{os.getpid()}-{os.urandom(4).hex()}"
        try:
            shutil.copyfile(source, temp)
            with temp.open("rb+") as f:
                os.fsync(f.fileno())
            os.chmod(temp, 0o444)
            os.replace(temp, final)
        finally:
            if temp.exists():
                temp.unlink()

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
