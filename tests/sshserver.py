"""A real SSH/SFTP endpoint for the tests: an asyncssh server on 127.0.0.1, one per session.

It serves the local file system over SFTP to one user, `tester`, who logs in with a key the
fixture makes; the client side (sshfs, through git-model) finds that key and the server's host
key in the test's own HOME/.ssh, as it would a user's. Nothing here talks to the internet.

Run as a module, it is the server: `python -m tests.sshserver PORT STATE_DIR`.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.localserver import local_server

USER = "tester"


@dataclass(frozen=True)
class SshServer:
    port: int
    state: Path  # holds client_key (private) and host_key.pub

    def url(self, folder: Path) -> str:
        return f"ssh://{USER}@127.0.0.1:{self.port}{folder}"

    def trust_in(self, home: Path) -> None:
        """Give the user whose HOME is `home` the client key and the server's host key."""
        ssh = home / ".ssh"
        ssh.mkdir(mode=0o700, exist_ok=True)
        key = ssh / "id_ed25519"
        key.write_bytes((self.state / "client_key").read_bytes())
        key.chmod(0o600)
        host_key = (self.state / "host_key.pub").read_text().split()[:2]
        known = f"[127.0.0.1]:{self.port} {' '.join(host_key)}\n"
        (ssh / "known_hosts").write_text(known)


def _make_keys(state: Path) -> None:
    import asyncssh

    for name in ("host_key", "client_key"):
        key = asyncssh.generate_private_key("ssh-ed25519")
        key.write_private_key(str(state / name))
        key.write_public_key(str(state / f"{name}.pub"))


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            return sock.recv(4).startswith(b"SSH-")
    except OSError:
        return False


@pytest.fixture(scope="session")
def ssh_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshServer]:
    state = tmp_path_factory.mktemp("sshd")
    _make_keys(state)
    command = lambda port: [sys.executable, "-m", "tests.sshserver", str(port), str(state)]  # noqa: E731
    root = str(Path(__file__).resolve().parent.parent)
    env = os.environ | {"PYTHONPATH": root}
    with local_server(command, _listening, state / "server.log", "the SSH server", env) as port:
        yield SshServer(port, state)


async def _serve(port: int, state: Path) -> None:
    import asyncssh

    class OneUser(asyncssh.SSHServer):
        def begin_auth(self, username: str) -> bool:
            return True  # authentication required: the key below is the only way in

        def validate_password(self, username: str, password: str) -> bool:
            return False

    server = await asyncssh.create_server(
        OneUser,
        "127.0.0.1",
        port,
        server_host_keys=[str(state / "host_key")],
        authorized_client_keys=str(state / "client_key.pub"),
        sftp_factory=True,
        allow_scp=False,
    )
    async with server:
        await server.wait_closed()


if __name__ == "__main__":
    os.umask(0o022)
    asyncio.run(_serve(int(sys.argv[1]), Path(sys.argv[2])))
