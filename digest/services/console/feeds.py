"""Feeds as operators see them: add one (behind the address guard), fetch it now,
see how its fetches go, delete it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from digest.config import Settings
from digest.db.models import Article, Feed, FeedTopic
from digest.ingest.errors import IngestError
from digest.services.console.base import (
    CONTROL,
    MAX_ID,
    MAX_KEY_BYTES,
    Conflict,
    ManagementError,
    NotFound,
    get_row,
    topics_of,
)
from digest.services.ingesting import polling


@dataclass(frozen=True)
class FeedRow:
    id: int
    url: str
    title: str | None
    topics: list[str]
    last_fetched_at: datetime | None
    last_status: int | None
    last_error: str | None
    error_count: int
    articles: int
    created_at: datetime


def _feed_row(feed: Feed, articles: int) -> FeedRow:
    return FeedRow(
        feed.id,
        feed.url,
        feed.title,
        sorted(t.slug for t in feed.topics),
        feed.last_fetched_at,
        feed.last_status,
        feed.last_error,
        feed.error_count or 0,
        articles,
        feed.created_at,
    )


def list_feeds(session: Session) -> list[FeedRow]:
    """Every feed with its topics, how its last fetch went and how many articles it gave."""
    counts = dict(
        session.execute(
            select(Article.feed_id, func.count())
            .where(Article.feed_id.is_not(None))
            .group_by(Article.feed_id)
        ).all()
    )
    feeds = session.scalars(select(Feed).order_by(Feed.id))
    return [_feed_row(f, int(counts.get(f.id, 0))) for f in feeds]


def create_feed(
    session: Session, url: str, topics: Sequence[str], *, allow_private: bool
) -> FeedRow:
    """Add the feed at ``url`` for ``topics``. URLs on loopback or private addresses
    (and file://) are refused unless ``allow_private``; a URL already added is a
    :class:`Conflict`."""
    url = url.strip()
    if not url or any(c.isspace() or CONTROL.match(c) for c in url):
        raise ManagementError("url", "must be a URL without spaces or control characters")
    if len(url.encode()) > MAX_KEY_BYTES:
        raise ManagementError("url", f"is longer than {MAX_KEY_BYTES} bytes")
    slugs = [t.slug for t in topics_of(session, topics)]
    existing = session.scalar(select(Feed.id).where(Feed.url == url))
    if existing is not None:
        raise Conflict("url", f"feed {existing} has this URL already")
    try:
        feed = polling.add_feed(session, url, slugs, allow_private=allow_private)
    except IngestError as exc:  # FeedRefused included
        raise ManagementError("url", str(exc)) from None
    return _feed_row(feed, 0)


def fetch_feed_now(
    database_url: str, feed_id: int, settings: Settings, now: datetime
) -> polling.FeedReport:
    """Fetch one feed now, in this process, and store what it gives; a failure is in
    the report (and on the feed), not raised."""
    if not 1 <= feed_id <= MAX_ID:
        raise NotFound(f"there is no feed {feed_id}")
    report = polling.poll_feed(database_url, feed_id, settings, now)
    if report is None:
        raise NotFound(f"there is no feed {feed_id}")
    return report


def delete_feed(session: Session, feed_id: int) -> None:
    """Delete the feed; the articles it gave stay, without their feed."""
    feed = get_row(session, Feed, feed_id, "feed")
    for statement in (
        update(Article).where(Article.feed_id == feed.id).values(feed_id=None),
        delete(FeedTopic).where(FeedTopic.feed_id == feed.id),
        delete(Feed).where(Feed.id == feed.id),
    ):
        session.execute(statement.execution_options(synchronize_session=False))
    session.expunge(feed)
