"""A TCP proxy on 127.0.0.1 that can be cut and restored: in front of PostgreSQL,
Redis or an SMTP server, it makes that service unreachable for a while as a network
fault or a restarting server would, without touching the service itself. Cut with a
``greeting``, it answers each new connection with that line and hangs up, as an SMTP
server refusing sessions (``421 …``) does. Used by bench/faults.py and the fault tests."""

from __future__ import annotations

import contextlib
import select
import socket
import threading
from collections.abc import Iterator


class Proxy:
    """Forwards each connection to ``target``. ``cut()`` resets every open connection
    and refuses new ones until ``restore()``."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._up = threading.Event()
        self._up.set()
        self._closed = False
        self._greeting: bytes | None = None
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def cut(self, greeting: bytes | None = None) -> None:
        """Reset every connection through the proxy and refuse new ones (with
        ``greeting`` first, when given)."""
        self._greeting = greeting
        self._up.clear()
        with self._lock:
            for sock in list(self._open):
                _reset(sock)
            self._open.clear()

    def restore(self) -> None:
        self._up.set()

    def close(self) -> None:
        self._closed = True
        self.cut()
        with contextlib.suppress(OSError):
            self.listener.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self._up.is_set():
                if self._greeting:
                    with contextlib.suppress(OSError):
                        client.sendall(self._greeting)
                        client.shutdown(socket.SHUT_WR)
                        client.close()  # closed in order, so the line is read
                        continue
                _reset(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _reset(client)
                continue
            upstream.settimeout(None)
            with self._lock:
                self._open.update((client, upstream))
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        pair = {a: b, b: a}
        try:
            while True:
                ready, _, _ = select.select([a, b], [], [], 0.5)
                if not self._up.is_set() or self._closed:
                    return
                for sock in ready:
                    data = sock.recv(65536)
                    if not data:
                        return
                    pair[sock].sendall(data)
        except (OSError, ValueError):
            return
        finally:
            with self._lock:
                self._open.discard(a)
                self._open.discard(b)
            _reset(a)
            _reset(b)


def _reset(sock: socket.socket) -> None:
    """Close ``sock`` with a reset, as a broken network or a killed server does."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    with contextlib.suppress(OSError):
        sock.close()


@contextlib.contextmanager
def proxy_to(host: str, port: int) -> Iterator[Proxy]:
    proxy = Proxy(host, port)
    try:
        yield proxy
    finally:
        proxy.close()
