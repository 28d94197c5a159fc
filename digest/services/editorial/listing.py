"""The console's articles list: recent articles narrowed by filters that combine
(topic, source, pinned, held, a range of publication days, a fragment of the
title), each with where it came from and how many digests carried it, and the
choices the filters offer."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from digest.db.models import DigestArticle, Feed, Topic
from digest.services.console.base import PAGE_SIZE, ManagementError, Page
from digest.services.editorial.articles import ArticleRow, list_articles

PUSHED = "API/import"  # the source of an article that came from no feed
_MAX_LABEL = 80


@dataclass(frozen=True)
class ArticleFilter:
    """What the list shows; every filter given narrows it further. ``feed`` is a
    feed's id or :data:`NO_FEED`; ``published_from`` and ``published_to`` are days,
    both included, in the viewer's zone."""

    topic: str = ""
    feed: int | None = None
    pinned: bool = False
    held: bool = False
    published_from: date | None = None
    published_to: date | None = None
    q: str = ""
    before: int | None = None


@dataclass(frozen=True)
class ListedArticle:
    article: ArticleRow
    source: str  # the feed's title, else its host, else PUSHED
    digests: int  # how many digests carried it
    scheduled: bool  # published after now: no digest takes it before then


@dataclass(frozen=True)
class Source:
    """A feed as the source filter offers it."""

    id: int
    label: str


@dataclass(frozen=True)
class ArticleList:
    page: Page[ListedArticle]
    topics: list[str]
    sources: list[Source]
    problems: list[str]  # filters that could not be used, each naming its field


def source_label(title: str | None, url: str) -> str:
    """A feed as people know it: its title, else the host of its address."""
    text = " ".join((title or "").split())
    if text:
        return text if len(text) <= _MAX_LABEL else text[: _MAX_LABEL - 1] + "…"
    return urlsplit(url).hostname or url[:_MAX_LABEL]


def _day_start(name: str, day: date, zone: ZoneInfo) -> datetime:
    try:
        return datetime.combine(day, time.min, zone).astimezone(UTC)
    except OverflowError:  # the first or last day of year 1 or 9999, moved to UTC
        raise ManagementError(name, f"{day} is out of range") from None


def _range(shown: ArticleFilter, zone: str) -> tuple[datetime | None, datetime | None]:
    """The moments a range of days starts and ends at (the end excluded)."""
    if shown.published_from and shown.published_to and shown.published_to < shown.published_from:
        raise ManagementError(
            "to",
            f"{shown.published_to} is before from ({shown.published_from}): "
            "give a later day or clear one of them",
        )
    where = ZoneInfo(zone)
    since = _day_start("from", shown.published_from, where) if shown.published_from else None
    until = None
    if shown.published_to:
        if shown.published_to == date.max:
            raise ManagementError("to", f"{date.max} is out of range")
        until = _day_start("to", shown.published_to + timedelta(days=1), where)
    return since, until


def browse_articles(
    session: Session,
    shown: ArticleFilter,
    *,
    now: datetime,
    zone: str = "UTC",
    limit: int = PAGE_SIZE,
) -> ArticleList:
    """One page of the articles ``shown`` asks for, newest stored first, with the
    topics and sources to filter by. A filter that cannot be used (a range whose
    end is before its start, a title fragment with control characters) is left
    out and reported in ``problems``; the others still apply."""
    problems: list[str] = []
    try:
        since, until = _range(shown, zone)
    except ManagementError as exc:
        problems.append(str(exc))
        since = until = None
        shown = replace(shown, published_from=None, published_to=None)
    try:
        page = list_articles(
            session,
            topic=shown.topic,
            fragment=shown.q,
            pinned_after=now if shown.pinned else None,
            held=shown.held,
            feed=shown.feed,
            published_since=since,
            published_until=until,
            before=shown.before,
            limit=limit,
        )
    except ManagementError as exc:
        problems.append(str(exc).replace("fragment: ", "q: ", 1))
        page = Page([], None)
    return ArticleList(
        Page(_annotate(session, page.items, now), page.next),
        list(session.scalars(select(Topic.slug).order_by(Topic.slug))),
        sources(session),
        problems,
    )


def sources(session: Session) -> list[Source]:
    """Every feed, by name, for the source filter."""
    feeds = [
        Source(id_, source_label(title, url))
        for id_, title, url in session.execute(select(Feed.id, Feed.title, Feed.url))
    ]
    return sorted(feeds, key=lambda s: (s.label.casefold(), s.id))


def _annotate(session: Session, rows: list[ArticleRow], now: datetime) -> list[ListedArticle]:
    """Each row with its source and digest count: two queries for the whole page."""
    ids = [r.id for r in rows]
    feed_ids = {r.feed_id for r in rows if r.feed_id is not None}
    counts: dict[int, int] = {}
    labels: dict[int, str] = {}
    if ids:
        counts = dict(
            session.execute(
                select(DigestArticle.article_id, func.count())
                .where(DigestArticle.article_id.in_(ids))
                .group_by(DigestArticle.article_id)
            ).all()
        )
    if feed_ids:
        labels = {
            id_: source_label(title, url)
            for id_, title, url in session.execute(
                select(Feed.id, Feed.title, Feed.url).where(Feed.id.in_(feed_ids))
            )
        }
    return [
        ListedArticle(
            r,
            labels.get(r.feed_id, PUSHED) if r.feed_id is not None else PUSHED,
            counts.get(r.id, 0),
            r.published_at > now,
        )
        for r in rows
    ]
