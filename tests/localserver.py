"""Start a test server on a free 127.0.0.1 port, wait until it answers, stop it afterwards."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def local_server(
    command: Callable[[int], list[str]],
    answers: Callable[[int], bool],
    log: Path,
    what: str,
    env: dict[str, str] | None = None,
    timeout: float = 30,
) -> Iterator[int]:
    """Run `command(port)` until the block ends; yields the port once `answers(port)`."""
    for _attempt in range(3):  # the free port can be taken between probe and bind
        port = free_port()
        with log.open("ab") as out:
            server = subprocess.Popen(
                command(port), stdout=out, stderr=subprocess.STDOUT, env=env or dict(os.environ)
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and server.poll() is None and not answers(port):
            time.sleep(0.05)
        if server.poll() is None and answers(port):
            break
        server.kill()
        server.wait()
    else:
        pytest.fail(f"{what} did not start: {log.read_text()[-2000:]}")
    try:
        yield port
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
