"""A TCP proxy for the tests that holds one request in the middle of its body: the first
connection whose bytes towards the server pass `budget` (counted over all connections) stops
being forwarded there until `release()`; every other connection flows freely. A test uses it
to stop a transfer at a known point (after the first part of an upload, say) without timing.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress


class GateProxy:
    def __init__(self, target_port: int, budget: int) -> None:
        self.target_port = target_port
        self.budget = budget
        self.held = threading.Event()  # set once a connection is held at the budget
        self._released = threading.Event()
        self._lock = threading.Lock()
        self._forwarded = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._sockets: list[socket.socket] = [self._listener]
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def release(self) -> None:
        self._released.set()

    def close(self) -> None:
        self._released.set()
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
        with suppress(OSError):  # either side closed
            while data := source.recv(65536):
                if to_server:
                    data = self._pass_budget(data, sink)
                sink.sendall(data)
        for sock in (source, sink):
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def _pass_budget(self, data: bytes, sink: socket.socket) -> bytes:
        """Forward what the budget allows; at the budget, hold this connection until released.
        Returns what is still to send."""
        with self._lock:
            if self.held.is_set():
                return data  # one connection is held; the others flow
            allowed = self.budget - self._forwarded
            self._forwarded += min(len(data), allowed)
            if allowed >= len(data):
                return data
            self.held.set()
        sink.sendall(data[:allowed])
        self._released.wait()
        return data[allowed:]


@contextmanager
def gate_proxy(target_port: int, budget: int) -> Iterator[GateProxy]:
    proxy = GateProxy(target_port, budget)
    try:
        yield proxy
    finally:
        proxy.close()
