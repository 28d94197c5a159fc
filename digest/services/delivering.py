"""Delivering: claim deliveries, render and send them over one SMTP connection,
and record every attempt.

Exactly-once rests on two things: a delivery is claimed by a conditional update
(only one worker can move it from queued/deferred to sending), and the outcome is
recorded by another conditional update in the same transaction as the sent-ledger.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, selectinload

from digest.config import Settings
from digest.db.engine import unit_of_work
from digest.db.models import (
    Delivery,
    DeliveryAttempt,
    Digest,
    DigestArticle,
    SentArticle,
    Subscriber,
    Suppression,
)
from digest.domain import delivery as rules
from digest.domain.delivery import Reply
from digest.mail.message import build_message
from digest.mail.sender import Sender
from digest.rendering import render_digest
from digest.services.composing import contents, recipient_for

Clock = Callable[[], datetime]
# A claim older than this is taken to belong to a worker that died mid-send.
CLAIM_LEASE = timedelta(minutes=15)
# Work still waiting this long after it was queued has lost its task (e.g. the broker
# restarted empty) and is queued again by the sweep.
LOST_AFTER = timedelta(minutes=10)


@dataclass
class SendReport:
    sent: int = 0
    deferred: int = 0
    failed: int = 0
    not_claimed: int = 0
    outcomes: dict[int, str] = field(default_factory=dict)


def claim(session: Session, ids: list[int], now: datetime) -> list[int]:
    """Move the deliveries among ``ids`` that are ready to 'sending'; returns those."""
    stmt = (
        update(Delivery)
        .where(
            Delivery.id.in_(ids),
            or_(
                Delivery.status == rules.QUEUED,
                (Delivery.status == rules.DEFERRED) & (Delivery.next_attempt_at <= now),
            ),
        )
        .values(status=rules.SENDING, claimed_at=now, updated_at=now)
        .returning(Delivery.id)
    )
    return sorted(session.scalars(stmt))


@dataclass
class Outgoing:
    delivery_id: int
    to_addr: str
    data: bytes | None  # None: must not be sent (see `blocked`)
    blocked: str | None = None


def prepare(session: Session, ids: list[int], settings: Settings, now: datetime) -> list[Outgoing]:
    """Render the claimed deliveries; addresses that may no longer be mailed are
    marked blocked (checked again here, at send time, not only when planned)."""
    deliveries = list(
        session.scalars(select(Delivery).where(Delivery.id.in_(ids)).order_by(Delivery.id))
    )
    digests = {
        d.id: d
        for d in session.scalars(
            select(Digest).where(Digest.id.in_([x.digest_id for x in deliveries]))
        )
    }
    subs = {
        s.id: s
        for s in session.scalars(
            select(Subscriber)
            .where(Subscriber.id.in_([x.subscriber_id for x in deliveries]))
            .options(selectinload(Subscriber.subscriptions))
        )
    }
    suppressed = set(
        session.scalars(
            select(Suppression.email).where(Suppression.email.in_([x.email for x in deliveries]))
        )
    )
    content = contents(session, list(digests.values()), subs)
    out = []
    for delivery in deliveries:
        sub = subs[delivery.subscriber_id]
        if sub.status != "active":
            out.append(Outgoing(delivery.id, delivery.email, None, f"subscriber is {sub.status}"))
            continue
        if delivery.email in suppressed or sub.email in suppressed:
            out.append(Outgoing(delivery.id, delivery.email, None, "address is suppressed"))
            continue
        recipient = recipient_for(sub, settings)
        email = render_digest(
            content[delivery.digest_id],
            recipient,
            list_name=settings.list_name,
            base_url=settings.base_url,
        )
        data = build_message(
            from_header=settings.from_header,
            to_addr=delivery.email,
            to_name=sub.name,
            subject=email.subject,
            text=email.text,
            html=email.html,
            message_id=delivery.message_id,
            date=now,
            list_id=settings.list_id,
            unsubscribe_url=recipient.unsubscribe_url,
        )
        out.append(Outgoing(delivery.id, delivery.email, data))
    return out


def _insert_ledger(session: Session, digest_id: int, subscriber_id: int, now: datetime) -> None:
    article_ids = session.scalars(
        select(DigestArticle.article_id).where(DigestArticle.digest_id == digest_id)
    ).all()
    if not article_ids:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    rows = [
        {"subscriber_id": subscriber_id, "article_id": a, "digest_id": digest_id, "sent_at": now}
        for a in article_ids
    ]
    session.execute(insert(SentArticle).values(rows).on_conflict_do_nothing())


def _suppress(session: Session, email: str, reason: str, detail: str, now: datetime) -> None:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(
        insert(Suppression)
        .values(email=email, reason=reason, detail=detail, created_at=now)
        .on_conflict_do_nothing(index_elements=["email"])
    )


def record(
    session: Session,
    delivery_id: int,
    reply: Reply | None,
    settings: Settings,
    now: datetime,
    blocked: str | None = None,
) -> str:
    """Store the outcome of one attempt (or of a blocked send) and move the state."""
    delivery = session.get(Delivery, delivery_id, with_for_update=True)
    if delivery is None or delivery.status != rules.SENDING:
        return "lost-claim"
    if blocked is not None:
        status, text = rules.FAILED, f"not sent: {blocked}"
        delivery.last_text = text
    else:
        assert reply is not None
        status = rules.outcome(reply)
        delivery.attempts += 1
        delivery.last_code, delivery.last_enhanced_code = reply.code, reply.enhanced_code
        delivery.last_text = reply.text
        session.add(
            DeliveryAttempt(
                delivery_id=delivery.id,
                attempted_at=now,
                outcome=status,
                code=reply.code,
                enhanced_code=reply.enhanced_code,
                text=reply.text,
            )
        )
    delivery.updated_at, delivery.claimed_at = now, None
    if status == rules.DEFERRED:
        when = rules.next_attempt_at(
            first_queued_at=delivery.created_at,
            attempts=delivery.attempts,
            now=now,
            first_delay=settings.retry_first_delay,
            max_age=settings.retry_max_age,
        )
        if when is None:
            status = rules.FAILED
            delivery.last_text = f"gave up after {delivery.attempts} attempts: {delivery.last_text}"
        delivery.next_attempt_at = when
    delivery.status = status
    if status == rules.SENT:
        delivery.sent_at, delivery.next_attempt_at = now, None
        _insert_ledger(session, delivery.digest_id, delivery.subscriber_id, now)
        session.execute(update(Digest).where(Digest.id == delivery.digest_id).values(status="sent"))
    elif status == rules.FAILED:
        delivery.next_attempt_at = None
        session.execute(
            update(Digest)
            .where(Digest.id == delivery.digest_id)
            .values(status="failed", reason=delivery.last_text)
        )
        if reply is not None and rules.is_hard_bounce(reply):
            _suppress(session, delivery.email, "hard_bounce", reply.text, now)
            session.execute(
                update(Subscriber)
                .where(Subscriber.id == delivery.subscriber_id, Subscriber.status == "active")
                .values(status="bounced")
            )
    return status


def send_deliveries(
    database_url: str, ids: list[int], settings: Settings, sender: Sender, clock: Clock
) -> SendReport:
    """Send the deliveries among ``ids`` that are ready, over one connection."""
    report = SendReport()
    if not ids:
        return report
    with unit_of_work(database_url) as session:
        claimed = claim(session, ids, clock())
    report.not_claimed = len(ids) - len(claimed)
    if not claimed:
        return report
    with unit_of_work(database_url) as session:
        outgoing = prepare(session, claimed, settings, clock())
    with sender.session() as conn:
        for item in outgoing:
            reply = None
            if item.data is not None:
                reply = conn.send(settings.from_address, item.to_addr, item.data)
            with unit_of_work(database_url) as session:
                status = record(session, item.delivery_id, reply, settings, clock(), item.blocked)
            report.outcomes[item.delivery_id] = status
            if status == rules.SENT:
                report.sent += 1
            elif status == rules.DEFERRED:
                report.deferred += 1
            elif status == rules.FAILED:
                report.failed += 1
    return report
