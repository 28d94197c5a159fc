"""The reader's own page: change choices, pause, download their data, be erased.

Every call takes the subscriber the signed link named; changes apply from the next
slot (never to one that has passed).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from digest.config import Settings, secret_key
from digest.db import audit
from digest.db.models import (
    Article,
    BounceEvent,
    Consent,
    Delivery,
    DeliveryAttempt,
    Digest,
    DigestArticle,
    ImportProblem,
    SentArticle,
    Subscriber,
    Subscription,
    id_in,
)
from digest.domain.consent import consent_wording
from digest.domain.schedule import WEEKDAYS
from digest.services.readers.choices import Choices, apply_choices, reschedule
from digest.services.readers.suppressing import suppress_erased
from digest.tokens import InvalidToken, link_stamp, read_token

PAUSE_WEEKS = (1, 2, 3, 4)


def subscriber_for(
    session: Session, settings: Settings, purpose: str, token: str
) -> Subscriber | None:
    """The subscriber a signed link names; None for a forged, foreign or stale link
    (e.g. the reader was erased and the id now belongs to someone else)."""
    try:
        subscriber_id, stamp = read_token(secret_key(settings), purpose, token)
    except InvalidToken:
        return None
    sub = session.get(Subscriber, subscriber_id)
    if sub is None or link_stamp(sub.created_at, sub.link_epoch or 0) != stamp:
        return None
    return sub


def replace_links(sub: Subscriber) -> None:
    """End every preferences and unsubscribe link the reader was ever sent (a "sign
    out everywhere"): the links in the next digest, and on the page the reader is
    sent to now, are the only ones that work."""
    sub.link_epoch = (sub.link_epoch or 0) + 1


def save(session: Session, sub: Subscriber, choices: Choices, now: datetime) -> None:
    """Make ``choices`` the subscriber's, from their next slot on."""
    apply_choices(session, sub, choices, now)


def pause(sub: Subscriber, weeks: int, now: datetime) -> None:
    """No digest for ``weeks`` weeks (1–4); 0 resumes at once."""
    if weeks not in (0, *PAUSE_WEEKS):
        raise ValueError(f"weeks must be 0 to 4 (got {weeks})")
    sub.paused_until = now + timedelta(weeks=weeks) if weeks else None
    reschedule(sub, now)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def export(session: Session, sub: Subscriber) -> dict[str, Any]:
    """Everything stored about the subscriber, as JSON-ready data."""
    consents = session.scalars(
        select(Consent).where(Consent.subscriber_id == sub.id).order_by(Consent.id)
    )
    digests = list(
        session.scalars(select(Digest).where(Digest.subscriber_id == sub.id).order_by(Digest.id))
    )
    deliveries = {
        d.digest_id: d
        for d in session.scalars(select(Delivery).where(Delivery.subscriber_id == sub.id))
    }
    articles: dict[int, list[dict[str, str]]] = {}
    for digest_id, title, url in session.execute(
        select(DigestArticle.digest_id, Article.title, Article.url)
        .join(Article, Article.id == DigestArticle.article_id)
        .join(Digest, Digest.id == DigestArticle.digest_id)
        .where(Digest.subscriber_id == sub.id)
        .order_by(DigestArticle.digest_id, DigestArticle.position)
    ):
        articles.setdefault(digest_id, []).append({"title": title, "url": url})
    sent = session.execute(
        select(Article.url, SentArticle.sent_at)
        .join(Article, Article.id == SentArticle.article_id)
        .where(SentArticle.subscriber_id == sub.id)
        .order_by(SentArticle.sent_at)
    )
    return {
        "subscriber": {
            "email": sub.email,
            "name": sub.name,
            "status": sub.status,
            "timezone": sub.timezone,
            "hour": sub.hour,
            "weekday": WEEKDAYS[sub.weekday],
            "language": sub.language,
            "created_at": _iso(sub.created_at),
            "confirmed_at": _iso(sub.confirmed_at),
            "unsubscribed_at": _iso(sub.unsubscribed_at),
            "paused_until": _iso(sub.paused_until),
            "next_slot_at": _iso(sub.next_slot_at),
        },
        "subscriptions": [
            {"topic": s.topic.slug, "name": s.topic.name, "frequency": s.frequency}
            for s in sub.subscriptions
        ],
        "consents": [
            {
                "requested_at": _iso(c.requested_at),
                "ip": c.ip,
                "user_agent": c.user_agent,
                "page": c.page,
                "wording_version": c.wording_version,
                "wording": consent_wording(c.wording_version),
                "choices": c.choices,
                "confirmation_sent_at": _iso(c.confirmation_sent_at),
                "confirmed_at": _iso(c.confirmed_at),
                "confirmed_ip": c.confirmed_ip,
                "confirmed_user_agent": c.confirmed_user_agent,
            }
            for c in consents
        ],
        "digests": [
            {
                "slot_at": _iso(d.slot_at),
                "status": d.status,
                "articles": articles.get(d.id, []),
                "delivery": None
                if d.id not in deliveries
                else {
                    "message_id": deliveries[d.id].message_id,
                    "status": deliveries[d.id].status,
                    "sent_at": _iso(deliveries[d.id].sent_at),
                    "bounce_kind": deliveries[d.id].bounce_kind,
                    "bounce_reason": deliveries[d.id].bounce_reason,
                    "bounced_at": _iso(deliveries[d.id].bounced_at),
                    "attempts": [
                        {
                            "at": _iso(a.attempted_at),
                            "outcome": a.outcome,
                            "code": a.code,
                            "text": a.text,
                        }
                        for a in deliveries[d.id].attempt_log
                    ],
                },
            }
            for d in digests
        ],
        "articles_received": [{"url": url, "sent_at": _iso(at)} for url, at in sent],
        "bounces": [
            {
                "received_at": _iso(e.received_at),
                "kind": e.kind,
                "reason": e.reason,
                "status": e.status,
                "recipient": e.recipient,
                "diagnostic": e.diagnostic,
                "reporter": e.reporter,
                "source": e.source,
                "matched_by": e.matched_by,
                "outcome": e.outcome,
            }
            for e in session.scalars(
                select(BounceEvent)
                # Also reports that named the address before it was a subscriber's.
                .where(
                    (BounceEvent.subscriber_id == sub.id)
                    | (func.lower(BounceEvent.recipient) == sub.email.lower())
                )
                .order_by(BounceEvent.received_at, BounceEvent.id)
            )
        ],
    }


def erase(session: Session, sub: Subscriber, now: datetime) -> None:
    """Delete the subscriber and everything about them; only a hash of the address
    stays, on the suppression list, so that no import re-adds them silently."""
    email, sid = sub.email, sub.id
    audit.note(
        session,
        "delete",
        "subscriber",
        sid,
        f"subscriber #{sid} erased with their data",
        before={"status": sub.status, "topics": sorted(s.topic.slug for s in sub.subscriptions)},
    )
    audit.erase_subscriber(session, sid)
    delivery_ids = select(Delivery.id).where(Delivery.subscriber_id == sid).scalar_subquery()
    # Explicit deletes, children first: the same on every database, whatever its
    # foreign-key enforcement.
    for statement in (
        # Also the reports that named the address but matched no subscriber then.
        delete(BounceEvent).where(
            (BounceEvent.subscriber_id == sid)
            | (func.lower(BounceEvent.recipient) == email.lower())
        ),
        delete(DeliveryAttempt).where(DeliveryAttempt.delivery_id.in_(delivery_ids)),
        delete(Delivery).where(Delivery.subscriber_id == sid),
        delete(SentArticle).where(SentArticle.subscriber_id == sid),
    ):
        session.execute(statement.execution_options(synchronize_session=False))
    # The digests first, then their article lists by the ids deleted: a batch being
    # built holds its digests locked with its article lists not yet committed, so
    # this waits for it and then also removes what it wrote.
    digest_ids = session.scalars(
        delete(Digest)
        .where(Digest.subscriber_id == sid)
        .returning(Digest.id)
        .execution_options(synchronize_session=False)
    ).all()
    for statement in (
        delete(DigestArticle).where(id_in(DigestArticle.digest_id, digest_ids)),
        delete(Consent).where(Consent.subscriber_id == sid),
        delete(Subscription).where(Subscription.subscriber_id == sid),
        delete(Subscriber).where(Subscriber.id == sid),
    ):
        session.execute(statement.execution_options(synchronize_session=False))
    # An import's report of refused rows may quote the address.
    session.execute(
        delete(ImportProblem)
        .where(func.lower(ImportProblem.reason).contains(email, autoescape=True))
        .execution_options(synchronize_session=False)
    )
    session.expunge(sub)
    suppress_erased(session, email, now)
