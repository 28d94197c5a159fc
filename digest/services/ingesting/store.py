"""Storing parsed items as articles: deduplicated by GUID, then by link; topics from
the feed's mapping, the item's categories and the topics' keyword rules."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from digest.db.models import Article, Feed, Topic
from digest.ingest.parse import MAX_GUID, MAX_URL, ParsedItem, plain_text

CHUNK = 500  # items per lookup query, well under every database's parameter limit


@dataclass
class UpsertReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0  # no link or no title: nothing a digest could show
    article_ids: list[int] = field(default_factory=list)  # one per stored item, in order


@lru_cache(maxsize=1024)
def _keyword_pattern(keyword: str) -> re.Pattern[str]:
    # Whole words only: "cup" must not match "cupboard"; phrases may span any whitespace.
    words = r"\s+".join(re.escape(w) for w in keyword.split())
    return re.compile(rf"(?<!\w){words}(?!\w)", re.IGNORECASE)


def matching_topics(item: ParsedItem, topics: Sequence[Topic]) -> set[int]:
    """Topics named by the item's categories (slug or name, any case) or whose
    keyword rules appear as whole words in its title or summary."""
    labels = {c.strip().lower() for c in item.categories}
    text = f"{item.title} {plain_text(item.summary_html, 20_000)}"
    found = set()
    for topic in topics:
        named = topic.slug.lower() in labels or topic.name.lower() in labels
        keywords = [k for k in topic.keywords or [] if k and k.strip()]
        if named or any(_keyword_pattern(k).search(text) for k in keywords):
            found.add(topic.id)
    return found


def _storable(item: ParsedItem) -> bool:
    """A digest needs a link and a title; over-long keys would not fit their columns."""
    return bool(item.url and item.title and item.guid) and (
        len(item.url) <= MAX_URL and len(item.guid) <= MAX_GUID
    )


def _fields(item: ParsedItem) -> tuple[str, str, str | None, str | None]:
    """What an update may change, cut to the widths of the columns."""
    return (item.title[:1000], item.summary_html, item.image_url, (item.author or "")[:300] or None)


def upsert_articles(
    session: Session,
    items: Iterable[ParsedItem],
    *,
    feed: Feed | None = None,
    extra_topic_ids: Iterable[int] = (),
    now: datetime,
) -> UpsertReport:
    """Insert new articles and update changed ones, in the caller's transaction.

    An item is the same article as a stored one with its GUID, else with its link. A
    stored article changes (and its ``updated_at`` moves to ``now``) only when its title,
    summary, image or author differ, or it gains a topic; topics are only ever added.
    """
    extra = frozenset(extra_topic_ids)
    return store_items(session, [(item, extra) for item in items], feed=feed, now=now)


def store_items(
    session: Session,
    entries: Sequence[tuple[ParsedItem, frozenset[int]]],
    *,
    feed: Feed | None = None,
    now: datetime,
) -> UpsertReport:
    """:func:`upsert_articles` for items that each bring their own extra topic ids."""
    report = UpsertReport()
    wanted = [(item, extra) for item, extra in entries if _storable(item)]
    report.skipped = len(entries) - len(wanted)
    if not wanted:
        return report
    topics = list(session.scalars(select(Topic)))
    by_id = {t.id: t for t in topics}
    feed_topics = frozenset(t.id for t in feed.topics) if feed else frozenset()
    resolved: list[Article] = []
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        existing = session.scalars(
            select(Article).where(
                or_(
                    Article.guid.in_({i.guid for i, _ in chunk}),
                    Article.url.in_({i.url for i, _ in chunk}),
                )
            )
        ).all()
        by_guid = {a.guid: a for a in existing}
        by_url = {a.url: a for a in existing}
        created: set[int] = set()  # id() of articles added by this call
        for item, extra in chunk:
            ids = feed_topics | extra | matching_topics(item, topics)
            topic_rows = sorted((by_id[t] for t in ids if t in by_id), key=lambda t: t.id)
            article = by_guid.get(item.guid) or by_url.get(item.url)
            if article is None:
                title, summary, image_url, author = _fields(item)
                article = Article(
                    guid=item.guid,
                    url=item.url,
                    title=title,
                    summary=summary,
                    author=author,
                    image_url=image_url,
                    published_at=item.published_at or now,
                    ingested_at=now,
                    updated_at=now,
                    feed_id=feed.id if feed else None,
                    topics=topic_rows,
                )
                session.add(article)
                by_guid.setdefault(item.guid, article)
                by_url.setdefault(item.url, article)
                created.add(id(article))
                report.added += 1
            elif _apply(article, item, topic_rows, now) and id(article) not in created:
                report.updated += 1
            elif id(article) not in created:
                report.unchanged += 1
            resolved.append(article)
        session.flush()
    report.article_ids = [a.id for a in resolved]
    return report


def _apply(article: Article, item: ParsedItem, topics: list[Topic], now: datetime) -> bool:
    """Bring ``article`` up to date with ``item``; True when anything changed."""
    fields = _fields(item)
    current = (article.title, article.summary, article.image_url, article.author)
    new_topics = [t for t in topics if t not in article.topics]
    if fields == current and not new_topics:
        return False
    article.title, article.summary, article.image_url, article.author = fields
    article.topics.extend(new_topics)
    article.updated_at = now
    return True
