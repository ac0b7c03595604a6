"""The remote interface and what every backend shares: retries, safe URLs, batched lookups."""

from __future__ import annotations

import errno
import re
import sys
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any, BinaryIO, TypeGuard, TypeVar

from gitmodel.errors import GitModelError
from gitmodel.hashing import OID_PREFIX, oid_hex
from gitmodel.remotes.tuning import Tuning

T = TypeVar("T")
LOOKUP_BATCH_LIMIT = 64  # below this many oids, ask per object; above, list the remote
RETRIES = 4
# Ranged reads of one key: ranges closer than MERGE_GAP are read as one request (the bytes
# between are cheaper than another round trip), up to MERGE_LIMIT bytes a request.
MERGE_GAP = 1024 * 1024
MERGE_LIMIT = 16 * 1024 * 1024


class RemoteError(GitModelError):
    """A remote could not be reached or refused an operation."""


class UploadCancelled(RemoteError):
    """An upload stopped because the transfer was interrupted (Ctrl-C, or another failure)."""


@dataclass(frozen=True)
class IncompleteUpload:
    """What a killed or failed push left on a remote: an S3 multipart upload (invisible, yet
    billed until aborted) or a temp file of a folder or SFTP remote."""

    key: str  # where it was going, relative to the remote's URL
    handle: str  # what the backend needs to abort it: an upload id, a temp file's path
    started: float | None  # seconds since the epoch; None where the backend does not tell


@dataclass(frozen=True)
class KeyInfo:
    """One key of a remote (a path relative to its URL), its size and when it was written
    (seconds since the epoch; None where the backend does not tell)."""

    key: str
    size: int
    written: float | None


@dataclass(frozen=True)
class Span:
    """One request of a batch of ranged reads: [start, end) of a key, and the ranges
    (start, length) it serves."""

    start: int
    end: int
    ranges: tuple[tuple[int, int], ...]


def merge_ranges(
    ranges: Iterable[tuple[int, int]], gap: int = MERGE_GAP, limit: int = MERGE_LIMIT
) -> list[Span]:
    """Group (start, length) ranges into as few requests as `gap` and `limit` allow."""
    spans: list[Span] = []
    start = end = -1
    members: list[tuple[int, int]] = []
    for begin, length in sorted(set(ranges)):
        stop = begin + length
        if members and begin - end <= gap and max(end, stop) - start <= limit:
            end = max(end, stop)
            members.append((begin, length))
            continue
        if members:
            spans.append(Span(start, end, tuple(members)))
        start, end, members = begin, stop, [(begin, length)]
    if members:
        spans.append(Span(start, end, tuple(members)))
    return spans


class Remote(ABC):
    # Where the credentials of this kind of remote come from, for error hints.
    credentials_from = "the environment or ~/.aws"

    def __init__(self, name: str, url: str) -> None:
        self.name = name
        self.url = url
        self.options: dict[str, str] = {}  # model.remote.NAME.* settings, lowercased keys
        self.cancelled = threading.Event()  # set: uploads stop at their next step, cleaned up
        self.tuning = Tuning()  # request sizes and concurrency (remotes/tuning.py)

    def cancel(self) -> None:
        """Ask the uploads in progress to stop soon and remove what they started."""
        self.cancelled.set()

    @property
    def label(self) -> str:
        return f"{self.name} ({safe_url(self.url)})"

    @staticmethod
    def key(oid: str) -> str:
        digits = oid_hex(oid)
        return f"objects/{digits[:2]}/{digits[2:]}"

    @abstractmethod
    def list_oids(self) -> set[str]:
        """Every object the remote holds (one listing, paged by the backend)."""

    @abstractmethod
    def exists(self, oid: str) -> bool: ...

    @abstractmethod
    def size(self, oid: str) -> int: ...

    def size_and_age(self, oid: str) -> tuple[int, float | None]:
        """The object's size and when it was last written (seconds since the epoch; None
        where the backend does not tell)."""
        return self.size(oid), None

    @abstractmethod
    def upload(self, source: str, oid: str) -> None:
        """Upload so that the object never appears under its final name half-written."""

    @abstractmethod
    def open(self, oid: str) -> BinaryIO:
        """A stream of the object's bytes; FileNotFoundError if the remote lacks it."""

    @abstractmethod
    def delete(self, oid: str) -> None: ...

    # --- keys: the packed layout's files (packs/, recipes/, the format marker) ---------------
    # Keys are paths relative to the remote's URL. Callers run each through `call`.

    @abstractmethod
    def put_file(self, source: str, key: str) -> None:
        """Upload a local file to `key`; it never appears there half-written."""

    @abstractmethod
    def put_bytes(self, key: str, data: bytes) -> None:
        """Write a small value to `key`; it never appears there half-written."""

    @abstractmethod
    def read_range(self, key: str, start: int, length: int) -> bytes:
        """`length` bytes of `key` from `start` (fewer only where the key ends)."""

    @abstractmethod
    def read_key(self, key: str, limit: int) -> bytes:
        """The whole value of a small key; FileNotFoundError if absent, RemoteError if it
        holds more than `limit` bytes."""

    @abstractmethod
    def list_keys(self, prefix: str) -> list[KeyInfo]:
        """Every key under `prefix` (a folder such as "packs/"), sorted; [] if none."""

    @abstractmethod
    def delete_key(self, key: str) -> None:
        """Delete `key` (a no-op if it is gone already)."""

    def read_ranges(
        self, key: str, ranges: Sequence[tuple[int, int]]
    ) -> Iterator[tuple[Span, bytes]]:
        """The (start, length) ranges of `key`, read as few merged requests (`merge_ranges`),
        one span and its bytes at a time, each request retried through `call`."""
        for span in merge_ranges(ranges):
            data = self.call(partial(self.read_range, key, span.start, span.end - span.start))
            if len(data) != span.end - span.start:
                raise self.ended_early(key, span.start + len(data), span.end)
            yield span, data

    def read_span(self, key: str, span: Span) -> Iterator[tuple[int, bytes]]:
        """Each range of `span` (from `merge_ranges`) as (start, its bytes), in order. This
        reads the span in requests of at most MERGE_LIMIT bytes, so memory stays at one;
        a backend that can stream a response reads it as one request instead."""
        for piece in merge_ranges(span.ranges, gap=span.end - span.start, limit=MERGE_LIMIT):
            length = piece.end - piece.start
            data = self.call(partial(self.read_range, key, piece.start, length))
            if len(data) != length:
                raise self.ended_early(key, piece.start + len(data), piece.end)
            for begin, size in piece.ranges:
                yield begin, data[begin - piece.start : begin - piece.start + size]

    def ended_early(self, key: str, at: int, wanted: int) -> RemoteError:
        return RemoteError(
            f"remote {self.label}: {key} ends at byte {at}, before {wanted}",
            "run `git model fsck --remote NAME`; a pack that gc is rewriting may "
            "have gone: run the command again",
        )

    def too_big(self, key: str, limit: int) -> RemoteError:
        return RemoteError(
            f"remote {self.label}: {key} is over {limit} bytes, too big for what it should be",
            f"run `git model fsck --remote {self.name}`",
        )

    def incomplete_uploads(self) -> list[IncompleteUpload]:
        """Uploads that were started and never finished (by this or any other push)."""
        return []

    def abort_upload(self, upload: IncompleteUpload) -> None:
        """Remove what an incomplete upload left (a no-op if it is gone already)."""
        raise RemoteError(f"remote {self.label} has no incomplete uploads to abort")

    def missing(self, oids: Iterable[str], jobs: int = 8) -> set[str]:
        """Which of `oids` the remote lacks: per-object checks for a few, a listing for many."""
        wanted = set(oids)
        if len(wanted) > LOOKUP_BATCH_LIMIT:
            return wanted - self.call(self.list_oids)
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            present = pool.map(lambda o: (o, self.call(lambda: self.exists(o))), sorted(wanted))
            return {o for o, there in present if not there}

    def call(self, action: Callable[[], T]) -> T:
        """Run a remote operation, retrying transient failures with exponential backoff."""
        delay = 0.2
        for attempt in range(RETRIES):
            try:
                return action()
            except GitModelError:
                raise
            except (FileNotFoundError, PermissionError) as exc:  # no bucket, no access: permanent
                raise self.error(exc) from None
            except self.backend_errors() as exc:
                if attempt == RETRIES - 1 or not is_transient(exc):
                    raise self.error(exc) from None
                time.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")

    def backend_errors(self) -> tuple[type[Exception], ...]:
        """The exceptions this backend's operations raise when the remote fails them (anything
        else is a bug, not a remote's answer). File operations fail with OSError; the
        backends' bad-argument errors are ValueError or TypeError."""
        return (OSError, ValueError, TypeError)

    def error(self, exc: BaseException) -> RemoteError:
        text = redact(f"{type(exc).__name__}: {exc}")
        return RemoteError(
            f"remote {self.label}: {text.splitlines()[0] if text else type(exc).__name__}",
            "check the URL, the endpoint and your credentials "
            f"(`git model remote list`; credentials come from {self.credentials_from})",
        )


# S3 error codes that no retry can change (s3fs turns most into PermissionError or
# FileNotFoundError, which are permanent anyway; these may also come as botocore's ClientError).
PERMANENT_CODES = frozenset(
    {"NoSuchBucket", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"}
)
RETRIED_HTTP_STATUSES = frozenset({408, 429})  # timeout, throttled; and every 5xx
PERMANENT_ERRNOS = frozenset({errno.EISDIR, errno.ENOTDIR, errno.EROFS})
# SFTP status codes (RFC draft-ietf-secsh-filexfer) a retry cannot change: no such file,
# permission denied, operation unsupported, invalid handle, no such path, file exists.
PERMANENT_SFTP_CODES = frozenset({2, 3, 8, 9, 10, 11})


def is_transient(exc: BaseException) -> bool:
    """Whether retrying might succeed: decided from the exception's type, and from the
    status the backend gives (S3 error code and HTTP status, errno, SFTP status code), on
    the exception or the error it was raised from."""
    if isinstance(exc, (ValueError, TypeError)):
        return False
    for cause in _causes(exc):
        code, status = _service_status(cause)
        if code in PERMANENT_CODES:
            return False
        if status is not None:
            return status >= 500 or status in RETRIED_HTTP_STATUSES
        if _is_a(cause, "botocore.exceptions", "NoCredentialsError"):  # nothing to sign with
            return False
        if _is_a(cause, "asyncssh.sftp", "SFTPError") and isinstance(cause.code, int):
            return cause.code not in PERMANENT_SFTP_CODES
    return not (isinstance(exc, OSError) and exc.errno in PERMANENT_ERRNOS)


def _causes(exc: BaseException) -> list[BaseException]:
    """`exc` and the errors it was raised from (s3fs wraps botocore's in an OSError)."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _service_status(exc: BaseException) -> tuple[str | None, int | None]:
    """botocore ClientError's error code and HTTP status (None, None for anything else)."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return None, None
    error = response.get("Error") or {}
    meta = response.get("ResponseMetadata") or {}
    code, status = error.get("Code"), meta.get("HTTPStatusCode")
    return (
        code if isinstance(code, str) else None,
        status if isinstance(status, int) else None,
    )


def loaded_error_types(*names: str) -> tuple[type[Exception], ...]:
    """The exception classes `module.Class` among `names` whose module is already imported
    (a backend's error can only come from a backend that was loaded: nothing is imported)."""
    found: list[type[Exception]] = []
    for name in names:
        module, _, attr = name.rpartition(".")
        cls = getattr(sys.modules.get(module), attr, None)
        if isinstance(cls, type) and issubclass(cls, Exception):
            found.append(cls)
    return tuple(found)


def _is_a(exc: BaseException, module: str, name: str) -> TypeGuard[Any]:
    return isinstance(exc, loaded_error_types(f"{module}.{name}"))


def oid_from_key(key: str) -> str | None:
    parts = key.rstrip("/").split("/")
    if len(parts) >= 2 and len(parts[-2]) == 2 and len(parts[-1]) == 30:
        candidate = OID_PREFIX + parts[-2] + parts[-1]
        if re.fullmatch(r"xxh128:[0-9a-f]{32}", candidate):
            return candidate
    return None


_USERINFO = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<userinfo>[^/@\s]+)@", re.IGNORECASE)
_SECRETS = re.compile(  # also percent-encoded (%3D, %26), as in a request URL inside an error
    r"(?i)(secret|password|token|signature|credential|x-amz-[a-z-]*)(=|%3D)((?:(?!%26)[^&\s\"'])+)"
)


def safe_url(url: str) -> str:
    """The URL without user:password@ or query secrets, fit to print."""
    return redact(url)


def redact(text: str) -> str:
    return _SECRETS.sub(r"\1\2***", _USERINFO.sub(_hide_userinfo, text))


def _hide_userinfo(match: re.Match[str]) -> str:
    """An SSH login name is no secret (Git prints it too); any other user part may be a token."""
    scheme, userinfo = match.group("scheme"), match.group("userinfo")
    if scheme.lower() in ("ssh://", "sftp://") and ":" not in userinfo:
        return match.group(0)
    return f"{scheme}***@"
