"""Fetching a feed: conditional GET, a timeout, a size cap, and the address guard
applied again to every redirect."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import httpx

from digest import __version__
from digest.ingest.errors import IngestError
from digest.ingest.guard import check_url

MAX_REDIRECTS = 5
USER_AGENT = f"digest/{__version__} (feed reader)"


@dataclass(frozen=True)
class FetchResult:
    status: int
    body: bytes | None  # None: not modified since the last fetch
    etag: str | None
    last_modified: str | None
    final_url: str


def _read_file(url: str, max_bytes: int) -> FetchResult:
    path = Path(unquote(urlsplit(url).path))
    try:
        with path.open("rb") as handle:
            body = handle.read(max_bytes + 1)
    except OSError as exc:
        raise IngestError(f"cannot read feed file {path}: {exc.strerror}") from None
    if len(body) > max_bytes:
        raise IngestError(f"feed {url} is larger than the limit of {max_bytes} bytes")
    return FetchResult(200, body, None, None, url)


def fetch_feed(
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    timeout: float = 15.0,
    max_bytes: int = 10 * 1024 * 1024,
    allow_private: bool = False,
) -> FetchResult:
    """GET ``url`` (or read a ``file://`` URL when allowed); raises IngestError."""
    check_url(url, allow_private=allow_private)
    if urlsplit(url).scheme.lower() == "file":
        return _read_file(url, max_bytes)
    headers = {
        "User-Agent": USER_AGENT,
        "Accept": "application/rss+xml, application/atom+xml, "
        "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5",
    }
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    current = url
    with httpx.Client(timeout=timeout, follow_redirects=False) as client:
        for _ in range(MAX_REDIRECTS + 1):
            try:
                with client.stream("GET", current, headers=headers) as response:
                    if response.status_code == 304:
                        return FetchResult(304, None, etag, last_modified, current)
                    if response.status_code in (301, 302, 303, 307, 308):
                        target = urljoin(current, response.headers.get("location", ""))
                        check_url(target, allow_private=allow_private)
                        current = target
                        continue
                    if response.status_code >= 400:
                        raise IngestError(f"feed {current} answered HTTP {response.status_code}")
                    body = bytearray()
                    for chunk in response.iter_bytes():
                        body.extend(chunk)
                        if len(body) > max_bytes:
                            raise IngestError(
                                f"feed {current} is larger than the limit of {max_bytes} bytes"
                            )
                    return FetchResult(
                        response.status_code,
                        bytes(body),
                        response.headers.get("etag"),
                        response.headers.get("last-modified"),
                        current,
                    )
            except httpx.TimeoutException:
                raise IngestError(f"feed {current} did not answer within {timeout:g} s") from None
            except httpx.HTTPError as exc:
                raise IngestError(f"cannot fetch feed {current}: {exc}") from None
    raise IngestError(f"feed {url} redirects more than {MAX_REDIRECTS} times")
