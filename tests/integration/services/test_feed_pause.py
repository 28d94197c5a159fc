"""Paused feeds and failing ones, against a real HTTP server: beat's poll of every feed
and ``digest feeds fetch`` pass a paused feed by, "fetch now" still fetches it; failed
fetches count up in a row, make the feed *failing* at three, and a good fetch clears
them; the next fetch follows the last one by beat's poll interval."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from digest.config import Settings, load_settings
from digest.db.engine import unit_of_work
from digest.services import console
from digest.services.ingesting import feed_ids, poll_all_feeds, poll_feed
from workers.schedule import FEED_POLL_INTERVAL

NOW = datetime(2026, 3, 16, 12, 0, tzinfo=UTC)


def rss(title: str, *published: datetime) -> bytes:
    """An RSS document with one item per publication time."""
    items = "".join(
        f"<item><title>{title} {i}</title><link>https://n.example.org/{title}/{i}</link>"
        f"<guid>urn:{title}:{i}</guid><pubDate>{format_datetime(at)}</pubDate></item>"
        for i, at in enumerate(published)
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title>'
        f"<link>https://n.example.org/</link><description>d</description>{items}"
        "</channel></rss>"
    ).encode()


class FeedHost(ThreadingHTTPServer):
    """Serves ``/{name}.xml`` from ``documents``; a name in ``broken`` answers 500."""

    documents: dict[str, bytes]
    broken: set[str]
    seen: list[str]

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/{name}.xml"


class _Handler(BaseHTTPRequestHandler):
    server: FeedHost

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        name = self.path.lstrip("/").removesuffix(".xml")
        self.server.seen.append(name)
        body = self.server.documents.get(name)
        if name in self.server.broken or body is None:
            self.send_response(500 if body is not None else 404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def feed_host() -> Iterator[FeedHost]:
    server = FeedHost(("127.0.0.1", 0), _Handler)
    server.documents, server.broken, server.seen = {}, set(), []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def allowed(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings that let feeds live on this machine, with no proxy in the way."""
    for name in list(os.environ):
        if name.lower().endswith("_proxy"):
            monkeypatch.delenv(name)
    settings = load_settings(
        {
            "DIGEST_DATABASE_URL": db_url,
            "DIGEST_DATA_DIR": str(tmp_path),
            "DIGEST_ALLOW_PRIVATE_FEEDS": "1",
        }
    )
    return settings.with_overrides(feed_timeout=5.0)


def add_feeds(db_url: str, host: FeedHost, *names: str) -> dict[str, int]:
    """One feed per name, on ``host``, for the topic ``news``; their ids by name."""
    with unit_of_work(db_url) as s:
        console.create_topic(s, "news", "News", [])
        return {
            name: console.create_feed(s, host.url(name), ["news"], allow_private=True).id
            for name in names
        }


def health(db_url: str, now: datetime) -> dict[int, console.FeedHealth]:
    with unit_of_work(db_url) as s:
        return {h.id: h for h in console.feed_health(s, now)}


def test_polling_passes_a_paused_feed_by_and_fetch_now_still_fetches_it(
    db_url: str, allowed: Settings, feed_host: FeedHost
) -> None:
    feed_host.documents = {
        "live": rss("live", NOW - timedelta(hours=1)),
        "held": rss("held", NOW - timedelta(hours=2), NOW - timedelta(hours=3)),
    }
    ids = add_feeds(db_url, feed_host, "live", "held")
    with unit_of_work(db_url) as s:
        paused = console.set_feed_paused(s, ids["held"], True, NOW)
    assert (paused.paused, paused.state, paused.next_fetch_at) == (True, "paused", None)

    # Beat queues one poll per feed from feed_ids; `digest feeds fetch` polls them all.
    assert feed_ids(db_url) == [ids["live"]]
    reports = poll_all_feeds(db_url, allowed, NOW)
    assert [r.url for r in reports] == [feed_host.url("live")]
    # A poll beat queued before the pause does not fetch it either.
    queued = poll_feed(db_url, ids["held"], allowed, NOW)
    assert queued is not None and queued.status == "paused"
    assert feed_host.seen == ["live"]
    assert health(db_url, NOW)[ids["held"]].last_fetched_at is None

    # "Fetch now" is an operator's explicit wish: the paused feed is fetched, once.
    later = NOW + timedelta(minutes=3)
    report = console.fetch_feed_now(db_url, ids["held"], allowed, later)
    assert (report.status, report.added) == ("ok", 2)
    assert feed_host.seen == ["live", "held"]
    held = health(db_url, later)[ids["held"]]
    assert (held.paused, held.state, held.articles) == (True, "paused", 2)
    assert held.last_fetched_at == later and held.next_fetch_at is None

    with unit_of_work(db_url) as s:
        resumed = console.set_feed_paused(s, ids["held"], False, later)
    assert (resumed.paused, resumed.state) == (False, "ok")
    assert resumed.next_fetch_at == later + timedelta(minutes=10)
    assert sorted(r.url for r in poll_all_feeds(db_url, allowed, later)) == sorted(
        feed_host.url(n) for n in ("live", "held")
    )

    # Resumed long after its last fetch, a feed waits for beat's next round, not since.
    with unit_of_work(db_url) as s:
        console.set_feed_paused(s, ids["live"], True, later)
    resumed_at = later + timedelta(days=3)
    with unit_of_work(db_url) as s:
        again = console.set_feed_paused(s, ids["live"], False, resumed_at)
    assert again.last_fetched_at == later and again.paused_changed_at == resumed_at
    assert again.next_fetch_at == resumed_at + timedelta(minutes=10)


def test_failures_in_a_row_make_a_feed_failing_until_a_good_fetch(
    db_url: str, allowed: Settings, feed_host: FeedHost
) -> None:
    feed_host.documents = {"wire": rss("wire", NOW - timedelta(hours=1))}
    feed_host.broken = {"wire"}
    feed_id = add_feeds(db_url, feed_host, "wire")["wire"]
    rounds = [NOW + timedelta(minutes=10 * i) for i in range(3)]
    seen = []
    for at in rounds:
        (report,) = poll_all_feeds(db_url, allowed, at)
        assert report.status == "error"
        h = health(db_url, at)[feed_id]
        seen.append((h.failures_in_row, h.state))
    assert seen == [(1, "ok"), (2, "ok"), (3, "failing")]
    failing = health(db_url, rounds[-1])[feed_id]
    assert "HTTP 500" in (failing.last_error or "") and failing.last_status == 500
    assert failing.last_fetched_at == rounds[-1]
    # Beat polls every feed each ten minutes: the next fetch is one interval later.
    assert failing.next_fetch_at == rounds[-1] + timedelta(minutes=10)

    feed_host.broken.clear()
    back = rounds[-1] + timedelta(minutes=10)
    (report,) = poll_all_feeds(db_url, allowed, back)
    assert (report.status, report.added) == ("ok", 1)
    good = health(db_url, back)[feed_id]
    assert (good.failures_in_row, good.last_error, good.state) == (0, None, "ok")
    assert good.items_per_day == round(1 / 7, 1)


def test_the_next_fetch_follows_beats_own_poll_interval() -> None:
    # workers/schedule.py schedules the poll; the console tells when it comes.
    assert console.POLL_INTERVAL.total_seconds() == FEED_POLL_INTERVAL
