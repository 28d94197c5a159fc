"""Fetching a feed: conditional GET, one deadline over the whole fetch, a size cap that
holds for compressed bodies too, and the address guard applied to every redirect and
to the address actually connected to."""

from __future__ import annotations

import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import httpx

from digest import __version__
from digest.ingest.compression import ACCEPT_ENCODING, inflater_for
from digest.ingest.connect import Deadline, GuardedBackend, GuardedTransport
from digest.ingest.errors import IngestError
from digest.ingest.guard import check_url

MAX_REDIRECTS = 5
REDIRECTS = frozenset({301, 302, 303, 307, 308})
USER_AGENT = f"digest/{__version__} (feed reader)"
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)


@dataclass(frozen=True)
class FetchResult:
    status: int
    body: bytes | None  # None: not modified since the last fetch
    etag: str | None
    last_modified: str | None
    final_url: str


def _too_large(url: str, max_bytes: int) -> IngestError:
    return IngestError(f"feed {url} is larger than the limit of {max_bytes} bytes")


def _read_file(url: str, max_bytes: int) -> FetchResult:
    path = Path(unquote(urlsplit(url).path))
    try:
        with path.open("rb") as handle:
            body = handle.read(max_bytes + 1)
    except OSError as exc:
        raise IngestError(f"cannot read feed file {path}: {exc.strerror or exc}") from None
    if len(body) > max_bytes:
        raise _too_large(url, max_bytes)
    return FetchResult(200, body, None, None, url)


def _proxy_for(url: str) -> str | None:
    """The proxy the environment names for ``url`` (HTTP_PROXY, HTTPS_PROXY, NO_PROXY)."""
    parts = urlsplit(url)
    proxy = urllib.request.getproxies().get(parts.scheme.lower())
    if not proxy or urllib.request.proxy_bypass(parts.netloc):
        return None
    return proxy


def _body(response: httpx.Response, url: str, max_bytes: int) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(url, max_bytes)
    inflater = inflater_for(response.headers.get("content-encoding", ""), url, max_bytes)
    body = bytearray()
    for chunk in response.iter_raw():
        if inflater is None:
            body += chunk
        else:
            inflater.feed(chunk, body)
        if len(body) > max_bytes:
            raise _too_large(url, max_bytes)
    return bytes(body)


def _transport(url: str, deadline: Deadline, *, allow_private: bool) -> GuardedTransport:
    proxy = _proxy_for(url)
    # Behind a proxy the connection is to the proxy, which the operator chose; the
    # feed's host is checked by check_url as this machine resolves it.
    backend = GuardedBackend(url, deadline, check=not allow_private and proxy is None)
    return GuardedTransport(backend, proxy)


def fetch_feed(
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    timeout: float = 15.0,
    max_bytes: int = 10 * 1024 * 1024,
    allow_private: bool = False,
) -> FetchResult:
    """GET ``url`` (or read a ``file://`` URL when allowed) within ``timeout`` seconds.

    The time limit is for the whole fetch: name lookups, connecting, TLS, the status
    line and headers and the body, across redirects. A compressed body is refused as
    soon as it decodes to more than ``max_bytes``.

    Sends If-None-Match / If-Modified-Since from the last fetch; a 304 answer gives a
    result whose body is None. Raises FeedRefused for a URL or redirect the guard refuses,
    IngestError for everything else that keeps the feed from being read.
    """
    deadline = Deadline(timeout)
    # Refused here before any connection; behind a proxy, this is the only look this
    # machine has at the feed's host. Without one, the connection is checked again on
    # the addresses it is made to (connect.py).
    try:
        check_url(url, allow_private=allow_private, timeout=deadline.left(TimeoutError))
    except TimeoutError:
        raise IngestError(f"feed {url} did not answer within {timeout:g} s") from None
    if urlsplit(url).scheme.lower() == "file":
        return _read_file(url, max_bytes)
    headers = {"User-Agent": USER_AGENT, "Accept": ACCEPT, "Accept-Encoding": ACCEPT_ENCODING}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        try:
            transport = _transport(current, deadline, allow_private=allow_private)
            with (
                httpx.Client(timeout=timeout, transport=transport, trust_env=False) as client,
                client.stream("GET", current, headers=headers) as response,
            ):
                status = response.status_code
                if status in REDIRECTS:
                    location = response.headers.get("location", "").strip()
                    if not location:
                        raise IngestError(
                            f"feed {current} answered HTTP {status} without a Location",
                            status=status,
                        )
                    current = urljoin(current, location)
                    check_url(
                        current, allow_private=allow_private, timeout=deadline.left(TimeoutError)
                    )
                    continue
                if status == 304:
                    return FetchResult(
                        304,
                        None,
                        response.headers.get("etag") or etag,
                        response.headers.get("last-modified") or last_modified,
                        current,
                    )
                if not 200 <= status < 300:
                    raise IngestError(f"feed {current} answered HTTP {status}", status=status)
                return FetchResult(
                    status,
                    _body(response, current, max_bytes),
                    response.headers.get("etag"),
                    response.headers.get("last-modified"),
                    current,
                )
        except (httpx.TimeoutException, TimeoutError):
            raise IngestError(f"feed {current} did not answer within {timeout:g} s") from None
        except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
            raise IngestError(f"cannot fetch feed {current}: {exc}") from None
    raise IngestError(f"feed {url} redirects more than {MAX_REDIRECTS} times")
