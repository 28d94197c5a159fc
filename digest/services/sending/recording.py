"""Recording what happened to claimed deliveries: each SMTP attempt's reply, or why
a delivery was not sent (blocked) or not sent yet (postponed).

An outcome is recorded only while the delivery is still the recording worker's claim
(row locked, still 'sending'), in the same transaction as the sent-ledger, with a
fixed number of statements whatever the number of attempts, but for refusals: a 5xx
reply is a bounce like any report that comes back later, so each becomes a
``bounce_events`` row (source ``relay``) with its reason from the one classifier
(:func:`digest.bounces.classify.judge_reply`) and meets the same bounce policy
(:mod:`digest.services.readers.bouncing`).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import literal, select, update
from sqlalchemy.orm import Session

from digest.bounces.bounce import one_line
from digest.bounces.classify import judge_reply
from digest.config import Settings
from digest.db.bulk import insert_rows, update_rows, upsert_insert
from digest.db.models import (
    BounceEvent,
    Delivery,
    DeliveryAttempt,
    Digest,
    DigestArticle,
    SentArticle,
    Subscriber,
    UTCDateTime,
    id_in,
    table_of,
)
from digest.domain import delivery as rules
from digest.domain.delivery import Reply
from digest.domain.text import counted
from digest.services import metrics
from digest.services.readers.bouncing import apply_policy


@dataclass(frozen=True)
class Postponement:
    """A claimed delivery kept back without asking the relay (a sending limit has no
    room now, or sending was paused): it goes back to deferred until ``until``,
    with ``reason`` as its last text, and no attempt is counted."""

    reason: str
    until: datetime


@dataclass(frozen=True)
class Attempt:
    """What happened to one claimed delivery: the relay's reply, why it was not
    sent at all (``blocked``: failed) or why not yet (``postponed``: deferred);
    ``seconds`` is how long the relay took, when it was asked."""

    delivery_id: int
    reply: Reply | None
    blocked: str | None = None
    seconds: float | None = None
    postponed: Postponement | None = None
    session_failed: bool = False  # the reply is about the session, not the message


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
    refused: list[_Refusal] = []
    postponed: set[int] = set()
    for attempt in attempts:
        row = current.get(attempt.delivery_id)
        if row is None or row.status != rules.SENDING:
            statuses[attempt.delivery_id] = "lost-claim"
            continue
        if attempt.postponed is not None and now - row.created_at < settings.retry_max_age:
            changes.append(_postponed(row.id, row.attempts, attempt.postponed, now))
            statuses[row.id] = rules.DEFERRED
            postponed.add(row.id)
            continue
        if attempt.postponed is not None:
            # Held back for as long as a delivery is tried at all: it ends as failed,
            # like one whose attempts ran out, with the reason it was held.
            text = f"gave up after {counted(row.attempts, 'attempt')}: {attempt.postponed.reason}"
            given_up = _postponed(row.id, row.attempts, attempt.postponed, now)
            given_up.update(status=rules.FAILED, next_attempt_at=None, last_text=text)
            changes.append(given_up)
            digest_changes.append({"id": row.digest_id, "status": "failed", "reason": text})
            statuses[row.id] = rules.FAILED
            postponed.add(row.id)  # not an attempt: the totals do not count it
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
            first_delay = settings.retry_first_delay
            if attempt.session_failed:
                first_delay = min(first_delay, rules.SESSION_RETRY)
            when = rules.next_attempt_at(
                first_queued_at=row.created_at,
                attempts=count,
                now=now,
                first_delay=first_delay,
                max_age=settings.retry_max_age,
            )
            if when is None:
                status, text = rules.FAILED, f"gave up after {counted(count, 'attempt')}: {text}"
            change["next_attempt_at"] = when
        if status == rules.SENT:
            change["sent_at"] = now
            sent_digests[row.digest_id] = row.subscriber_id
        elif status == rules.FAILED:
            digest_changes.append({"id": row.digest_id, "status": "failed", "reason": text})
            if reply is not None and rules.is_permanent(reply):
                refused.append(_Refusal(row.id, row.subscriber_id, row.email, count, reply))
        change.update(status=status, attempts=count, last_text=text)
        changes.append(change)
        statuses[row.id] = status
    update_rows(session, table_of(Delivery), changes)
    insert_rows(session, table_of(DeliveryAttempt), attempt_rows)
    if sent_digests:
        _insert_ledger(session, list(sent_digests), now)
        session.execute(update(Digest).where(id_in(Digest.id, sent_digests)).values(status="sent"))
    update_rows(session, table_of(Digest), digest_changes)
    _bounce(session, settings, refused, now)
    # Last, so the shared totals stay locked for the shortest time. They count
    # attempts: a postponed delivery was not attempted.
    outcomes = Counter(s for i, s in statuses.items() if i not in postponed)
    metrics.add(
        session,
        {
            **{metrics.digests(s): outcomes[s] for s in (rules.SENT, rules.DEFERRED, rules.FAILED)},
            **metrics.latencies(a.seconds for a in attempts if a.seconds is not None),
        },
    )
    return statuses


@dataclass(frozen=True)
class _Refusal:
    """A relay's permanent refusal of one delivery."""

    delivery_id: int
    subscriber_id: int
    email: str
    attempt: int
    reply: Reply


def _bounce(session: Session, settings: Settings, refused: list[_Refusal], now: datetime) -> None:
    """Each refusal as a bounce: its reason on the delivery, a bounce event, the
    policy applied (once per subscriber at a time, as for reports)."""
    if not refused:
        return
    judged = {r.delivery_id: judge_reply(r.reply.enhanced_code, r.reply.text) for r in refused}
    update_rows(
        session,
        table_of(Delivery),
        [
            {"id": i, "bounce_kind": kind, "bounce_reason": reason, "bounced_at": now}
            for i, (reason, kind) in judged.items()
        ],
    )
    subscribers = {
        sub.id: sub
        for sub in session.scalars(
            select(Subscriber)
            .where(id_in(Subscriber.id, {r.subscriber_id for r in refused}))
            .order_by(Subscriber.id)
            .with_for_update()
        )
    }
    for refusal in refused:
        reason, kind = judged[refusal.delivery_id]
        reply = refusal.reply
        subscriber = subscribers.get(refusal.subscriber_id)
        event_id = session.scalar(
            upsert_insert(session)(table_of(BounceEvent))
            .values(
                # One per refusal: a delivery retried by an operator counts its attempts on.
                fingerprint=hashlib.sha256(
                    f"relay\x00{refusal.delivery_id}\x00{refusal.attempt}".encode()
                ).hexdigest(),
                received_at=now,
                source="relay",
                kind=kind,
                reason=reason,
                how="smtp",
                recipient=refusal.email[:320],
                status=(reply.enhanced_code or "")[:16] or None,
                action="failed",
                diagnostic=one_line(f"{reply.code} {reply.text}"),
                matched_by="delivery",
                delivery_id=refusal.delivery_id,
                subscriber_id=None if subscriber is None else subscriber.id,
                outcome="" if subscriber is not None else "no subscriber matched",
            )
            .on_conflict_do_nothing(index_elements=["fingerprint"])
            .returning(BounceEvent.id)
        )
        if event_id is None or subscriber is None:
            continue  # recorded before, or the subscriber was erased meanwhile
        event = session.get_one(BounceEvent, event_id)
        event.outcome = apply_policy(session, settings, subscriber, refusal.email, event, now)


def _postponed(
    delivery_id: int, attempts: int, postponement: Postponement, now: datetime
) -> dict[str, object]:
    """The change that hands a claimed delivery back, deferred, without an attempt."""
    return {
        "id": delivery_id,
        "updated_at": now,
        "claimed_at": None,
        "next_attempt_at": postponement.until,
        "sent_at": None,
        "status": rules.DEFERRED,
        "attempts": attempts,
        "last_code": None,
        "last_enhanced_code": None,
        "last_text": postponement.reason,
    }


def _insert_ledger(session: Session, digest_ids: list[int], now: datetime) -> None:
    """The sent-ledger rows of the digests just sent: every article each one carried,
    copied inside the database in one statement."""
    ledger = table_of(SentArticle)
    rows = (
        select(Digest.subscriber_id, DigestArticle.article_id, Digest.id, literal(now, UTCDateTime))
        .join(Digest, Digest.id == DigestArticle.digest_id)
        # Both sides narrowed to the batch, so no plan reads every digest.
        .where(id_in(DigestArticle.digest_id, digest_ids), id_in(Digest.id, digest_ids))
    )
    session.execute(
        upsert_insert(session)(ledger)
        .from_select(["subscriber_id", "article_id", "digest_id", "sent_at"], rows)
        .on_conflict_do_nothing()
    )
