"""Polling feeds from a real HTTP server: conditional GET, the address guard, and
one bad feed never stopping the others."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from digest.config import Settings
from digest.db.engine import unit_of_work
from digest.db.models import Article, Feed
from digest.ingest import FeedRefused, add_feed, poll_all_feeds
from digest.services.topics import add_topic
from tests.unit.ingest.feeds import rss

NOW = datetime(2026, 3, 16, 12, 0, tzinfo=UTC)
GOOD = rss(("g1", "https://n.org/1", "One"), ("g2", "https://n.org/2", "Two"))


class FeedServer(ThreadingHTTPServer):
    seen: list[dict[str, str]]


class Handler(BaseHTTPRequestHandler):
    server: FeedServer

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        self.server.seen.append({"path": self.path, **dict(self.headers)})
        if self.path == "/good.xml":
            if self.headers.get("If-None-Match") == '"v1"':
                self.send_response(304)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("ETag", '"v1"')
            self.send_header("Last-Modified", "Mon, 16 Mar 2026 08:00:00 GMT")
            self.end_headers()
            self.wfile.write(GOOD)
        elif self.path == "/broken":
            self.send_response(500)
            self.end_headers()
        elif self.path == "/garbage":
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"\x00\x01 not a feed at all")
        elif self.path == "/huge":
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"<rss>" + b" " * 300_000)
        elif self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "ftp://files.example.org/feed.xml")
            self.end_headers()


@pytest.fixture
def feed_server() -> Iterator[tuple[FeedServer, str]]:
    server = FeedServer(("127.0.0.1", 0), Handler)
    server.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def allowed(settings: Settings) -> Settings:
    return dataclasses.replace(settings, allow_private_feeds=True, feed_max_bytes=100_000)


def add(db_url: str, url: str, allow: bool = True) -> None:
    with unit_of_work(db_url) as s:
        add_topic(s, "news")
        add_feed(s, url, ["news"], allow_private=allow)


def test_a_feed_on_loopback_is_refused_by_default(db_url: str, feed_server) -> None:  # type: ignore[no-untyped-def]
    _, base = feed_server
    with pytest.raises(
        FeedRefused, match=r"127\.0\.0\.1 is a loopback address.*DIGEST_ALLOW_PRIVATE_FEEDS=1"
    ):
        add(db_url, base + "/good.xml", allow=False)


def test_conditional_get_and_topics_from_the_feed(
    db_url: str, allowed: Settings, feed_server
) -> None:  # type: ignore[no-untyped-def]
    server, base = feed_server
    add(db_url, base + "/good.xml")
    (first,) = poll_all_feeds(db_url, allowed, NOW)
    assert (first.status, first.added) == ("ok", 2)
    (second,) = poll_all_feeds(db_url, allowed, NOW)
    assert second.status == "not modified"
    assert server.seen[-1].get("If-None-Match") == '"v1"'
    assert server.seen[-1].get("If-Modified-Since") == "Mon, 16 Mar 2026 08:00:00 GMT"
    with unit_of_work(db_url) as s:
        stored = list(s.scalars(select(Article)))
        assert sorted(a.title for a in stored) == ["One", "Two"]
        assert all([t.slug for t in a.topics] == ["news"] for a in stored)
        feed = s.scalars(select(Feed)).one()
        assert (feed.etag, feed.error_count, feed.last_error) == ('"v1"', 0, None)


def test_bad_feeds_are_recorded_and_never_stop_the_others(
    db_url: str, allowed: Settings, feed_server
) -> None:  # type: ignore[no-untyped-def]
    _, base = feed_server
    for path in ("/broken", "/garbage", "/huge", "/redirect", "/good.xml"):
        add(db_url, base + path)
    reports = {r.url.rsplit("/", 1)[1]: r for r in poll_all_feeds(db_url, allowed, NOW)}
    assert reports["good.xml"].status == "ok" and reports["good.xml"].added == 2
    assert "HTTP 500" in (reports["broken"].error or "")
    assert reports["garbage"].status == "error" and reports["garbage"].error
    assert "larger than the limit" in (reports["huge"].error or "")
    # Every redirect is checked again: this one leaves http(s).
    assert "ftp://files.example.org/feed.xml" in (reports["redirect"].error or "")
    assert "only http and https" in (reports["redirect"].error or "")
    with unit_of_work(db_url) as s:
        errors = {
            f.url.rsplit("/", 1)[1]: (f.error_count, f.last_error) for f in s.scalars(select(Feed))
        }
    assert errors["broken"][0] == 1 and "HTTP 500" in (errors["broken"][1] or "")
    assert errors["good.xml"] == (0, None)
