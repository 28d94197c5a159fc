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
from digest.ingest.parse import ParsedItem, plain_text


@dataclass
class UpsertReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    article_ids: list[int] = field(default_factory=list)


@lru_cache(maxsize=1024)
def _keyword_pattern(keyword: str) -> re.Pattern[str]:
    return re.compile(rf"(?<!\w){re.escape(keyword)}(?!\w)", re.IGNORECASE)


def matching_topics(item: ParsedItem, topics: Sequence[Topic]) -> set[int]:
    """Topics named by the item's categories (slug or name, any case) or whose
    keyword rules appear as whole words in its title or summary."""
    labels = {c.strip().lower() for c in item.categories}
    text = f"{item.title} {plain_text(item.summary_html, 20_000)}"
    found = set()
    for topic in topics:
        named = topic.slug.lower() in labels or topic.name.lower() in labels
        if named or any(_keyword_pattern(k).search(text) for k in topic.keywords or [] if k):
            found.add(topic.id)
    return found


def _changed(article: Article, item: ParsedItem) -> bool:
    return (article.title, article.summary, article.image_url, article.author) != (
        item.title,
        item.summary_html,
        item.image_url,
        item.author,
    )


def upsert_articles(
    session: Session,
    items: Iterable[ParsedItem],
    *,
    feed: Feed | None = None,
    extra_topic_ids: Iterable[int] = (),
    now: datetime,
) -> UpsertReport:
    """Insert new articles and update changed ones; three queries for the batch."""
    report = UpsertReport()
    batch: list[ParsedItem] = []
    seen: set[str] = set()
    for item in items:
        if not item.url or not item.title:
            report.skipped += 1
        elif item.guid in seen or item.url in seen:
            report.unchanged += 1  # the same item twice in one document
        else:
            seen.update((item.guid, item.url))
            batch.append(item)
    if not batch:
        return report
    topics = list(session.scalars(select(Topic)))
    by_id = {t.id: t for t in topics}
    fixed = {t.id for t in (feed.topics if feed else [])} | set(extra_topic_ids)
    existing = list(
        session.scalars(
            select(Article).where(
                or_(
                    Article.guid.in_([i.guid for i in batch]),
                    Article.url.in_([i.url for i in batch]),
                )
            )
        )
    )
    by_guid = {a.guid: a for a in existing}
    by_url = {a.url: a for a in existing}
    resolved: list[Article] = []
    for item in batch:
        wanted = {by_id[t] for t in fixed | matching_topics(item, topics) if t in by_id}
        article = by_guid.get(item.guid) or by_url.get(item.url)
        if article is None:
            article = Article(
                guid=item.guid,
                url=item.url,
                title=item.title,
                summary=item.summary_html,
                author=item.author,
                image_url=item.image_url,
                published_at=item.published_at or now,
                ingested_at=now,
                updated_at=now,
                feed_id=feed.id if feed else None,
                topics=sorted(wanted, key=lambda t: t.id),
            )
            session.add(article)
            by_guid[item.guid] = by_url[item.url] = article
            resolved.append(article)
            report.added += 1
            continue
        resolved.append(article)
        new_topics = wanted - set(article.topics)
        if _changed(article, item) or new_topics:
            article.title, article.summary = item.title, item.summary_html
            article.image_url, article.author = item.image_url, item.author
            article.topics.extend(sorted(new_topics, key=lambda t: t.id))
            article.updated_at = now
            report.updated += 1
        else:
            report.unchanged += 1
    session.flush()
    report.article_ids = [a.id for a in resolved]
    return report
