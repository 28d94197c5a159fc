"""Articles pushed by operators and scripts, the list of recent ones, and the
editors' control over them: pin one to the top of its topics until a moment, or
hold one out of every digest."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any, Final, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from digest.db.models import Article, ArticleTopic, Topic
from digest.services.console.base import (
    MAX_KEY_BYTES,
    PAGE_SIZE,
    Loc,
    ManagementError,
    Page,
    cursor_of,
    get_row,
    limit_of,
    one_line,
    page_of,
    slug_of,
)
from digest.services.ingesting.push import FieldError, read_record
from digest.services.ingesting.store import UpsertReport, store_items

MAX_EDITOR = 320  # the longest admin address, the column's width
NO_FEED: Final = 0  # as a feed filter: articles from no feed (pushed or imported)


class Keep(Enum):
    """A change left out: the stored value stays."""

    KEEP = "keep"


KEEP: Final = Keep.KEEP


@dataclass(frozen=True)
class ArticleRow:
    id: int
    url: str
    title: str
    author: str | None
    image_url: str | None
    published_at: datetime
    ingested_at: datetime
    feed_id: int | None
    topics: list[str]
    pinned_until: datetime | None  # first in its topics in digests closing before this
    held: bool  # in no digest at all
    edited_by: str | None  # who last pinned, unpinned, held or released it
    edited_at: datetime | None


def _row(a: Article) -> ArticleRow:
    return ArticleRow(
        a.id,
        a.url,
        a.title,
        a.author,
        a.image_url,
        a.published_at,
        a.ingested_at,
        a.feed_id,
        sorted(t.slug for t in a.topics),
        a.pinned_until,
        bool(a.held),
        a.edited_by,
        a.edited_at,
    )


def push_articles(
    session: Session, articles: Sequence[Mapping[str, Any]], now: datetime
) -> UpsertReport:
    """Store articles given as records with the fields of ``digest articles import``,
    checked the same way. All or nothing: one bad record stores none, and every
    problem is reported as ``("articles", index, field)``."""
    known = {slug: id_ for slug, id_ in session.execute(select(Topic.slug, Topic.id))}
    good = []
    problems: list[tuple[Loc, str]] = []
    for index, record in enumerate(articles):
        try:
            item, topic_ids = read_record(dict(record), known)
        except FieldError as exc:
            name, _, message = str(exc).partition(": ")
            problems.append((("articles", index, name), message))
            continue
        except OverflowError:  # a time near year 1 or 9999 moved to UTC
            problems.append((("articles", index, "published_at"), "is out of range"))
            continue
        for name, value in (("url", item.url), ("guid", item.guid)):
            if len(value.encode()) > MAX_KEY_BYTES:
                problems.append((("articles", index, name), f"longer than {MAX_KEY_BYTES} bytes"))
        good.append((item, topic_ids))
    if problems:
        raise ManagementError(*problems[0], problems[1:])
    return store_items(session, good, now=now)


def list_articles(
    session: Session,
    *,
    topic: str = "",
    fragment: str = "",
    pinned_after: datetime | None = None,
    held: bool = False,
    feed: int | None = None,
    published_since: datetime | None = None,
    published_until: datetime | None = None,
    before: int | None = None,
    limit: int = PAGE_SIZE,
) -> Page[ArticleRow]:
    """The most recently stored articles first, before id ``before``; only those of
    ``topic``, whose title contains ``fragment`` (any case), pinned past the moment
    ``pinned_after`` (give now: the pins that still count), ``held``, from feed
    ``feed`` (:data:`NO_FEED`: those pushed through the API or an import), or
    published from ``published_since`` to before ``published_until``, when asked."""
    query = select(Article).order_by(Article.id.desc()).limit(limit_of(limit) + 1)
    if before is not None:
        query = query.where(Article.id < cursor_of("before", before))
    if feed == NO_FEED:
        query = query.where(Article.feed_id.is_(None))
    elif feed is not None:
        query = query.where(Article.feed_id == cursor_of("feed", feed))
    if published_since is not None:
        query = query.where(Article.published_at >= utc_of("from", published_since))
    if published_until is not None:
        query = query.where(Article.published_at < utc_of("to", published_until))
    fragment = one_line("fragment", fragment, 200) or ""
    if fragment:
        escaped = fragment.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(Article.title.ilike(f"%{escaped}%", escape="\\"))
    if pinned_after is not None:
        query = query.where(Article.pinned_until > utc_of("pinned_after", pinned_after))
    if held:
        query = query.where(Article.held.is_(True))
    if topic:
        slug = slug_of(topic)
        if slug is None:
            return Page([], None)
        query = query.where(
            Article.id.in_(
                select(ArticleTopic.article_id)
                .join(Topic, Topic.id == ArticleTopic.topic_id)
                .where(Topic.slug == slug)
            )
        )
    return page_of([_row(a) for a in session.scalars(query)], limit, lambda r: r.id)


def utc_of(name: str, moment: datetime) -> datetime:
    """``moment`` in UTC; one without an offset is taken as UTC already."""
    try:
        return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    except OverflowError:  # e.g. 9999-12-31T23:00-05:00 is past the last year
        raise ManagementError(name, "is out of range") from None


def moment_of(name: str, text: str) -> datetime:
    """The moment a form field names, as ISO 8601 (``2026-06-08T07:00``, a date
    alone is its midnight); UTC unless it carries an offset."""
    raw = text.strip()[:64]
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        if not raw:
            raise ManagementError(name, "is empty: give a date and time") from None
        raise ManagementError(
            name, f"{raw!r} is not a date and time such as 2026-06-08T07:00"
        ) from None
    return utc_of(name, moment)


def set_editorial(
    session: Session,
    article_id: int,
    *,
    pinned_until: datetime | None | Literal[Keep.KEEP] = KEEP,
    held: bool | None = None,
    by: str,
    now: datetime,
) -> ArticleRow:
    """Pin the article until ``pinned_until`` (None unpins it), and hold it out of
    every digest or release it (``held``); what is left out stays. A pin must end
    after ``now``; a time without an offset is UTC. A change records ``by`` and
    ``now`` as who last edited it; asking for the state it already has changes
    nothing, so doing it twice is harmless."""
    if pinned_until is not KEEP and pinned_until is not None:
        pinned_until = utc_of("pinned_until", pinned_until)
        if pinned_until <= now:
            raise ManagementError(
                "pinned_until", f"must be later than now ({now.astimezone(UTC):%Y-%m-%d %H:%M} UTC)"
            )
    editor = one_line("edited_by", by, MAX_EDITOR)
    if editor is None:
        raise ManagementError("edited_by", "is empty: say who makes the change")
    article = get_row(session, Article, article_id, "article")
    changed = False
    if pinned_until is not KEEP and article.pinned_until != pinned_until:
        article.pinned_until, changed = pinned_until, True
    if held is not None and bool(article.held) != held:
        article.held, changed = held, True
    if changed:
        article.edited_by, article.edited_at = editor, now
        session.flush()
    return _row(article)


def pin_article(
    session: Session, article_id: int, until: datetime, by: str, now: datetime
) -> ArticleRow:
    """First in its topics in every digest whose window closes before ``until``."""
    return set_editorial(session, article_id, pinned_until=until, by=by, now=now)


def unpin_article(session: Session, article_id: int, by: str, now: datetime) -> ArticleRow:
    """Back among the others, newest first."""
    return set_editorial(session, article_id, pinned_until=None, by=by, now=now)


def hold_article(session: Session, article_id: int, by: str, now: datetime) -> ArticleRow:
    """In no digest built from now on, whatever its topics (those sent stay sent)."""
    return set_editorial(session, article_id, held=True, by=by, now=now)


def release_article(session: Session, article_id: int, by: str, now: datetime) -> ArticleRow:
    """Back in the digests built from now on, where it is still new."""
    return set_editorial(session, article_id, held=False, by=by, now=now)
