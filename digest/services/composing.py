"""Composing: turn stored digests into content and recipients, ready to render."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from digest.config import Settings, secret_key
from digest.db.models import Article, Digest, DigestArticle, Subscriber, Topic
from digest.domain.content import ArticleView, DigestContent, Recipient, Section
from digest.tokens import make_token


def article_view(article: Article) -> ArticleView:
    """The article as rendered; its version is a digest of everything shown, so a
    rendered block is reused only for exactly the same content."""
    shown = "\x1f".join(
        [
            str(article.id),
            article.title,
            article.url,
            article.summary or "",
            article.published_at.isoformat(),
            article.author or "",
            article.image_url or "",
        ]
    )
    return ArticleView(
        id=article.id,
        title=article.title,
        url=article.url,
        summary_html=article.summary or "",
        published_at=article.published_at,
        author=article.author,
        image_url=article.image_url,
        version=hashlib.blake2b(shown.encode(), digest_size=12).hexdigest(),
    )


def _names(topics: Iterable[str]) -> str:
    items = list(topics)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def recipient_for(sub: Subscriber, settings: Settings) -> Recipient:
    """The per-recipient values: signed links and why they get the email."""
    key = secret_key(settings)
    topics = sorted(s.topic.name for s in sub.subscriptions)
    return Recipient(
        email=sub.email,
        name=sub.name,
        unsubscribe_url=f"{settings.base_url}/unsubscribe/{make_token(key, 'unsubscribe', sub.id)}",
        preferences_url=f"{settings.base_url}/preferences/{make_token(key, 'preferences', sub.id)}",
        reason=f"You get this email because you follow {_names(topics)}."
        if topics
        else "You get this email because you subscribed to these digests.",
    )


def contents(
    session: Session, digests: list[Digest], subscribers: dict[int, Subscriber]
) -> dict[int, DigestContent]:
    """The content of each built digest, from its stored article list (two queries)."""
    ids = [d.id for d in digests]
    rows = session.execute(
        select(DigestArticle.digest_id, DigestArticle.topic_id, Article)
        .join(Article, Article.id == DigestArticle.article_id)
        .where(DigestArticle.digest_id.in_(ids))
        .order_by(DigestArticle.digest_id, DigestArticle.position)
    ).all()
    topic_ids = {topic_id for _, topic_id, _ in rows}
    topics = {t.id: t for t in session.scalars(select(Topic).where(Topic.id.in_(topic_ids)))}
    views: dict[int, ArticleView] = {}
    sections: dict[int, dict[int, list[ArticleView]]] = defaultdict(dict)
    for digest_id, topic_id, article in rows:
        view = views.get(article.id)
        if view is None:
            view = views[article.id] = article_view(article)
        sections[digest_id].setdefault(topic_id, []).append(view)
    result = {}
    for d in digests:
        result[d.id] = DigestContent(
            sections=tuple(
                Section(topics[t].slug, topics[t].name, tuple(items))
                for t, items in sections[d.id].items()
            ),
            slot_at=d.slot_at,
            timezone=subscribers[d.subscriber_id].timezone,
            weekly=d.includes_weekly,
        )
    return result
