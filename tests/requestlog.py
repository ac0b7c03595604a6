"""A TCP proxy for the tests that writes down each HTTP request passing to the server: its
method, path and query, and its Range header. A test points a remote's endpoint at it to see
which requests a command made (how many, how large), with the real S3 server behind it.
"""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass

# A request line and its headers, up to the blank line; bodies (uploads) are skipped by length.
HEAD = re.compile(rb"(GET|PUT|POST|HEAD|DELETE) (\S+) HTTP/1\.1\r\n(.*?)\r\n\r\n", re.DOTALL)
RANGE = re.compile(rb"(?im)^range: bytes=(\d+)-(\d+)\r?$")
LENGTH = re.compile(rb"(?im)^content-length: (\d+)\r?$")


@dataclass(frozen=True)
class Request:
    method: str
    target: str  # path and query, as sent: /bucket/key?uploadId=...
    range: tuple[int, int] | None  # first and last byte asked for

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]


class RequestLog:
    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._sockets: list[socket.socket] = [self._listener]
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        for sock in self._sockets:
            sock.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            server = socket.create_connection(("127.0.0.1", self.target_port))
            self._sockets += [client, server]
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, to_server: bool) -> None:
        pending = b""  # request bytes not parsed yet
        body_left = 0  # bytes of the current request's body still to skip
        with suppress(OSError):  # either side closed
            while data := source.recv(1 << 20):
                sink.sendall(data)
                if not to_server:
                    continue
                skipped = min(body_left, len(data))
                body_left -= skipped
                pending += data[skipped:]
                while body_left == 0 and (match := HEAD.match(pending)):
                    self._note(match)
                    length = LENGTH.search(match.group(3))
                    body_left = int(length.group(1)) if length else 0
                    rest = pending[match.end() :]
                    skipped = min(body_left, len(rest))
                    body_left -= skipped
                    pending = rest[skipped:]
        for sock in (source, sink):
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def _note(self, match: re.Match[bytes]) -> None:
        asked = RANGE.search(match.group(3))
        span = (int(asked.group(1)), int(asked.group(2))) if asked else None
        with self._lock:
            self.requests.append(Request(match.group(1).decode(), match.group(2).decode(), span))


@contextmanager
def request_log(target_port: int) -> Iterator[RequestLog]:
    log = RequestLog(target_port)
    try:
        yield log
    finally:
        log.close()
