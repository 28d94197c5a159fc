"""Articles pushed by operators and scripts, and the list of recent ones."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from digest.db.models import Article, ArticleTopic, Topic
from digest.ingest.push import FieldError, read_record
from digest.ingest.store import UpsertReport, store_items
from digest.services.management.base import (
    MAX_KEY_BYTES,
    PAGE_SIZE,
    Loc,
    ManagementError,
    Page,
    cursor_of,
    limit_of,
    page_of,
    slug_of,
)


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
    pinned: bool
    held: bool


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
    session: Session, *, topic: str = "", before: int | None = None, limit: int = PAGE_SIZE
) -> Page[ArticleRow]:
    """The most recently stored articles first (optionally of ``topic``), before id
    ``before``."""
    query = select(Article).order_by(Article.id.desc()).limit(limit_of(limit) + 1)
    if before is not None:
        query = query.where(Article.id < cursor_of("before", before))
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
    rows = [
        ArticleRow(
            a.id,
            a.url,
            a.title,
            a.author,
            a.image_url,
            a.published_at,
            a.ingested_at,
            a.feed_id,
            sorted(t.slug for t in a.topics),
            bool(a.pinned),
            bool(a.held),
        )
        for a in session.scalars(query)
    ]
    return page_of(rows, limit, lambda r: r.id)
