"""Topics: the things subscribers follow."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from digest.db.models import Topic
from digest.domain.text import text_problem

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


class TopicError(ValueError):
    """Bad topic input, or a reference to a topic that does not exist."""


def parse_keywords(raw: str | None) -> list[str]:
    """``"ai, machine learning"`` → ``["ai", "machine learning"]``."""
    if not raw:
        return []
    return [k.strip().lower() for k in raw.split(",") if k.strip()]


def add_topic(
    session: Session, slug: str, name: str | None = None, keywords: list[str] | None = None
) -> Topic:
    """Create the topic ``slug``, or update its name and keywords if it exists."""
    slug = slug.strip().lower()
    if not SLUG.match(slug):
        raise TopicError(
            f"topic slug {slug!r} must be lower-case letters, digits and '-', at most 64"
        )
    problem = text_problem(name or "", name=True)
    if problem:
        raise TopicError(f"name {problem}")
    for keyword in keywords or ():
        problem = text_problem(keyword)
        if problem:
            raise TopicError(f"keywords {problem}")
    topic = session.scalar(select(Topic).where(Topic.slug == slug))
    if topic is None:
        topic = Topic(slug=slug, name=name or slug.replace("-", " ").title(), keywords=[])
        session.add(topic)
    elif name:
        topic.name = name
    if keywords is not None:
        topic.keywords = keywords
    session.flush()
    return topic


def topics_by_slug(session: Session, slugs: list[str]) -> list[Topic]:
    """The topics named by ``slugs``, in that order; unknown slugs raise TopicError."""
    wanted = [s.strip().lower() for s in slugs if s.strip()]
    found = {t.slug: t for t in session.scalars(select(Topic).where(Topic.slug.in_(wanted)))}
    missing = [s for s in wanted if s not in found]
    if missing:
        raise TopicError(
            f"unknown topic{'s' if len(missing) > 1 else ''} {', '.join(missing)}: "
            "create it with 'digest topics add SLUG'"
        )
    return [found[s] for s in dict.fromkeys(wanted)]


def list_topics(session: Session) -> list[Topic]:
    return list(session.scalars(select(Topic).order_by(Topic.slug)))
