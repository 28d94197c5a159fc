"""Serving the app with uvicorn, with limits a client cannot hold open: a deadline for
a request's headers, a least pace for its body, and a cap on open connections.

uvicorn has none of these (its --limit-concurrency answers 503 to requests, but holds
any number of connections that have not finished sending one). A client that sends
its headers or its body a byte at a time, or opens connections and says nothing,
would otherwise hold them (and their file descriptors) for as long as it likes. Past
the cap a connection is answered 503 and closed at once; a request whose headers are
not complete in time, or whose body comes slower than MIN_BODY_BYTES per
header-timeout period, gets 408 and the connection closes. A proxy in front
(docs/security.md) adds its own limits on top of these.
"""

from __future__ import annotations

import asyncio

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

HEADER_TIMEOUT = 10.0  # seconds for a request line and headers to arrive
MAX_CONNECTIONS = 500  # open connections per web process (well within 1024 descriptors)
MIN_BODY_BYTES = 1024  # of a request body, per header-timeout period, unless it is complete

_TIMED_OUT = b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
_FULL = (
    b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 5\r\n"
    b"Content-Length: 0\r\n\r\n"
)


def guarded_protocol(header_timeout: float, max_connections: int) -> type[asyncio.Protocol]:
    """uvicorn's HTTP/1.1 protocol with a header deadline and a connection cap."""

    class Guarded(H11Protocol):
        _header_timer: asyncio.TimerHandle | None = None
        _body_timer: asyncio.TimerHandle | None = None
        _body_bytes = 0  # received while a body was coming
        _body_mark = 0  # _body_bytes at the last look

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            if len(self.connections) > max_connections:
                transport.write(_FULL)
                transport.close()
                return
            self._await_headers()

        def connection_lost(self, exc: Exception | None) -> None:
            self._stop_waiting()
            self._stop_watching_body()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            state = self.conn.their_state
            if state is not h11.IDLE:
                self._stop_waiting()  # the request line and headers are in
            if state is h11.SEND_BODY:
                self._body_bytes += len(data)
                if self._body_timer is None:
                    self._body_mark = self._body_bytes
                    self._body_timer = self.loop.call_later(header_timeout, self._body_pace)
            else:
                self._stop_watching_body()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._await_headers()  # the next request on a kept-alive connection

        def _await_headers(self) -> None:
            self._stop_waiting()
            self._header_timer = self.loop.call_later(header_timeout, self._headers_late)

        def _stop_waiting(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _stop_watching_body(self) -> None:
            if self._body_timer is not None:
                self._body_timer.cancel()
                self._body_timer = None

        def _body_pace(self) -> None:
            """A body still coming must have moved on by MIN_BODY_BYTES since the last
            look (unless the app is not reading it yet: then reading is paused)."""
            self._body_timer = None
            if self.transport.is_closing() or self.conn.their_state is not h11.SEND_BODY:
                return
            if self._body_bytes - self._body_mark < MIN_BODY_BYTES and not self.flow.read_paused:
                self.transport.write(_TIMED_OUT)
                self.transport.close()
                return
            self._body_mark = self._body_bytes
            self._body_timer = self.loop.call_later(header_timeout, self._body_pace)

        def _headers_late(self) -> None:
            self._header_timer = None
            if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
                return
            self.transport.write(_TIMED_OUT)
            self.transport.close()

    return Guarded


def serve(
    host: str,
    port: int,
    *,
    header_timeout: float = HEADER_TIMEOUT,
    max_connections: int = MAX_CONNECTIONS,
) -> None:
    """Run the app from the environment's settings on ``host``:``port``."""
    import uvicorn

    uvicorn.run(
        "digest.web.app:create_app",
        factory=True,
        host=host,
        port=port,
        http=guarded_protocol(header_timeout, max_connections),
        timeout_keep_alive=5,
    )
