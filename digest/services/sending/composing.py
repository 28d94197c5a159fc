"""Composing: turn stored digests into content and recipients, ready to render."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, lazyload

from digest.config import Settings, secret_key
from digest.db.models import Article, Digest, DigestArticle, Subscriber, Topic, id_in
from digest.domain.content import ArticleView, DigestContent, Recipient, Section
from digest.domain.delivery import DELIVERY_HEADER
from digest.domain.languages import supported
from digest.mail.message import build_message, feedback_id
from digest.rendering import RenderedEmail
from digest.rendering.i18n import join_names, translate
from digest.tokens import link_stamp, make_token


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


def language_of(sub: Subscriber, settings: Settings) -> str:
    """The reader's language; the site's when they never chose one (or chose one that
    is no longer offered)."""
    return supported(sub.language) or settings.language


def reason_for(topics: Iterable[str], language: str) -> str:
    """Why the reader gets the email, in their language."""
    names = sorted(topics)
    if not names:
        return translate(language, "You get this email because you subscribed to these digests.")
    return translate(
        language,
        "You get this email because you follow %(topics)s.",
        topics=join_names(names, language),
    )


def link_for(settings: Settings, purpose: str, sub: Subscriber) -> str:
    """The subscriber's signed unsubscribe or preferences link."""
    stamp = link_stamp(sub.created_at, sub.link_epoch or 0)
    token = make_token(secret_key(settings), purpose, sub.id, stamp)
    return f"{settings.base_url}/{purpose}/{token}"


def view_link(settings: Settings, digest_id: int, sub: Subscriber) -> str:
    """The reader's signed link to digest ``digest_id`` in the browser: it names the
    digest and the reader's link stamp, so replacing their links ends it too."""
    stamp = link_stamp(sub.created_at, sub.link_epoch or 0)
    token = make_token(secret_key(settings), "view", digest_id, stamp)
    return f"{settings.base_url}/view/{token}"


def dead_link(settings: Settings, purpose: str) -> str:
    """A preferences, unsubscribe or view link that leads nowhere (an invalid-link page)."""
    return f"{settings.base_url}/{purpose}/preview"


def sample_recipient(
    settings: Settings, email: str, topics: Iterable[str], language: str | None = None
) -> Recipient:
    """A recipient whose preferences and unsubscribe links lead nowhere: for a digest
    no real reader is behind (a preview of topics) or that goes to someone else (a
    test copy), so no reader's signed links leave the console."""
    return Recipient(
        email=email,
        name=None,
        unsubscribe_url=dead_link(settings, "unsubscribe"),
        preferences_url=dead_link(settings, "preferences"),
        reason=reason_for(topics, language or settings.language),
        view_url=dead_link(settings, "view"),
    )


def preview_recipient(sub: Subscriber, settings: Settings) -> Recipient:
    """The reader as their digest addresses them, but with links that lead nowhere:
    what staff see in a preview. The reader's signed links (which open their data and
    their choices) go only in the email sent to the reader."""
    return replace(
        recipient_for(sub, settings),
        unsubscribe_url=dead_link(settings, "unsubscribe"),
        preferences_url=dead_link(settings, "preferences"),
        view_url=dead_link(settings, "view"),
    )


def recipient_for(sub: Subscriber, settings: Settings, digest_id: int | None = None) -> Recipient:
    """The per-recipient values: signed links and why they get the email; the link to
    digest ``digest_id`` in the browser (none yet: one that leads nowhere)."""
    return Recipient(
        email=sub.email,
        name=sub.name,
        unsubscribe_url=link_for(settings, "unsubscribe", sub),
        preferences_url=link_for(settings, "preferences", sub),
        reason=reason_for((s.topic.name for s in sub.subscriptions), language_of(sub, settings)),
        view_url=dead_link(settings, "view")
        if digest_id is None
        else view_link(settings, digest_id, sub),
    )


TEST_PREFIX = "[TEST] "


def message_of(
    rendered: RenderedEmail,
    recipient: Recipient,
    settings: Settings,
    *,
    content: DigestContent,
    message_id: str,
    date: datetime,
    to_addr: str | None = None,
    test_copy: bool = False,
    delivery_token: str | None = None,
) -> bytes:
    """The digest email's bytes, as sent and as previewed, to ``to_addr`` (default:
    the recipient's address). ``content`` is what ``rendered`` was rendered from: its
    topics and frequency make the Feedback-ID. ``delivery_token`` (the delivery's VERP
    token, when bounces are tracked) goes in an ``X-Digest-Delivery`` header, so a
    bounce that quotes our headers names its delivery even when it was not sent back
    to the VERP address (a forwarder's, an automatic reply).

    A test copy has its subject prefixed with ``[TEST]`` and no list headers: the
    body is the reader's, but a mail client's unsubscribe button must not act on the
    reader's behalf from an editor's inbox."""
    campaign = "test" if test_copy else "weekly" if content.weekly else "daily"
    topics = [section.topic_slug for section in content.sections]
    extra = [("Feedback-ID", feedback_id(settings, campaign, topics))]
    if delivery_token is not None:
        extra.append((DELIVERY_HEADER, delivery_token))
    return build_message(
        from_header=settings.from_header,
        to_addr=to_addr or recipient.email,
        to_name=None if test_copy else recipient.name,
        subject=TEST_PREFIX + rendered.subject if test_copy else rendered.subject,
        text=rendered.text,
        html=rendered.html_parts,
        message_id=message_id,
        date=date,
        list_id=None if test_copy else settings.list_id,
        unsubscribe_url=None if test_copy else recipient.unsubscribe_url,
        extra_headers=extra,
    )


Sections = list[tuple[int, list[int]]]  # (topic id, article ids), display order


def stored_sections(session: Session, digest_ids: list[int]) -> dict[int, Sections]:
    """The article list each digest was built with (one query)."""
    result: dict[int, Sections] = defaultdict(list)
    rows = session.execute(
        select(DigestArticle.digest_id, DigestArticle.topic_id, DigestArticle.article_id)
        .where(id_in(DigestArticle.digest_id, digest_ids))
        .order_by(DigestArticle.digest_id, DigestArticle.position)
    )
    for digest_id, topic_id, article_id in rows:
        sections = result[digest_id]
        if not sections or sections[-1][0] != topic_id:
            sections.append((topic_id, []))
        sections[-1][1].append(article_id)
    return result


def contents(
    session: Session,
    digests: list[Digest],
    subscribers: dict[int, Subscriber],
    sections: dict[int, Sections] | None = None,
    *,
    site_language: str,
) -> dict[int, DigestContent]:
    """The content of each built digest: from ``sections`` when the caller has them
    in memory, else from the stored article lists, in each reader's language (else
    ``site_language``). The articles and topics are read once for the whole batch."""
    if sections is None:
        sections = stored_sections(session, [d.id for d in digests])
    article_ids = {a for d in digests for _, ids in sections.get(d.id, []) for a in ids}
    topic_ids = {t for d in digests for t, _ in sections.get(d.id, [])}
    views = {
        article.id: article_view(article)
        for article in session.scalars(
            select(Article).where(id_in(Article.id, article_ids)).options(lazyload(Article.topics))
        )
    }
    topics = {t.id: t for t in session.scalars(select(Topic).where(id_in(Topic.id, topic_ids)))}
    result = {}
    for d in digests:
        result[d.id] = DigestContent(
            sections=tuple(
                Section(topics[t].slug, topics[t].name, tuple(views[a] for a in ids))
                for t, ids in sections.get(d.id, [])
            ),
            slot_at=d.slot_at,
            timezone=subscribers[d.subscriber_id].timezone,
            weekly=d.includes_weekly,
            daily=d.includes_daily,
            language=supported(subscribers[d.subscriber_id].language) or site_language,
        )
    return result
