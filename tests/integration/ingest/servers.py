"""Real servers on 127.0.0.1 for the fetch tests: a TCP server that answers each
connection with a script (trickling bytes, a gzip bomb…), and a name resolver that
answers for made-up host names and passes every other lookup through."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest


class Connection:
    """One accepted connection, with the request read off it."""

    def __init__(self, sock: socket.socket, stopping: threading.Event) -> None:
        self.sock = sock
        self.peer = sock.getpeername()
        self.stopping = stopping
        self.request = b""

    def read_request(self) -> bytes:
        while b"\r\n\r\n" not in self.request:
            data = self.sock.recv(4096)
            if not data:
                break
            self.request += data
        return self.request

    def trickle(self, data: bytes, every: float, for_at_most: float) -> None:
        """Send ``data`` a byte every ``every`` seconds, for ``for_at_most`` seconds, or
        until the client hangs up or the server stops."""
        end = time.monotonic() + for_at_most
        for byte in data:
            if time.monotonic() > end or self.stopping.wait(every):
                return
            self.sock.sendall(bytes([byte]))


class ScriptServer:
    """Answers every connection with ``script``, each in its own thread, and keeps the
    requests it read."""

    def __init__(self, script: Callable[[Connection], None]) -> None:
        self.script = script
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.port = self.listener.getsockname()[1]
        self.stopping = threading.Event()
        self.connections: list[Connection] = []
        self.closed: list[float] = []  # when each script ended (monotonic)
        self.thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def requests(self) -> list[bytes]:
        return [c.request for c in self.connections if c.request]

    def wait_for_peer(self, peer: object, timeout: float = 10.0) -> list[object]:
        """The peers accepted, in order, once ``peer`` is among them (or time is up)."""
        end = time.monotonic() + timeout
        while peer not in [c.peer for c in self.connections] and time.monotonic() < end:
            time.sleep(0.02)
        return [c.peer for c in self.connections]

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                sock, _ = self.listener.accept()
            except TimeoutError:
                continue
            connection = Connection(sock, self.stopping)
            self.connections.append(connection)
            threading.Thread(target=self._run, args=(connection,), daemon=True).start()

    def _run(self, connection: Connection) -> None:
        try:
            connection.read_request()
            self.script(connection)
        except OSError:
            pass  # the client hung up: what these tests want of it
        finally:
            connection.sock.close()
            self.closed.append(time.monotonic())


@contextmanager
def script_server(script: Callable[[Connection], None]) -> Iterator[ScriptServer]:
    server = ScriptServer(script)
    server.thread.start()
    try:
        yield server
    finally:
        server.stopping.set()
        server.thread.join(timeout=5)
        server.listener.close()


class Resolver:
    """``socket.getaddrinfo`` answering made-up names: each name has a list of answers,
    one per lookup, the last one repeated; a name can also be made never to answer."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.answers: dict[str, list[str]] = {}
        self.silent: set[str] = set()
        self.lookups: list[str] = []
        self.release = threading.Event()
        self._real = socket.getaddrinfo
        monkeypatch.setattr(socket, "getaddrinfo", self.getaddrinfo)

    def getaddrinfo(self, host: Any, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name in self.silent:
            self.lookups.append(name)
            self.release.wait(60)  # a name server that never answers
            raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
        if name not in self.answers:
            return self._real(host, port, *args, **kwargs)
        self.lookups.append(name)
        queue = self.answers[name]
        address = queue.pop(0) if len(queue) > 1 else queue[0]
        return self._real(address, port, *args, **kwargs)


def clear_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    """An environment naming no proxy, whatever the machine running the tests has."""
    for name in list(os.environ):
        if name.lower().endswith("_proxy"):
            monkeypatch.delenv(name)
