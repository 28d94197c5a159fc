"""Feeds: adding one, polling one, and polling them all.

A feed is fetched outside any transaction (a slow server must not hold a database
lock), then its outcome is stored in its own transaction, so one bad feed is recorded
on that feed and never stops the rest. A feed an operator paused is polled no more,
until resumed; only an explicit "fetch now" still fetches it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from digest.config import Settings
from digest.db.engine import unit_of_work
from digest.db.models import Feed
from digest.ingest.errors import IngestError
from digest.ingest.fetch import FetchResult, fetch_feed
from digest.ingest.guard import check_url
from digest.ingest.parse import MAX_URL, ParsedFeed, parse_feed
from digest.services import metrics
from digest.services.ingesting.store import upsert_articles
from digest.services.readers.topics import TopicError, topics_by_slug

log = logging.getLogger(__name__)

# How often beat polls every feed (``digest.poll_feeds`` in workers/schedule.py):
# the next fetch of a feed comes at the latest this long after its last one.
POLL_INTERVAL = timedelta(minutes=10)


@dataclass(frozen=True)
class FeedReport:
    url: str
    status: str  # ok | not modified | error | paused (not fetched)
    added: int = 0
    updated: int = 0
    error: str | None = None  # why it failed, or what was wrong with a feed still read


@dataclass(frozen=True)
class _Target:
    id: int
    url: str
    etag: str | None
    last_modified: str | None
    paused: bool


def add_feed(session: Session, url: str, topic_slugs: list[str], *, allow_private: bool) -> Feed:
    """Add the feed at ``url`` mapped to ``topic_slugs``, or set the topics of that feed.

    Raises FeedRefused when the guard refuses the URL, IngestError for unknown topics.
    """
    url = url.strip()
    if len(url) > MAX_URL:
        raise IngestError(f"feed URL is longer than {MAX_URL} characters")
    check_url(url, allow_private=allow_private)
    try:
        topics = topics_by_slug(session, topic_slugs)
    except TopicError as exc:
        raise IngestError(str(exc)) from None
    feed = session.scalar(select(Feed).where(Feed.url == url))
    if feed is None:
        feed = Feed(url=url, error_count=0)
        session.add(feed)
    feed.topics = topics
    session.flush()
    return feed


def _download(target: _Target, settings: Settings) -> tuple[FetchResult, ParsedFeed | None]:
    result = fetch_feed(
        target.url,
        etag=target.etag,
        last_modified=target.last_modified,
        timeout=settings.feed_timeout,
        max_bytes=settings.feed_max_bytes,
        allow_private=settings.allow_private_feeds,
    )
    if result.body is None:
        return result, None
    return result, parse_feed(result.body, result.final_url)


def _failed(feed: Feed, message: str, status: int | None) -> FeedReport:
    feed.last_status = status
    feed.last_error = message
    feed.error_count = (feed.error_count or 0) + 1
    return FeedReport(feed.url, "error", error=message)


def _record(
    session: Session,
    feed: Feed,
    outcome: tuple[FetchResult, ParsedFeed | None] | IngestError,
    now: datetime,
) -> FeedReport:
    feed.last_fetched_at = now
    if isinstance(outcome, IngestError):
        return _failed(feed, str(outcome), outcome.status)
    result, parsed = outcome
    if parsed is None:
        feed.last_status, feed.last_error, feed.error_count = result.status, None, 0
        feed.etag, feed.last_modified = result.etag, result.last_modified
        return FeedReport(feed.url, "not modified")
    if not parsed.items and parsed.problem:
        return _failed(feed, f"{feed.url}: {parsed.problem}", result.status)
    stored = upsert_articles(session, parsed.items, feed=feed, now=now)
    feed.etag, feed.last_modified = result.etag, result.last_modified
    feed.title = parsed.title or feed.title
    feed.last_status, feed.last_error, feed.error_count = result.status, parsed.problem, 0
    return FeedReport(feed.url, "ok", stored.added, stored.updated, parsed.problem)


def _poll(database_url: str, target: _Target, settings: Settings, now: datetime) -> FeedReport:
    outcome: tuple[FetchResult, ParsedFeed | None] | IngestError
    try:
        outcome = _download(target, settings)
    except IngestError as exc:  # FeedRefused included: a redirect may lead somewhere private
        outcome = exc
    try:
        with unit_of_work(database_url) as session:
            feed = session.get(Feed, target.id)
            if feed is None:
                return FeedReport(target.url, "error", error="the feed was deleted while polled")
            report = _record(session, feed, outcome, now)
            if report.status == "error":
                metrics.add(session, {metrics.FEED_FETCH_ERROR: 1})
            return report
    except Exception as exc:  # a bug or a database error on one feed must not stop the rest
        log.exception("storing feed %s failed", target.url)
        message = f"could not store what {target.url} returned: {exc}"
        record_poll_failure(database_url, target.id, message, now)
        return FeedReport(target.url, "error", error=message)


def record_poll_failure(database_url: str, feed_id: int, message: str, now: datetime) -> None:
    """Record on feed ``feed_id`` that polling it at ``now`` failed with ``message``: for
    a poll stopped before it could record its own outcome."""
    try:
        with unit_of_work(database_url) as session:
            feed = session.get(Feed, feed_id)
            if feed is not None:
                feed.last_fetched_at = now
                _failed(feed, message[:5000], None)
                metrics.add(session, {metrics.FEED_FETCH_ERROR: 1})
    except Exception:  # the database itself is gone; the report still says what happened
        log.exception("recording the failure of feed %s failed", feed_id)


def _targets(database_url: str, feed_ids: list[int] | None = None) -> list[_Target]:
    query = select(Feed.id, Feed.url, Feed.etag, Feed.last_modified, Feed.paused)
    if feed_ids is None:
        query = query.where(Feed.paused.is_(False))
    else:
        query = query.where(Feed.id.in_(feed_ids))
    with unit_of_work(database_url) as session:
        return [_Target(*row) for row in session.execute(query.order_by(Feed.id))]


def feed_ids(database_url: str) -> list[int]:
    """The id of every feed to poll (paused ones left out), in the order they were added."""
    return [target.id for target in _targets(database_url)]


def poll_feed(
    database_url: str, feed_id: int, settings: Settings, now: datetime, *, even_paused: bool = False
) -> FeedReport | None:
    """Fetch feed ``feed_id`` and store its new and changed articles; None if no such feed.

    A paused feed is not fetched (its report says ``paused``: a poll queued before the
    pause changes nothing), unless ``even_paused``, as an operator's "fetch now" asks.
    """
    targets = _targets(database_url, [feed_id])
    if not targets:
        return None
    if targets[0].paused and not even_paused:
        return FeedReport(targets[0].url, "paused")
    return _poll(database_url, targets[0], settings, now)


def poll_all_feeds(database_url: str, settings: Settings, now: datetime) -> list[FeedReport]:
    """Poll every feed not paused once; one report per feed, failures included."""
    return [_poll(database_url, t, settings, now) for t in _targets(database_url)]
