"""A fetch ends by its time limit whatever the server does: trickling the status line
and headers, trickling the body, or a name server that never answers."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from digest.ingest import IngestError, fetch_feed
from tests.integration.ingest.servers import (
    Connection,
    Resolver,
    ScriptServer,
    clear_proxies,
    script_server,
)
from tests.unit.ingest.feeds import rss

FEED = rss(("g1", "https://n.org/1", "One"))
LIMIT = 2.0
# Time for the fetch to notice and give up, on a busy test machine.
SLACK = 2.0
# Each server gives up after this long, so a fetch without a deadline ends too.
TRICKLE_FOR = 12.0


def trickle_headers(conn: Connection) -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nX-Padding: "
    conn.trickle(head + b"x" * 1000, every=0.5, for_at_most=TRICKLE_FOR)


def trickle_body(conn: Connection) -> None:
    conn.sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n")
    conn.trickle(b" " * 1000, every=0.5, for_at_most=TRICKLE_FOR)


def answer_at_once(conn: Connection) -> None:
    head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(FEED)}\r\nConnection: close\r\n\r\n"
    conn.sock.sendall(head.encode() + FEED)


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_proxies(monkeypatch)


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Resolver]:
    fake = Resolver(monkeypatch)
    yield fake
    fake.release.set()


def server_url(server: ScriptServer) -> str:
    return f"http://127.0.0.1:{server.port}"


def timed_fetch(url: str, **options: object) -> tuple[str, float]:
    start = time.monotonic()
    with pytest.raises(IngestError) as caught:
        fetch_feed(url, timeout=LIMIT, **options)  # type: ignore[arg-type]
    return str(caught.value), time.monotonic() - start


def test_a_server_trickling_its_headers_is_given_up_on_at_the_time_limit() -> None:
    with script_server(trickle_headers) as server:
        url = f"http://127.0.0.1:{server.port}/feed.xml"
        error, elapsed = timed_fetch(url, allow_private=True)
        assert len(server.requests) == 1  # it was asked, and kept the fetch waiting
    assert error == f"feed {url} did not answer within 2 s"
    assert elapsed < LIMIT + SLACK, f"the fetch took {elapsed:.1f} s"


def test_a_server_trickling_its_body_is_given_up_on_at_the_time_limit() -> None:
    with script_server(trickle_body) as server:
        url = f"http://127.0.0.1:{server.port}/feed.xml"
        error, elapsed = timed_fetch(url, allow_private=True)
    assert error == f"feed {url} did not answer within 2 s"
    assert elapsed < LIMIT + SLACK, f"the fetch took {elapsed:.1f} s"


def test_the_time_limit_covers_every_redirect_together() -> None:
    # Each hop answers in 0.8 s, well within the limit; all of them together do not.
    def slow_redirect(conn: Connection) -> None:
        time.sleep(0.8)
        conn.sock.sendall(b"HTTP/1.1 302 Found\r\nLocation: /again\r\nContent-Length: 0\r\n\r\n")

    with script_server(slow_redirect) as server:
        error, elapsed = timed_fetch(f"{server_url(server)}/feed.xml", allow_private=True)
        assert len(server.requests) == 3
    assert error == f"feed {server_url(server)}/again did not answer within 2 s"
    assert elapsed < LIMIT + SLACK


@pytest.mark.parametrize("allow_private", [False, True], ids=["guarded", "private-allowed"])
def test_a_name_that_never_resolves_is_given_up_on_at_the_time_limit(
    resolver: Resolver, allow_private: bool
) -> None:
    resolver.silent.add("feeds.silent.test")
    error, elapsed = timed_fetch("http://feeds.silent.test/rss", allow_private=allow_private)
    assert error == "feed http://feeds.silent.test/rss did not answer within 2 s"
    assert elapsed < LIMIT + SLACK
    assert resolver.lookups == ["feeds.silent.test"]


def test_a_prompt_server_is_read_as_before() -> None:
    with script_server(answer_at_once) as server:
        result = fetch_feed(f"{server_url(server)}/feed.xml", timeout=LIMIT, allow_private=True)
    assert (result.status, result.body) == (200, FEED)
