"""Feeds as operators see them: add one (behind the address guard), fetch it now,
pause and resume it, see how healthy each is, delete it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, case, delete, func, select, update
from sqlalchemy.orm import Session

from digest.config import Settings
from digest.db import audit
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

HEALTH_STATES = ("ok", "failing", "silent", "paused")
POLL_INTERVAL = polling.POLL_INTERVAL  # beat polls every feed not paused this often
FAILING_AFTER = 3  # failed fetches in a row
RATE_DAYS = 7  # items per day are counted over this many days
RHYTHM = timedelta(days=30)  # a feed's usual interval between items is read over this
SILENT_TIMES = 3  # silent: nothing new for this many usual intervals...
SILENT_AT_LEAST = timedelta(days=2)  # ...and never sooner than this


@dataclass(frozen=True)
class FeedHealth:
    """One feed as operators watch it. ``items_per_day``: its articles published in the
    last 7 days (up to now), divided by 7. ``next_fetch_at``: when beat's poll of every
    feed reaches it at the latest: its last fetch, or when it was added or resumed if
    that came later, plus the poll interval (none while paused; past when beat is late).
    ``state``: one of :data:`HEALTH_STATES`, see :func:`feed_state`."""

    id: int
    url: str
    title: str | None
    topics: list[str]
    paused: bool
    paused_changed_at: datetime | None  # when it was last paused or resumed
    state: str
    last_fetched_at: datetime | None
    last_status: int | None
    last_error: str | None
    failures_in_row: int
    items_per_day: float
    last_item_at: datetime | None
    usual_interval: timedelta | None  # mean time between items over the last 30 days
    next_fetch_at: datetime | None
    articles: int
    created_at: datetime


@dataclass(frozen=True)
class _Figures:
    articles: int = 0
    last_week: int = 0
    recent: int = 0  # in the last 30 days
    first_recent_at: datetime | None = None
    last_item_at: datetime | None = None

    @property
    def usual_interval(self) -> timedelta | None:
        if self.recent < 2 or self.first_recent_at is None or self.last_item_at is None:
            return None
        return (self.last_item_at - self.first_recent_at) / (self.recent - 1)


def feed_state(
    *,
    paused: bool,
    failures_in_row: int,
    last_item_at: datetime | None,
    usual_interval: timedelta | None,
    now: datetime,
) -> str:
    """``paused`` when an operator paused it; ``failing`` after 3 failed fetches in a
    row; ``silent`` when nothing new came for longer than 3 times its usual interval
    between items (at least 2 days), or, with no usual interval to go by (fewer than
    two items in 30 days), for longer than 30 days; else ``ok``. A feed that never
    gave an item is not silent: it has no rhythm to break yet."""
    if paused:
        return "paused"
    if failures_in_row >= FAILING_AFTER:
        return "failing"
    if last_item_at is not None:
        quiet = now - last_item_at
        limit = RHYTHM if usual_interval is None else SILENT_TIMES * usual_interval
        if quiet > max(limit, SILENT_AT_LEAST):
            return "silent"
    return "ok"


def _figures(session: Session, now: datetime, feed_id: int | None) -> dict[int, _Figures]:
    """Article counts and times per feed, in one aggregate query; articles published
    after ``now`` (a source may date them ahead) do not count yet."""
    published = Article.published_at
    past = published <= now
    week = and_(past, published > now - timedelta(days=RATE_DAYS))
    recent = and_(past, published > now - RHYTHM)
    query = select(
        Article.feed_id,
        func.count(),
        func.count(case((week, 1))),
        func.count(case((recent, 1))),
        func.min(case((recent, published))),
        func.max(case((past, published))),
    ).group_by(Article.feed_id)
    query = query.where(
        Article.feed_id.is_not(None) if feed_id is None else Article.feed_id == feed_id
    )
    return {row[0]: _Figures(*row[1:]) for row in session.execute(query)}


def feed_health(session: Session, now: datetime, *, feed_id: int | None = None) -> list[FeedHealth]:
    """Every feed (or only ``feed_id``) with its health at ``now``, in the order they
    were added: three queries however many feeds there are (the feeds, their topics,
    one aggregate over their articles)."""
    figures = _figures(session, now, feed_id)
    query = select(Feed).order_by(Feed.id)
    if feed_id is not None:
        query = query.where(Feed.id == feed_id)
    return [_health(f, figures.get(f.id, _Figures()), now) for f in session.scalars(query)]


def _health(feed: Feed, figures: _Figures, now: datetime) -> FeedHealth:
    failures = feed.error_count or 0
    usual = figures.usual_interval
    # Beat polls every feed each POLL_INTERVAL, so its next round comes at the latest
    # that long after the last fetch (sooner when that was a "fetch now"), or after
    # the feed was added if never fetched, or resumed if that came later.
    since = feed.last_fetched_at or feed.created_at
    if feed.paused_changed_at is not None:
        since = max(since, feed.paused_changed_at)
    return FeedHealth(
        id=feed.id,
        url=feed.url,
        title=feed.title,
        topics=sorted(t.slug for t in feed.topics),
        paused=feed.paused,
        paused_changed_at=feed.paused_changed_at,
        state=feed_state(
            paused=feed.paused,
            failures_in_row=failures,
            last_item_at=figures.last_item_at,
            usual_interval=usual,
            now=now,
        ),
        last_fetched_at=feed.last_fetched_at,
        last_status=feed.last_status,
        last_error=feed.last_error,
        failures_in_row=failures,
        items_per_day=round(figures.last_week / RATE_DAYS, 1),
        last_item_at=figures.last_item_at,
        usual_interval=usual,
        next_fetch_at=None if feed.paused else since + POLL_INTERVAL,
        articles=figures.articles,
        created_at=feed.created_at,
    )


def _one(session: Session, feed_id: int, now: datetime) -> FeedHealth:
    (health,) = feed_health(session, now, feed_id=feed_id)
    return health


def set_feed_paused(session: Session, feed_id: int, paused: bool, now: datetime) -> FeedHealth:
    """Pause the feed (polling passes it by; "fetch now" still fetches it) or resume
    it (polled again from beat's next round); the feed as it is then."""
    feed = get_row(session, Feed, feed_id, "feed")
    if feed.paused != paused:
        feed.paused, feed.paused_changed_at = paused, now
        session.flush()
    return _one(session, feed.id, now)


def create_feed(
    session: Session, url: str, topics: Sequence[str], *, allow_private: bool
) -> FeedHealth:
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
    return _one(session, feed.id, feed.created_at)


def fetch_feed_now(
    database_url: str, feed_id: int, settings: Settings, now: datetime
) -> polling.FeedReport:
    """Fetch one feed now, in this process, even a paused one, and store what it
    gives; a failure is in the report (and on the feed), not raised."""
    if not 1 <= feed_id <= MAX_ID:
        raise NotFound(f"there is no feed {feed_id}")
    # An operator asked for this fetch: a paused feed is fetched too.
    report = polling.poll_feed(database_url, feed_id, settings, now, even_paused=True)
    if report is None:
        raise NotFound(f"there is no feed {feed_id}")
    return report


def delete_feed(session: Session, feed_id: int) -> None:
    """Delete the feed; the articles it gave stay, without their feed."""
    feed = get_row(session, Feed, feed_id, "feed")
    audit.note(
        session,
        "delete",
        "feed",
        feed.id,
        f"feed {feed.url}",
        before={
            "url": feed.url,
            "title": feed.title,
            "topics": sorted(t.slug for t in feed.topics),
        },
    )
    for statement in (
        update(Article).where(Article.feed_id == feed.id).values(feed_id=None),
        delete(FeedTopic).where(FeedTopic.feed_id == feed.id),
        delete(Feed).where(Feed.id == feed.id),
    ):
        session.execute(statement.execution_options(synchronize_session=False))
    session.expunge(feed)
