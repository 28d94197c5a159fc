"""Connections for fetching a feed: one deadline over the whole fetch, and the address
guard applied to the address actually connected to.

httpx's timeouts bound each read and write, not the fetch: a server trickling the
status line, the headers or the body a byte at a time would never trip them. Here
every lookup, connect, TLS handshake, read and write gets what is left of one
deadline, across redirects. And the guard checks the very addresses the connection
is made to: the host name is resolved once for connecting, every address checked, and
the socket opened to one of them, never to a name resolved again. A name server that
answers a public address to one lookup and a private one to the next (DNS rebinding)
reaches nothing.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import httpcore
import httpx

from digest.ingest.guard import lookup, public_addresses


class Deadline:
    """The moment by which a whole fetch must be over."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def left(self, error: type[Exception] = httpcore.TimeoutException) -> float:
        """Seconds left; raises ``error`` when there are none."""
        left = self._end - time.monotonic()
        if left <= 0:
            raise error(f"no answer within {self.seconds:g} s")
        return left

    def bound(self, timeout: float | None, error: type[Exception]) -> float:
        """``timeout`` (one operation's limit), cut down to what is left."""
        left = self.left(error)
        return left if timeout is None else min(timeout, left)


class DeadlineStream(httpcore.NetworkStream):
    """A connection whose every operation ends by the deadline."""

    def __init__(self, stream: httpcore.NetworkStream, deadline: Deadline) -> None:
        self._stream = stream
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, self._deadline.bound(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, self._deadline.bound(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        # The handshake's time limit covers the whole handshake (ssl since Python 3.5),
        # and the certificate is checked against the URL's host name, not the address.
        seconds = self._deadline.bound(timeout, httpcore.ConnectTimeout)
        stream = self._stream.start_tls(ssl_context, server_hostname, seconds)
        return DeadlineStream(stream, self._deadline)

    def get_extra_info(self, info: str) -> object:
        return self._stream.get_extra_info(info)


class GuardedBackend(httpcore.SyncBackend):
    """Opens the connections of one fetch of ``url``, by its deadline.

    With ``check`` the host is resolved once, every address it has must be public, and
    the connection goes to those addresses only. Without it (private feeds allowed, or
    the connection is to the operator's proxy) any address will do.
    """

    def __init__(self, url: str, deadline: Deadline, *, check: bool) -> None:
        self._url = url
        self._deadline = deadline
        self._check = check

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        seconds = self._deadline.bound(timeout, httpcore.ConnectTimeout)
        try:
            if self._check:
                addresses = [str(ip) for ip in public_addresses(self._url, host, port, seconds)]
            else:
                addresses = [str(info[4][0]) for info in lookup(host, port, seconds)]
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(str(exc)) from None
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host!r}: {exc}") from None
        failure: Exception = httpcore.ConnectError(f"{host!r} has no address")
        for address in dict.fromkeys(addresses):
            seconds = self._deadline.bound(timeout, httpcore.ConnectTimeout)
            try:
                stream = super().connect_tcp(address, port, seconds, local_address, socket_options)
            except httpcore.ConnectError as exc:
                failure = exc
                continue
            return DeadlineStream(stream, self._deadline)
        raise failure


# httpcore's errors and the httpx errors httpx's own transport turns them into, the
# most specific first.
_ERRORS: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.ProxyError, httpx.ProxyError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
)


@contextmanager
def _httpx_errors() -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        for core, mapped in _ERRORS:
            if isinstance(exc, core):
                raise mapped(str(exc)) from exc
        raise


class _ResponseStream(httpx.SyncByteStream):
    def __init__(self, stream: Iterable[bytes]) -> None:
        self._stream = stream

    def __iter__(self) -> Iterator[bytes]:
        with _httpx_errors():
            yield from self._stream

    def close(self) -> None:
        close = getattr(self._stream, "close", None)
        if close is not None:
            close()


class GuardedTransport(httpx.BaseTransport):
    """An httpx transport whose connections are opened by ``backend``, directly or
    through the HTTP proxy at ``proxy``; TLS as httpx's own (certifi's authorities)
    unless ``ssl_context`` says otherwise."""

    def __init__(
        self,
        backend: httpcore.NetworkBackend,
        proxy: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        # As httpx.Client(trust_env=False): certifi's authorities, not SSL_CERT_FILE.
        ssl_context = ssl_context or httpx.create_ssl_context(trust_env=False)
        self._pool: httpcore.ConnectionPool
        if proxy is None:
            self._pool = httpcore.ConnectionPool(ssl_context=ssl_context, network_backend=backend)
            return
        spec = httpx.Proxy(proxy)
        if spec.url.scheme not in ("http", "https"):
            raise ValueError(f"the proxy {proxy} is not an http:// or https:// proxy")
        self._pool = httpcore.HTTPProxy(
            proxy_url=httpcore.URL(
                scheme=spec.url.raw_scheme,
                host=spec.url.raw_host,
                port=spec.url.port,
                target=spec.url.raw_path,
            ),
            proxy_auth=spec.raw_auth,
            proxy_headers=spec.headers.raw,
            ssl_context=ssl_context,
            proxy_ssl_context=spec.ssl_context,
            network_backend=backend,
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.SyncByteStream)
        url = request.url
        core = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _httpx_errors():
            response = self._pool.handle_request(core)
        assert isinstance(response.stream, Iterable)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_ResponseStream(response.stream),
            extensions=response.extensions,
        )

    def close(self) -> None:
        self._pool.close()
