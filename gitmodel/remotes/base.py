"""The remote interface and what every backend shares: retries, safe URLs, batched lookups."""

from __future__ import annotations

import re
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import BinaryIO, TypeVar

from gitmodel.errors import GitModelError
from gitmodel.hashing import OID_PREFIX, oid_hex

T = TypeVar("T")
LOOKUP_BATCH_LIMIT = 64  # below this many oids, ask per object; above, list the remote
RETRIES = 4


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


class Remote(ABC):
    # Where the credentials of this kind of remote come from, for error hints.
    credentials_from = "the environment or ~/.aws"

    def __init__(self, name: str, url: str) -> None:
        self.name = name
        self.url = url
        self.cancelled = threading.Event()  # set: uploads stop at their next step, cleaned up

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
            except Exception as exc:
                if attempt == RETRIES - 1 or not is_transient(exc):
                    raise self.error(exc) from None
                time.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")

    def error(self, exc: BaseException) -> RemoteError:
        text = redact(f"{type(exc).__name__}: {exc}")
        return RemoteError(
            f"remote {self.label}: {text.splitlines()[0] if text else type(exc).__name__}",
            "check the URL, the endpoint and your credentials "
            f"(`git model remote list`; credentials come from {self.credentials_from})",
        )


def is_transient(exc: BaseException) -> bool:
    name = type(exc).__name__
    permanent = (
        "NoSuchBucket",
        "AccessDenied",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "NoCredentialsError",
        "ValueError",
        "TypeError",
        "IsADirectoryError",
    )
    return not any(p in name or p in str(exc) for p in permanent)


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
