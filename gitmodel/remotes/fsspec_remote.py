"""Object storage through fsspec: S3 and S3-compatible stores (s3fs), GCS, Azure, SSH."""

from __future__ import annotations

import contextlib
import os
import threading
from datetime import datetime
from typing import Any, BinaryIO, cast
from urllib.parse import urlsplit

from gitmodel.errors import UsageError
from gitmodel.remotes.base import Remote, oid_from_key

CREDENTIALS_FROM = {
    "ssh": "your SSH agent, ~/.ssh or ~/.ssh/config",
    "sftp": "your SSH agent, ~/.ssh or ~/.ssh/config",
    "gs": "the environment or gcloud",
    "gcs": "the environment or gcloud",
    "az": "the environment or az login",
    "abfs": "the environment or az login",
    "abfss": "the environment or az login",
}
# Stores where a PUT is atomic: an object appears only once fully written (multipart too).
ATOMIC_PUT = {"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss"}
EXTRAS = {
    "s3": "s3",
    "s3a": "s3",
    "gs": "gcs",
    "gcs": "gcs",
    "az": "azure",
    "abfs": "azure",
    "abfss": "azure",
    "ssh": "ssh",
    "sftp": "ssh",
}


class FsspecRemote(Remote):
    def __init__(self, name: str, url: str, options: dict[str, str]) -> None:
        super().__init__(name, url)
        self.protocol = url.split("://", 1)[0].lower()
        self.credentials_from = CREDENTIALS_FROM.get(self.protocol, Remote.credentials_from)
        self.options = options
        self._fs: Any = None
        self._fs_lock = threading.Lock()
        self.base = url.split("://", 1)[1].rstrip("/")
        self.ssh: dict[str, Any] = {}
        if self.protocol in ("ssh", "sftp"):
            # ssh://[user@]host[:port]/path: the host goes to the client, the path is the base
            parsed = urlsplit(url)
            self.ssh = {"host": parsed.hostname or ""}
            if parsed.port:
                self.ssh["port"] = parsed.port
            if parsed.username:
                self.ssh["username"] = parsed.username
            self.base = parsed.path.rstrip("/") or "."

    @property
    def fs(self) -> Any:
        with self._fs_lock:  # one client for all threads: each costs a botocore set-up
            if self._fs is None:
                self._fs = self._open_fs()
        return self._fs

    def _open_fs(self) -> Any:
        try:
            import fsspec
        except ImportError:
            raise self._missing_extra() from None
        try:
            cls = fsspec.get_filesystem_class(self.protocol)
        except (ImportError, ValueError):
            raise self._missing_extra() from None
        return cls(**self._storage_options())

    def _missing_extra(self) -> UsageError:
        extra = EXTRAS.get(self.protocol, self.protocol)
        return UsageError(
            f"remote {self.label} needs support for {self.protocol}:// that is not installed",
            f"pip install 'git-model[{extra}]'",
        )

    def _storage_options(self) -> dict[str, Any]:
        opts: dict[str, Any] = {}
        if self.protocol in ("s3", "s3a"):
            client: dict[str, Any] = {}
            if "endpointurl" in self.options:
                client["endpoint_url"] = self.options["endpointurl"]
            if "region" in self.options:
                client["region_name"] = self.options["region"]
            if client:
                opts["client_kwargs"] = client
            if "profile" in self.options:
                opts["profile"] = self.options["profile"]
            opts["config_kwargs"] = {
                "connect_timeout": 10,
                "retries": {"total_max_attempts": 1},  # Remote.call retries, with backoff
            }
            opts["skip_instance_cache"] = True
        opts.update(self.ssh)  # keys come from ~/.ssh, an agent or ssh config, never git config
        return opts

    def _path(self, oid: str) -> str:
        return f"{self.base}/{self.key(oid)}"

    def list_oids(self) -> set[str]:
        try:
            keys = self.fs.find(f"{self.base}/objects")
        except FileNotFoundError:
            return set()
        return {oid for key in keys if (oid := oid_from_key(str(key))) is not None}

    def exists(self, oid: str) -> bool:
        return bool(self.fs.exists(self._path(oid)))

    def size(self, oid: str) -> int:
        return int(self.fs.info(self._path(oid))["size"])

    def size_and_age(self, oid: str) -> tuple[int, float | None]:
        info = self.fs.info(self._path(oid))
        return int(info["size"]), _written_at(info)

    def upload(self, source: str, oid: str) -> None:
        final = self._path(oid)
        if self.protocol in ATOMIC_PUT:
            self.fs.put_file(source, final)  # large files go up as multipart, atomic at the end
            return
        temp = f"{self.base}/tmp/{oid[7:]}.{os.getpid()}-{os.urandom(4).hex()}"
        self.fs.put_file(source, temp)
        # SFTP's rename neither makes the fan-out folder nor replaces an existing file
        self.fs.makedirs(final.rsplit("/", 1)[0], exist_ok=True)
        try:
            self.fs.mv(temp, final)
        except OSError:
            if not self.fs.exists(final):  # not another push of the same bytes that won
                raise
            self.fs.rm_file(temp)

    def open(self, oid: str) -> BinaryIO:
        opened = self.fs.open(self._path(oid), "rb", block_size=4 * 1024 * 1024)
        return cast(BinaryIO, opened if hasattr(opened, "readinto") else ReadInto(opened))

    def delete(self, oid: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm_file(self._path(oid))


def _written_at(info: dict[str, Any]) -> float | None:
    """When an object was written, from whichever key the backend's info uses."""
    for key in ("LastModified", "last_modified", "mtime", "created"):
        value = info.get(key)
        if isinstance(value, datetime):
            return value.timestamp()
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    return None


class ReadInto:
    """Gives a file that can only `read` (sshfs's) the `readinto` that hashing streams with."""

    def __init__(self, file: Any) -> None:
        self.file = file

    def readinto(self, buffer: bytearray | memoryview) -> int:
        data = self.file.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def read(self, size: int = -1) -> bytes:
        return bytes(self.file.read(size))

    def close(self) -> None:
        self.file.close()

    def __enter__(self) -> ReadInto:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
