"""Polling feeds from a real HTTP server: conditional GET, the address guard (on the
first URL and on every redirect), and one bad feed never stopping the others."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from digest.config import Settings, load_settings
from digest.db.engine import unit_of_work
from digest.db.models import Article, Feed
from digest.ingest import FeedRefused, IngestError
from digest.services.ingesting import add_feed, poll_all_feeds
from digest.services.readers.topics import add_topic
from tests.unit.ingest.feeds import rss

NOW = datetime(2026, 3, 16, 12, 0, tzinfo=UTC)
GOOD = rss(("g1", "https://n.org/1", "One"), ("g2", "https://n.org/2", "Two"))
# A public address the tests never reach: requests for it go to the local proxy.
PUBLIC = "http://1.1.1.1"


class FeedServer(ThreadingHTTPServer):
    seen: list[dict[str, str]]


class Handler(BaseHTTPRequestHandler):
    server: FeedServer

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        # As a proxy, the server is asked for absolute URLs; route on the path either way.
        path = urlsplit(self.path).path
        self.server.seen.append({"url": self.path, **dict(self.headers)})
        if path == "/good.xml":
            if self.headers.get("If-None-Match") == '"v1"':
                self.send_response(304)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("ETag", '"v1"')
            self.send_header("Last-Modified", "Mon, 16 Mar 2026 08:00:00 GMT")
            self.end_headers()
            self.wfile.write(GOOD)
        elif path == "/broken":
            self.send_response(500)
            self.end_headers()
        elif path == "/garbage":
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"\x00\x01 not a feed at all")
        elif path == "/huge":
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"<rss>" + b" " * 300_000)
        elif path == "/drip":
            self.send_response(200)
            self.end_headers()
            try:
                for _ in range(40):  # a byte every 0.1 s: no single read ever times out
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(0.1)
            except OSError:
                pass
        elif path in ("/to-ftp", "/to-metadata", "/to-good"):
            target = {
                "/to-ftp": "ftp://files.example.org/feed.xml",
                "/to-metadata": "http://169.254.169.254/latest/meta-data/",
                "/to-good": "/good.xml",
            }[path]
            self.send_response(302)
            self.send_header("Location", target)
            self.end_headers()
        else:
            self.send_response(404)
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
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """An environment naming no proxy, whatever the machine running the tests has."""
    for name in list(os.environ):
        if name.lower().endswith("_proxy"):
            monkeypatch.delenv(name)
    return monkeypatch


def make_settings(db_url: str, tmp_path: Path, *, allow: bool) -> Settings:
    settings = load_settings(
        {
            "DIGEST_DATABASE_URL": db_url,
            "DIGEST_DATA_DIR": str(tmp_path),
            "DIGEST_ALLOW_PRIVATE_FEEDS": "1" if allow else "0",
        }
    )
    return settings.with_overrides(feed_max_bytes=100_000, feed_timeout=1.0)


@pytest.fixture
def allowed(db_url: str, tmp_path: Path, no_proxy: pytest.MonkeyPatch) -> Settings:
    return make_settings(db_url, tmp_path, allow=True)


def add(db_url: str, url: str, allow: bool = True) -> None:
    with unit_of_work(db_url) as s:
        add_topic(s, "news")
        add_feed(s, url, ["news"], allow_private=allow)


def feeds_by_path(db_url: str) -> dict[str, Feed]:
    with unit_of_work(db_url) as s:
        return {urlsplit(f.url).path: f for f in s.scalars(select(Feed))}


def test_a_feed_on_loopback_is_refused_by_default(db_url: str, feed_server) -> None:  # type: ignore[no-untyped-def]
    _, base = feed_server
    with pytest.raises(
        FeedRefused, match=r"127\.0\.0\.1 is a loopback address.*DIGEST_ALLOW_PRIVATE_FEEDS=1"
    ):
        add(db_url, base + "/good.xml", allow=False)
    assert feeds_by_path(db_url) == {}


def test_unknown_topics_are_named(db_url: str) -> None:
    with pytest.raises(IngestError, match="unknown topic sprots"), unit_of_work(db_url) as s:
        add_feed(s, "https://1.1.1.1/rss", ["sprots"], allow_private=False)


def test_conditional_get_and_topics_from_the_feed(
    db_url: str, allowed: Settings, feed_server
) -> None:  # type: ignore[no-untyped-def]
    server, base = feed_server
    add(db_url, base + "/good.xml")
    (first,) = poll_all_feeds(db_url, allowed, NOW)
    assert (first.status, first.added, first.error) == ("ok", 2, None)
    assert "If-None-Match" not in server.seen[-1]
    (second,) = poll_all_feeds(db_url, allowed, NOW)
    assert (second.status, second.added) == ("not modified", 0)
    assert server.seen[-1].get("If-None-Match") == '"v1"'
    assert server.seen[-1].get("If-Modified-Since") == "Mon, 16 Mar 2026 08:00:00 GMT"
    with unit_of_work(db_url) as s:
        stored = list(s.scalars(select(Article)))
        assert sorted(a.title for a in stored) == ["One", "Two"]
        assert all([t.slug for t in a.topics] == ["news"] for a in stored)
        feed = s.scalars(select(Feed)).one()
        assert (feed.etag, feed.last_status, feed.error_count, feed.last_error) == (
            '"v1"',
            304,
            0,
            None,
        )
        assert feed.last_fetched_at == NOW and feed.title == "Feed"


def test_bad_feeds_are_recorded_and_never_stop_the_others(
    db_url: str, allowed: Settings, feed_server
) -> None:  # type: ignore[no-untyped-def]
    _, base = feed_server
    paths = ("/broken", "/garbage", "/huge", "/drip", "/to-ftp", "/to-good", "/good.xml")
    for path in paths:
        add(db_url, base + path)
    reports = {urlsplit(r.url).path: r for r in poll_all_feeds(db_url, allowed, NOW)}
    # Redirects are followed: both feeds hold the same two items, stored once.
    assert reports["/good.xml"].status == reports["/to-good"].status == "ok"
    assert reports["/good.xml"].added + reports["/to-good"].added == 2
    assert "HTTP 500" in (reports["/broken"].error or "")
    assert "not an RSS or Atom feed" in (reports["/garbage"].error or "")
    assert "larger than the limit of 100000 bytes" in (reports["/huge"].error or "")
    assert "did not answer within 1 s" in (reports["/drip"].error or "")
    # Every redirect is checked again: this one leaves http(s).
    assert "refused feed URL ftp://files.example.org/feed.xml" in (reports["/to-ftp"].error or "")
    feeds = feeds_by_path(db_url)
    assert (feeds["/broken"].last_status, feeds["/broken"].error_count) == (500, 1)
    for path in ("/broken", "/garbage", "/huge", "/drip", "/to-ftp"):
        assert reports[path].status == "error"
        assert feeds[path].last_error == reports[path].error and feeds[path].error_count == 1
    assert (feeds["/good.xml"].error_count, feeds["/good.xml"].last_error) == (0, None)
    again = {urlsplit(r.url).path: r for r in poll_all_feeds(db_url, allowed, NOW)}
    assert again["/good.xml"].status == "not modified"
    assert feeds_by_path(db_url)["/broken"].error_count == 2


def test_a_redirect_to_a_private_address_is_refused(
    db_url: str, tmp_path: Path, feed_server, no_proxy: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    # The local server stands in for the internet as an HTTP proxy, so a public URL
    # can answer with a redirect to the cloud metadata address.
    _, base = feed_server
    no_proxy.setenv("http_proxy", base)
    refused = make_settings(db_url, tmp_path, allow=False)
    add(db_url, PUBLIC + "/to-metadata", allow=False)
    add(db_url, PUBLIC + "/good.xml", allow=False)
    reports = {urlsplit(r.url).path: r for r in poll_all_feeds(db_url, refused, NOW)}
    assert reports["/good.xml"].added == 2
    error = reports["/to-metadata"].error or ""
    assert error.startswith("refused feed URL http://169.254.169.254/latest/meta-data/")
    assert "169.254.169.254 is a link-local address" in error
    assert "DIGEST_ALLOW_PRIVATE_FEEDS=1" in error
    assert feeds_by_path(db_url)["/to-metadata"].last_error == error


def test_file_feeds_only_when_allowed(db_url: str, tmp_path: Path, allowed: Settings) -> None:
    local = tmp_path / "feed.xml"
    local.write_bytes(GOOD)
    with pytest.raises(FeedRefused, match="file:// URLs read the server's disk"):
        add(db_url, local.as_uri(), allow=False)
    add(db_url, local.as_uri())
    (report,) = poll_all_feeds(db_url, allowed, NOW)
    assert (report.status, report.added) == ("ok", 2)
