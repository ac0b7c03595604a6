"""How remote URLs are read: what counts as a secret, and where an ssh:// host goes."""

from __future__ import annotations

import pytest

from gitmodel.remotes.fsspec_remote import FsspecRemote
from gitmodel.remotes.shared import carries_credentials


@pytest.mark.parametrize(
    ("url", "secret"),
    [
        ("s3://key:secret@bucket/models", True),
        ("s3://key@bucket/models", True),
        ("ssh://me:pw@host/srv/models", True),
        ("ssh://me@host/srv/models", False),
        ("sftp://me@host:2222/srv", False),
        ("s3://bucket/models", False),
        ("/mnt/nas/models", False),
    ],
)
def test_which_urls_carry_credentials(url: str, secret: bool) -> None:
    assert carries_credentials(url) is secret


def test_ssh_url_gives_host_port_and_login_to_the_client_and_keeps_the_path() -> None:
    remote = FsspecRemote("origin", "ssh://me@models.example:2222/srv/models/", {})
    assert remote.ssh == {"host": "models.example", "port": 2222, "username": "me"}
    assert remote.base == "/srv/models"
    assert remote.key("xxh128:" + "ab" * 16) == "objects/ab/" + "ab" * 15
