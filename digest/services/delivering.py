"""Delivering: claim deliveries, render and send them over one SMTP connection,
and record every attempt.

Exactly-once rests on two things: a delivery is claimed by a conditional update
(only one worker can move it from queued/deferred to sending), and its outcome is
recorded only while it is still that worker's claim (row locked, still 'sending'),
in the same transaction as the sent-ledger. Outcomes are recorded in small groups,
a fixed number of statements per group.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, selectinload

from digest.config import Settings
from digest.db.bulk import insert_rows, update_rows
from digest.db.engine import unit_of_work
from digest.db.models import (
    Delivery,
    DeliveryAttempt,
    Digest,
    DigestArticle,
    SentArticle,
    Subscriber,
    Suppression,
    UTCDateTime,
    id_in,
    table_of,
)
from digest.domain import delivery as rules
from digest.domain.consent import address_hash
from digest.domain.delivery import Reply
from digest.mail.sender import Sender
from digest.services import metrics
from digest.services.building import Built
from digest.services.composing import contents
from digest.services.outgoing import Outgoing, outgoing_for
from digest.services.suppressing import suppressed_among

Clock = Callable[[], datetime]
# A claim older than this is taken to belong to a worker that died mid-send.
CLAIM_LEASE = timedelta(minutes=15)
# Replies are recorded in groups, one transaction for up to RECORD_EVERY attempts and
# never later than RECORD_WITHIN after the oldest of them: a worker killed between a
# relay's reply and its recording leaves at most that many deliveries to be sent again
# when their claim expires.
RECORD_EVERY = 50
RECORD_WITHIN = 1.0
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
            id_in(Delivery.id, ids),
            or_(
                Delivery.status == rules.QUEUED,
                (Delivery.status == rules.DEFERRED) & (Delivery.next_attempt_at <= now),
            ),
        )
        .values(status=rules.SENDING, claimed_at=now, updated_at=now)
        .returning(Delivery.id)
    )
    return sorted(session.scalars(stmt))


def prepare(session: Session, ids: list[int], settings: Settings, now: datetime) -> list[Outgoing]:
    """Render the claimed deliveries; addresses that may no longer be mailed are
    marked blocked (checked again here, at send time, not only when planned)."""
    deliveries = list(
        session.scalars(select(Delivery).where(id_in(Delivery.id, ids)).order_by(Delivery.id))
    )
    digests = {
        d.id: d
        for d in session.scalars(
            select(Digest).where(id_in(Digest.id, [x.digest_id for x in deliveries]))
        )
    }
    subs = {
        s.id: s
        for s in session.scalars(
            select(Subscriber)
            .where(id_in(Subscriber.id, [x.subscriber_id for x in deliveries]))
            .options(selectinload(Subscriber.subscriptions))
        )
    }
    suppressed = suppressed_among(session, [x.email for x in deliveries])
    content = contents(session, list(digests.values()), subs)
    out = []
    for delivery in deliveries:
        sub = subs[delivery.subscriber_id]
        blocked = delivery.email in suppressed or sub.email in suppressed
        reason = rules.why_not_send(sub.status, sub.paused_until, blocked, now)
        if reason is not None:
            out.append(Outgoing(delivery.id, delivery.email, None, reason))
        else:
            out.append(
                outgoing_for(
                    delivery.id,
                    delivery.email,
                    delivery.message_id,
                    sub,
                    content[delivery.digest_id],
                    settings,
                    now,
                )
            )
    return out


def prepare_built(
    session: Session, built: list[Built], settings: Settings, now: datetime
) -> list[Outgoing]:
    """Render digests just built and claimed in this transaction, from what building
    already holds in memory (their subscribers were checked as they were built)."""
    content = contents(
        session,
        [b.digest for b in built],
        {b.subscriber.id: b.subscriber for b in built},
        {b.digest.id: b.sections for b in built},
    )
    return [
        outgoing_for(
            b.delivery_id,
            b.subscriber.email,
            b.message_id,
            b.subscriber,
            content[b.digest.id],
            settings,
            now,
        )
        for b in built
    ]


def _insert(session: Session) -> Callable[..., Any]:
    """The dialect's INSERT, which has ON CONFLICT DO NOTHING."""
    dialect = session.get_bind().dialect.name
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def _suppress(session: Session, email: str, reason: str, detail: str, now: datetime) -> None:
    session.execute(
        _insert(session)(Suppression)
        .values(
            email_hash=address_hash(email),
            email=email,
            reason=reason,
            detail=detail,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["email_hash"])
    )


@dataclass(frozen=True)
class Attempt:
    """What happened to one claimed delivery: the relay's reply, or why it was not
    sent at all; ``seconds`` is how long the relay took, when it was asked."""

    delivery_id: int
    reply: Reply | None
    blocked: str | None = None
    seconds: float | None = None


def record(
    session: Session, attempts: list[Attempt], settings: Settings, now: datetime
) -> dict[int, str]:
    """Store the outcomes of several attempts and move their deliveries, with a fixed
    number of statements whatever their number; returns each delivery's new status
    ('lost-claim' for one that is no longer ours to record)."""
    if not attempts:
        return {}
    ids = [a.delivery_id for a in attempts]
    current = {
        row.id: row
        for row in session.execute(
            select(
                Delivery.id,
                Delivery.status,
                Delivery.attempts,
                Delivery.created_at,
                Delivery.digest_id,
                Delivery.subscriber_id,
                Delivery.email,
            )
            .where(id_in(Delivery.id, ids))
            .with_for_update()
        )
    }
    statuses: dict[int, str] = {}
    changes: list[dict[str, object]] = []
    attempt_rows: list[dict[str, object]] = []
    digest_changes: list[dict[str, object]] = []
    sent_digests: dict[int, int] = {}  # digest id -> subscriber id
    bounced: list[tuple[int, str, str]] = []
    for attempt in attempts:
        row = current.get(attempt.delivery_id)
        if row is None or row.status != rules.SENDING:
            statuses[attempt.delivery_id] = "lost-claim"
            continue
        reply = attempt.reply
        count = row.attempts
        change: dict[str, object] = {
            "id": row.id,
            "updated_at": now,
            "claimed_at": None,
            "next_attempt_at": None,
            "sent_at": None,
        }
        if attempt.blocked is not None:
            status, text = rules.FAILED, f"not sent: {attempt.blocked}"
            change.update(last_code=None, last_enhanced_code=None)
        else:
            assert reply is not None
            status, text, count = rules.outcome(reply), reply.text, count + 1
            change.update(last_code=reply.code, last_enhanced_code=reply.enhanced_code)
            attempt_rows.append(
                {
                    "delivery_id": row.id,
                    "attempted_at": now,
                    "outcome": status,
                    "code": reply.code,
                    "enhanced_code": reply.enhanced_code,
                    "text": reply.text,
                }
            )
        if status == rules.DEFERRED:
            when = rules.next_attempt_at(
                first_queued_at=row.created_at,
                attempts=count,
                now=now,
                first_delay=settings.retry_first_delay,
                max_age=settings.retry_max_age,
            )
            if when is None:
                status, text = rules.FAILED, f"gave up after {count} attempts: {text}"
            change["next_attempt_at"] = when
        if status == rules.SENT:
            change["sent_at"] = now
            sent_digests[row.digest_id] = row.subscriber_id
        elif status == rules.FAILED:
            digest_changes.append({"id": row.digest_id, "status": "failed", "reason": text})
            if reply is not None and rules.is_hard_bounce(reply):
                bounced.append((row.subscriber_id, row.email, reply.text))
        change.update(status=status, attempts=count, last_text=text)
        changes.append(change)
        statuses[row.id] = status
    update_rows(session, table_of(Delivery), changes)
    insert_rows(session, table_of(DeliveryAttempt), attempt_rows)
    if sent_digests:
        _insert_ledger(session, list(sent_digests), now)
        session.execute(update(Digest).where(id_in(Digest.id, sent_digests)).values(status="sent"))
    update_rows(session, table_of(Digest), digest_changes)
    for subscriber_id, email, text in bounced:
        _suppress(session, email, "hard_bounce", text, now)
        session.execute(
            update(Subscriber)
            .where(Subscriber.id == subscriber_id, Subscriber.status == "active")
            .values(status="bounced")
        )
    # Last, so the shared totals stay locked for the shortest time.
    outcomes = Counter(statuses.values())
    metrics.add(
        session,
        {
            **{metrics.digests(s): outcomes[s] for s in (rules.SENT, rules.DEFERRED, rules.FAILED)},
            **metrics.latencies(a.seconds for a in attempts if a.seconds is not None),
        },
    )
    return statuses


def _insert_ledger(session: Session, digest_ids: list[int], now: datetime) -> None:
    """The sent-ledger rows of the digests just sent: every article each one carried,
    copied inside the database in one statement."""
    ledger = table_of(SentArticle)
    rows = (
        select(Digest.subscriber_id, DigestArticle.article_id, Digest.id, literal(now, UTCDateTime))
        .join(Digest, Digest.id == DigestArticle.digest_id)
        .where(id_in(DigestArticle.digest_id, digest_ids))
    )
    session.execute(
        _insert(session)(ledger)
        .from_select(["subscriber_id", "article_id", "digest_id", "sent_at"], rows)
        .on_conflict_do_nothing()
    )


def send_deliveries(
    database_url: str, ids: list[int], settings: Settings, sender: Sender, clock: Clock
) -> SendReport:
    """Send the deliveries among ``ids`` that are ready, over one connection."""
    if not ids:
        return SendReport()
    with unit_of_work(database_url) as session:
        claimed = claim(session, ids, clock())
    if not claimed:
        return SendReport(not_claimed=len(ids))
    with unit_of_work(database_url) as session:
        outgoing = prepare(session, claimed, settings, clock())
    report = send_outgoing(database_url, outgoing, settings, sender, clock)
    report.not_claimed = len(ids) - len(claimed)
    return report


def send_outgoing(
    database_url: str, outgoing: list[Outgoing], settings: Settings, sender: Sender, clock: Clock
) -> SendReport:
    """Send claimed, rendered deliveries over one connection and record the outcomes
    in groups as the relay answers."""
    report = SendReport()
    pending: list[Attempt] = []
    oldest = 0.0

    def flush() -> None:
        if not pending:
            return
        with unit_of_work(database_url) as session:
            statuses = record(session, pending, settings, clock())
        pending.clear()
        for delivery_id, status in statuses.items():
            report.outcomes[delivery_id] = status
            if status == rules.SENT:
                report.sent += 1
            elif status == rules.DEFERRED:
                report.deferred += 1
            elif status == rules.FAILED:
                report.failed += 1

    try:
        with sender.session() as conn:
            for item in outgoing:
                reply, seconds = None, None
                if item.data is not None:
                    started = time.perf_counter()
                    sender_addr = item.return_path or settings.from_address
                    reply = conn.send(sender_addr, item.to_addr, item.data)
                    seconds = time.perf_counter() - started
                if not pending:
                    oldest = time.monotonic()
                pending.append(Attempt(item.delivery_id, reply, item.blocked, seconds))
                if len(pending) >= RECORD_EVERY or time.monotonic() - oldest >= RECORD_WITHIN:
                    flush()
    finally:
        # Whatever stopped the loop, what the relay already answered is recorded.
        flush()
    return report
