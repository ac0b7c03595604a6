"""Which remote failures are retried: decided from the backends' exception types and status
codes (S3 error code and HTTP status, errno, SFTP status), not from words in messages."""

from __future__ import annotations

import errno

import asyncssh
import pytest
from botocore.exceptions import ClientError, NoCredentialsError

from gitmodel.remotes.base import is_transient


def client_error(code: str, status: int) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "PutObject",
    )


def wrapped(cause: BaseException) -> OSError:
    """As s3fs raises it: an OSError raised from botocore's error."""
    try:
        try:
            raise cause
        except ClientError as exc:
            raise OSError(errno.EIO, "wrapped") from exc
    except OSError as outer:
        return outer


@pytest.mark.parametrize(
    ("exc", "transient"),
    [
        (client_error("SlowDown", 503), True),
        (client_error("InternalError", 500), True),
        (client_error("RequestTimeout", 408), True),
        (client_error("NoSuchBucket", 404), False),
        (client_error("SomethingElse", 400), False),
        (wrapped(client_error("AccessDenied", 403)), False),
        (wrapped(client_error("ServiceUnavailable", 503)), True),
        (NoCredentialsError(), False),
        (asyncssh.SFTPError(asyncssh.FX_NO_SUCH_FILE, "gone"), False),
        (asyncssh.SFTPError(asyncssh.FX_CONNECTION_LOST, "lost"), True),
        (ConnectionResetError(errno.ECONNRESET, "reset"), True),
        (TimeoutError("timed out"), True),
        (IsADirectoryError(errno.EISDIR, "is a folder"), False),
        (OSError(errno.EROFS, "read-only"), False),
        (ValueError("bad argument"), False),
        (OSError(errno.EIO, "mentions NoSuchBucket in passing"), True),
    ],
)
def test_transient_from_types_and_codes(exc: BaseException, transient: bool) -> None:
    assert is_transient(exc) is transient
