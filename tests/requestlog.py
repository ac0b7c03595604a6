"""A TCP proxy for the tests that writes down each HTTP request passing to the server: its
method, path and query, and its Range header. A test points a remote's endpoint at it to see
which requests a command made (how many, how large), with the real S3 server behind it.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from tests.gateproxy import GateProxy

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


class _Parser:
    """The requests of one connection, from its bytes towards the server."""

    def __init__(self, found: list[Request]) -> None:
        self.found = found
        self.pending = b""  # request bytes not parsed yet
        self.body_left = 0  # bytes of the current request's body still to skip

    def feed(self, data: bytes) -> None:
        self.pending += self._skip_body(data)
        while self.body_left == 0 and (match := HEAD.match(self.pending)):
            asked = RANGE.search(match.group(3))
            span = (int(asked.group(1)), int(asked.group(2))) if asked else None
            self.found.append(Request(match.group(1).decode(), match.group(2).decode(), span))
            length = LENGTH.search(match.group(3))
            self.body_left = int(length.group(1)) if length else 0
            self.pending = self._skip_body(self.pending[match.end() :])

    def _skip_body(self, data: bytes) -> bytes:
        skipped = min(self.body_left, len(data))
        self.body_left -= skipped
        return data[skipped:]


class RequestLog(GateProxy):
    """A gate proxy that never closes its gate and notes every request."""

    def __init__(self, target_port: int) -> None:
        super().__init__(target_port, budget=1 << 62)
        self.requests: list[Request] = []
        self._parsers: dict[socket.socket, _Parser] = {}  # by connection to the server

    def _pass_budget(self, data: bytes, sink: socket.socket) -> bytes:
        self._parsers.setdefault(sink, _Parser(self.requests)).feed(data)
        return super()._pass_budget(data, sink)


@contextmanager
def request_log(target_port: int) -> Iterator[RequestLog]:
    log = RequestLog(target_port)
    try:
        yield log
    finally:
        log.close()
