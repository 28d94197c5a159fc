"""Topics as operators see them: with their followers and articles counted."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from digest.db.models import ArticleTopic, Subscriber, Subscription, Topic
from digest.services.console.base import (
    MAX_NAME,
    Conflict,
    ManagementError,
    NotFound,
    one_line,
    slug_of,
)
from digest.services.readers import topics as topic_rules

MAX_KEYWORD = 100
MAX_KEYWORDS = 100


@dataclass(frozen=True)
class TopicRow:
    id: int
    slug: str
    name: str
    keywords: list[str]
    subscribers: int  # active subscribers who follow it
    articles: int
    created_at: datetime


def _keywords(raw: Sequence[str] | str) -> list[str]:
    """Keyword rules from a list or a comma-separated string, lower-cased, each once."""
    words = topic_rules.parse_keywords(raw) if isinstance(raw, str) else raw
    cleaned = [(one_line("keywords", w, MAX_KEYWORD) or "").lower() for w in words]
    unique = list(dict.fromkeys(w for w in cleaned if w))
    if len(unique) > MAX_KEYWORDS:
        raise ManagementError("keywords", f"more than {MAX_KEYWORDS} keywords")
    return unique


def _rows(session: Session, slug: str | None = None) -> list[TopicRow]:
    """Topics by slug (or only ``slug``), with their active followers and articles
    counted in one grouped query each."""
    topics = select(Topic).order_by(Topic.slug)
    followers = (
        select(Subscription.topic_id, func.count())
        .join(Subscriber, Subscriber.id == Subscription.subscriber_id)
        .where(Subscriber.status == "active")
        .group_by(Subscription.topic_id)
    )
    articles = select(ArticleTopic.topic_id, func.count()).group_by(ArticleTopic.topic_id)
    if slug is not None:
        one = select(Topic.id).where(Topic.slug == slug).scalar_subquery()
        topics = topics.where(Topic.slug == slug)
        followers = followers.where(Subscription.topic_id == one)
        articles = articles.where(ArticleTopic.topic_id == one)
    following = dict(session.execute(followers).all())
    holding = dict(session.execute(articles).all())
    return [
        TopicRow(
            t.id,
            t.slug,
            t.name,
            list(t.keywords or []),
            int(following.get(t.id, 0)),
            int(holding.get(t.id, 0)),
            t.created_at,
        )
        for t in session.scalars(topics)
    ]


def list_topics(session: Session) -> list[TopicRow]:
    """Every topic by slug, with how many active subscribers and articles it has."""
    return _rows(session)


def create_topic(
    session: Session, slug: str, name: str | None = None, keywords: Sequence[str] | str = ()
) -> TopicRow:
    """Add topic ``slug``; a slug already in use is a :class:`Conflict`."""
    clean = slug_of(slug)
    if clean is None:
        raise ManagementError("slug", "must be lower-case letters, digits and '-', at most 64")
    if session.scalar(select(Topic.id).where(Topic.slug == clean)) is not None:
        raise Conflict("slug", f"topic {clean} exists already")
    topic_rules.add_topic(session, clean, one_line("name", name, MAX_NAME), _keywords(keywords))
    return _rows(session, clean)[0]


def update_topic(
    session: Session,
    slug: str,
    *,
    name: str | None = None,
    keywords: Sequence[str] | str | None = None,
) -> TopicRow:
    """Rename topic ``slug`` and/or replace its keyword rules (None: unchanged).
    New rules apply to articles taken in from now on."""
    clean = slug_of(slug)
    if clean is None or session.scalar(select(Topic.id).where(Topic.slug == clean)) is None:
        raise NotFound(f"there is no topic {slug[:70]!r}")
    topic_rules.add_topic(
        session,
        clean,
        one_line("name", name, MAX_NAME),
        None if keywords is None else _keywords(keywords),
    )
    return _rows(session, clean)[0]
