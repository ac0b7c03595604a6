"""Object storage through fsspec: S3 and S3-compatible stores (s3fs), GCS, Azure, SSH."""

from __future__ import annotations

import contextlib
import itertools
import os
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, BinaryIO, cast
from urllib.parse import urlsplit

from gitmodel.errors import UsageError
from gitmodel.remotes.base import (
    IncompleteUpload,
    KeyInfo,
    Remote,
    Span,
    UploadCancelled,
    loaded_error_types,
    oid_from_key,
)
from gitmodel.remotes.s3stream import RangeStream, stream_span

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
S3 = {"s3", "s3a"}
# Above the multipart threshold (remotes/tuning.py), an S3 upload goes up in parts, at most
# MAX_PARTS of them: memory stays at one part per transfer whatever the object's size.
MAX_PARTS = 10_000
# The errors the backends raise for a failed request (their base classes); only those of
# backends already imported are looked up.
BACKEND_ERRORS = (
    "botocore.exceptions.BotoCoreError",
    "botocore.exceptions.ClientError",
    "aiohttp.ClientError",
    "asyncssh.misc.Error",
    "google.auth.exceptions.GoogleAuthError",
    "gcsfs.retry.HttpError",
    "azure.core.exceptions.AzureError",
)
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
        self._multipart: dict[str, tuple[str, str]] = {}  # in flight: upload id -> bucket, key
        self._multipart_lock = threading.Lock()
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
        if self.protocol in S3:  # botocore's client, without s3fs's set-up (remotes/botofs.py)
            from importlib.util import find_spec

            from gitmodel.remotes.botofs import BotoS3

            if find_spec("botocore") is None:
                raise self._missing_extra()
            return BotoS3(self._storage_options())
        try:
            import fsspec
        except ImportError:
            raise self._missing_extra() from None
        try:
            cls = fsspec.get_filesystem_class(self.protocol)
        except (ImportError, ValueError):
            raise self._missing_extra() from None
        return cls(**self._storage_options())

    def backend_errors(self) -> tuple[type[Exception], ...]:
        return super().backend_errors() + loaded_error_types(*BACKEND_ERRORS)

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

    def cancel(self) -> None:
        """Also abort the multipart uploads in flight now, not once the part each is sending
        has gone up (seconds, on a slow link): a CI runner follows its SIGTERM with a SIGKILL
        after a short grace, and an upload left behind is billed until aborted."""
        super().cancel()
        with self._multipart_lock:
            started = list(self._multipart.items())
        for upload_id, (bucket, key) in started:
            with contextlib.suppress(Exception):  # the upload's own clean-up tries again
                self.fs.call_s3(
                    "abort_multipart_upload", Bucket=bucket, Key=key, UploadId=upload_id
                )

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
        self.put_file(source, self.key(oid))

    def _key_path(self, key: str) -> str:
        return f"{self.base}/{key}"

    def put_file(self, source: str, key: str) -> None:
        final = self._key_path(key)
        if self.protocol in S3:
            if os.path.getsize(source) > self.tuning.multipart_threshold:
                self._upload_in_parts(source, final)
            else:
                self._put_object(source, final)
            return
        if self.protocol in ATOMIC_PUT:
            self.fs.put_file(source, final)  # large files go up as multipart, atomic at the end
            return
        self._put_renamed(final, lambda temp: self.fs.put_file(source, temp))

    def put_bytes(self, key: str, data: bytes) -> None:
        final = self._key_path(key)
        if self.protocol in ATOMIC_PUT:
            self.fs.pipe_file(final, data)
            return
        self._put_renamed(final, lambda temp: self.fs.pipe_file(temp, data))

    def _put_renamed(self, final: str, write: Callable[[str], object]) -> None:
        """Where a write is not atomic (SFTP): to a temp name in tmp/, then renamed."""
        name = final.rsplit("/", 1)[-1]
        temp = f"{self.base}/tmp/{name}.{os.getpid()}-{os.urandom(4).hex()}"
        try:
            write(temp)
            # SFTP's rename neither makes the fan-out folder nor replaces an existing file
            self.fs.makedirs(final.rsplit("/", 1)[0], exist_ok=True)
            try:
                self.fs.mv(temp, final)
            except OSError:
                if not self.fs.exists(final):  # not another push of the same bytes that won
                    raise
                self.fs.rm_file(temp)
        except BaseException:
            with contextlib.suppress(Exception):  # what cannot be removed now, gc removes later
                self.fs.rm_file(temp)
            raise

    def _put_object(self, source: str, path: str) -> None:
        """One PUT, its body streamed from the file (s3fs's `put_file` reads a file that
        fits one request whole into memory)."""
        bucket, key = path.split("/", 1)
        with open(source, "rb") as body:
            self.fs.call_s3("put_object", Bucket=bucket, Key=key, Body=body)

    def read_range(self, key: str, start: int, length: int) -> bytes:
        if length <= 0:
            return b""
        path = self._key_path(key)
        if self.protocol in S3:  # one GET, streamed (s3fs's cat_file is slow on large ranges)
            stream = RangeStream(self.fs, path, start, start + length)
            try:
                return stream.read(length)
            finally:
                stream.close()
        if self.protocol in ATOMIC_PUT:  # one GET with a Range header
            return bytes(self.fs.cat_file(path, start=start, end=start + length))
        with self.fs.open(path, "rb") as f:  # sshfs's cat_file ignores start and end
            f.seek(start)
            return bytes(f.read(length))

    def read_span(self, key: str, span: Span) -> Iterator[tuple[int, bytes]]:
        """On S3, one GET for the whole span, streamed (remotes/s3stream.py)."""
        if self.protocol not in S3:
            return super().read_span(key, span)
        return stream_span(self, self.fs, self._key_path(key), key, span)

    def read_key(self, key: str, limit: int) -> bytes:
        path = self._key_path(key)
        if self.protocol in ATOMIC_PUT:  # one request; the size is checked after
            data = bytes(self.fs.cat_file(path))
        else:
            with self.fs.open(path, "rb") as f:
                data = bytes(f.read(limit + 1))
        if len(data) > limit:
            raise self.too_big(key, limit)
        return data

    def list_keys(self, prefix: str) -> list[KeyInfo]:
        top = self._key_path(prefix.rstrip("/"))
        try:
            found = self.fs.find(top, detail=True)
        except FileNotFoundError:
            return []
        keys = []
        for name, info in found.items():
            if info.get("type", "file") != "file":
                continue
            relative = str(name).lstrip("/").removeprefix(self.base.strip("/") + "/")
            keys.append(KeyInfo(relative, int(info.get("size") or 0), _written_at(info)))
        return sorted(keys, key=lambda k: k.key)

    def delete_key(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm_file(self._key_path(key))

    def _upload_in_parts(self, source: str, path: str) -> None:
        """An S3 multipart upload of our own rather than s3fs's, so that whatever stops it
        (an error, or Ctrl-C through `cancel`) aborts it: an incomplete upload is invisible
        but billed until aborted."""
        bucket, key = path.split("/", 1)
        part_size = max(self.tuning.part_size, -(-os.path.getsize(source) // MAX_PARTS))
        call = self.fs.call_s3
        upload_id = call("create_multipart_upload", Bucket=bucket, Key=key)["UploadId"]
        with self._multipart_lock:
            self._multipart[upload_id] = (bucket, key)
        try:
            parts = []
            with open(source, "rb") as f:
                for number in itertools.count(1):
                    if self.cancelled.is_set():
                        raise UploadCancelled(f"upload to {self.label} interrupted")
                    data = f.read(part_size)
                    if not data:
                        break
                    sent = call(
                        "upload_part",
                        Bucket=bucket,
                        Key=key,
                        UploadId=upload_id,
                        PartNumber=number,
                        Body=data,
                    )
                    parts.append({"PartNumber": number, "ETag": sent["ETag"]})
            call(
                "complete_multipart_upload",
                Bucket=bucket,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
            )
        except BaseException:
            with contextlib.suppress(Exception):  # what cannot be aborted now, gc aborts later
                call("abort_multipart_upload", Bucket=bucket, Key=key, UploadId=upload_id)
            raise
        finally:
            with self._multipart_lock:
                del self._multipart[upload_id]

    def incomplete_uploads(self) -> list[IncompleteUpload]:
        if self.protocol in S3:
            return self._multipart_uploads()
        if self.protocol in ATOMIC_PUT:
            return []  # GCS and Azure discard unfinished uploads by themselves
        try:
            entries = self.fs.ls(f"{self.base}/tmp", detail=True)
        except FileNotFoundError:
            return []
        return [
            IncompleteUpload(f"tmp/{str(e['name']).rsplit('/', 1)[-1]}", e["name"], _written_at(e))
            for e in sorted(entries, key=lambda e: str(e["name"]))
            if e.get("type") == "file"
        ]

    def _multipart_uploads(self) -> list[IncompleteUpload]:
        bucket, _, prefix = self.base.partition("/")
        under = f"{prefix}/" if prefix else ""
        query: dict[str, str] = {"Bucket": bucket, "Prefix": under}
        found = []
        while True:
            page = self.fs.call_s3("list_multipart_uploads", **query)
            for upload in page.get("Uploads", []):
                key = str(upload["Key"]).removeprefix(under)
                found.append(IncompleteUpload(key, upload["UploadId"], _written_at(upload)))
            if not page.get("IsTruncated"):
                return found
            query["KeyMarker"] = page["NextKeyMarker"]
            query["UploadIdMarker"] = page["NextUploadIdMarker"]

    def abort_upload(self, upload: IncompleteUpload) -> None:
        if self.protocol in S3:
            bucket, _, prefix = self.base.partition("/")
            key = f"{prefix}/{upload.key}" if prefix else upload.key
            with contextlib.suppress(FileNotFoundError):  # NoSuchUpload: aborted meanwhile
                self.fs.call_s3(
                    "abort_multipart_upload", Bucket=bucket, Key=key, UploadId=upload.handle
                )
            return
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm_file(upload.handle)

    def open(self, oid: str) -> BinaryIO:
        opened = self.fs.open(self._path(oid), "rb", block_size=4 * 1024 * 1024)
        return cast(BinaryIO, opened if hasattr(opened, "readinto") else ReadInto(opened))

    def delete(self, oid: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm_file(self._path(oid))


def _written_at(info: dict[str, Any]) -> float | None:
    """When an object was written, from whichever key the backend's info uses."""
    for key in ("LastModified", "last_modified", "mtime", "created", "Initiated"):
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
