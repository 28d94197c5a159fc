"""Feeds: adding one, and polling them all. Each feed is fetched and stored in its
own transaction, so one bad feed is recorded on that feed and never stops the rest."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from digest.config import Settings
from digest.db.engine import unit_of_work
from digest.db.models import Feed
from digest.ingest.errors import IngestError
from digest.ingest.fetch import fetch_feed
from digest.ingest.guard import check_url
from digest.ingest.parse import parse_feed
from digest.ingest.store import upsert_articles
from digest.services.topics import TopicError, topics_by_slug


@dataclass(frozen=True)
class FeedReport:
    url: str
    status: str  # ok | not modified | error
    added: int = 0
    updated: int = 0
    error: str | None = None


def add_feed(session: Session, url: str, topic_slugs: list[str], *, allow_private: bool) -> Feed:
    """Add the feed at ``url`` mapped to ``topic_slugs`` (or update its topics)."""
    url = url.strip()
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


def poll_feed(session: Session, feed: Feed, settings: Settings, now: datetime) -> FeedReport:
    """Fetch one feed and store its items; errors are recorded on the feed."""
    feed.last_fetched_at = now
    try:
        result = fetch_feed(
            feed.url,
            etag=feed.etag,
            last_modified=feed.last_modified,
            timeout=settings.feed_timeout,
            max_bytes=settings.feed_max_bytes,
            allow_private=settings.allow_private_feeds,
        )
    except IngestError as exc:
        return _failed(feed, str(exc))
    feed.last_status = result.status
    if result.body is None:
        feed.last_error, feed.error_count = None, 0
        return FeedReport(feed.url, "not modified")
    parsed = parse_feed(result.body, result.final_url)
    if not parsed.items and parsed.problem:
        return _failed(feed, f"{feed.url}: {parsed.problem}")
    stored = upsert_articles(session, parsed.items, feed=feed, now=now)
    feed.etag, feed.last_modified = result.etag, result.last_modified
    feed.title = parsed.title or feed.title
    feed.last_error, feed.error_count = parsed.problem, 0
    return FeedReport(feed.url, "ok", stored.added, stored.updated, parsed.problem)


def _failed(feed: Feed, message: str) -> FeedReport:
    feed.last_error = message
    feed.error_count = (feed.error_count or 0) + 1
    return FeedReport(feed.url, "error", error=message)


def poll_all_feeds(database_url: str, settings: Settings, now: datetime) -> list[FeedReport]:
    """Poll every feed once; returns one report per feed."""
    with unit_of_work(database_url) as session:
        feed_ids = list(session.scalars(select(Feed.id).order_by(Feed.id)))
    reports = []
    for feed_id in feed_ids:
        try:
            with unit_of_work(database_url) as session:
                feed = session.get(Feed, feed_id)
                if feed is None:
                    continue
                reports.append(poll_feed(session, feed, settings, now))
        except Exception as exc:  # a bug or a database error on one feed must not stop the rest
            reports.append(FeedReport(f"feed {feed_id}", "error", error=f"not stored: {exc}"))
    return reports
