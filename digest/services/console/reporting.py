"""Read-only views of delivery state, for the CLI, the admin pages and the API."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import String, case, distinct, func, select
from sqlalchemy.orm import Session, selectinload

from digest.config import Settings
from digest.db.models import Delivery, DeliveryAttempt, Digest, Feed, Subscriber
from digest.domain import delivery as rules
from digest.services.sending.controls import pause_state
from digest.services.sending.healing import next_probe_at
from digest.services.sending.journal import JournalError, journal_of

OUTCOMES = ("sent", "deferred", "failed", "bounced", "skipped")


def list_deliveries(
    session: Session, *, status: str | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    """Deliveries, newest first, each with every attempt (time, code, enhanced code, text)."""
    query = (
        select(Delivery)
        .options(selectinload(Delivery.attempt_log))
        .order_by(Delivery.id.desc())
        .limit(limit)
    )
    if status:
        query = query.where(Delivery.status == status)
    return [
        {
            "id": d.id,
            "digest_id": d.digest_id,
            "email": d.email,
            "message_id": d.message_id,
            "status": d.status,
            "attempts": d.attempts,
            "next_attempt_at": d.next_attempt_at,
            "sent_at": d.sent_at,
            "last_code": d.last_code,
            "last_enhanced_code": d.last_enhanced_code,
            "last_text": d.last_text,
            "attempt_log": [
                {
                    "attempted_at": a.attempted_at,
                    "outcome": a.outcome,
                    "code": a.code,
                    "enhanced_code": a.enhanced_code,
                    "text": a.text,
                }
                for a in d.attempt_log
            ],
        }
        for d in session.scalars(query)
    ]


def counts(session: Session, settings: Settings | None = None) -> dict[str, Any]:
    """Subscribers and deliveries by status, and whether sending is paused: since
    when, by whom (an operator, or the circuit breaker) and, when it paused by
    itself, why and (given the settings) when it next tries a few messages."""
    subscribers = dict(
        session.execute(select(Subscriber.status, func.count()).group_by(Subscriber.status)).all()
    )
    deliveries = dict(
        session.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all()
    )
    pause = pause_state(session)
    return {
        "subscribers": {k: int(v) for k, v in sorted(subscribers.items())},
        "deliveries": {k: int(v) for k, v in sorted(deliveries.items())},
        "sending_paused": pause.paused,
        "sending_paused_by": pause.by,
        "sending_paused_at": pause.at,
        "sending_paused_reason": pause.reason,
        "breaker_next_probe_at": next_probe_at(session, settings) if settings else None,
        "replies_unrecorded": unrecorded_replies(settings) if settings else None,
    }


def unrecorded_replies(settings: Settings) -> int | None:
    """Deliveries the relay accepted (or answered) whose reply is still only in the
    reply journal: a worker records them within a second or two, the sweep when the
    worker could not; None when the journal cannot be read."""
    try:
        return len(journal_of(settings).entries())
    except JournalError:
        return None


def utc_day(session: Session, column: Any) -> Any:
    """``column``'s UTC calendar day as ``YYYY-MM-DD`` text, computed in the database.
    Timestamps are stored as naive UTC, so the day needs no time-zone conversion."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(column, "YYYY-MM-DD", type_=String)
    return func.date(column, type_=String)


def _is_hard_bounce() -> Any:
    """SQL for "the delivery was refused as a hard bounce": the kind the one bounce
    classifier gave the relay's refusal (:func:`digest.bounces.classify.judge_reply`)."""
    return Delivery.bounce_kind == "hard"


def daily_outcomes(session: Session, now: datetime, days: int = 30) -> list[dict[str, Any]]:
    """What happened on each of the last ``days`` UTC days up to ``now``'s, oldest
    first, every day present (zeros included):

    - ``sent``: deliveries whose ``sent_at`` falls that day;
    - ``deferred``: distinct deliveries with at least one attempt that day that the
      relay deferred (4xx, or no reply);
    - ``failed``: deliveries that are failed and failed that day (``updated_at``),
      other than hard bounces: 5xx replies, retries given up, addresses blocked at
      send time;
    - ``bounced``: deliveries that are failed with a hard bounce (the relay's refusal
      said the address is gone) that day,
      and deliveries the relay accepted whose hard bounce came back that day;
    - ``skipped``: digests recorded as skipped that day (nothing new, or the
      subscriber could not be mailed), by when that was decided.

    ``failed`` and ``bounced`` never count the same delivery. A delivery deferred and
    then sent counts in both ``deferred`` and ``sent``. A failed delivery that an
    operator retries leaves ``failed`` and counts on the day of its new outcome.
    """
    if days < 1:
        raise ValueError(f"days must be at least 1 (got {days})")
    today = now.astimezone(UTC).date()
    first = datetime.combine(today - timedelta(days=days - 1), time(), UTC)
    end = first + timedelta(days=days)
    table: dict[str, dict[str, Any]] = {}
    for i in range(days):
        day = (first + timedelta(days=i)).date().isoformat()
        table[day] = {"day": day, **dict.fromkeys(OUTCOMES, 0)}

    def add(kind: str, rows: Any) -> None:
        for day, n in rows:
            if day in table:
                table[day][kind] += int(n or 0)

    sent_day = utc_day(session, Delivery.sent_at)
    add(
        "sent",
        session.execute(
            select(sent_day, func.count())
            .where(Delivery.sent_at >= first, Delivery.sent_at < end)
            .group_by(sent_day)
        ),
    )
    attempt_day = utc_day(session, DeliveryAttempt.attempted_at)
    add(
        "deferred",
        session.execute(
            select(attempt_day, func.count(distinct(DeliveryAttempt.delivery_id)))
            .where(
                DeliveryAttempt.outcome == rules.DEFERRED,
                DeliveryAttempt.attempted_at >= first,
                DeliveryAttempt.attempted_at < end,
            )
            .group_by(attempt_day)
        ),
    )
    failed_day = utc_day(session, Delivery.updated_at)
    bounces = func.sum(case((_is_hard_bounce(), 1), else_=0))
    failures = session.execute(
        select(failed_day, func.count(), bounces)
        .where(
            Delivery.status == rules.FAILED,
            Delivery.updated_at >= first,
            Delivery.updated_at < end,
        )
        .group_by(failed_day)
    ).all()
    add("failed", [(day, total - (bounced or 0)) for day, total, bounced in failures])
    add("bounced", [(day, bounced) for day, _, bounced in failures])
    bounced_day = utc_day(session, Delivery.bounced_at)
    add(
        "bounced",
        session.execute(
            select(bounced_day, func.count())
            .where(
                Delivery.status == rules.SENT,  # a failed one is counted above
                Delivery.bounce_kind == "hard",
                Delivery.bounced_at >= first,
                Delivery.bounced_at < end,
            )
            .group_by(bounced_day)
        ),
    )
    decided = func.coalesce(Digest.built_at, Digest.created_at)
    skipped_day = utc_day(session, decided)
    add(
        "skipped",
        session.execute(
            select(skipped_day, func.count())
            .where(Digest.status == "skipped", decided >= first, decided < end)
            .group_by(skipped_day)
        ),
    )
    return list(table.values())


def queued_now(session: Session) -> dict[str, int]:
    """Work waiting right now: deliveries queued, being sent (claimed by a worker)
    and deferred until a later attempt, and digests planned but not built yet."""
    by_status = dict(
        session.execute(
            select(Delivery.status, func.count())
            .where(Delivery.status.in_([rules.QUEUED, rules.SENDING, rules.DEFERRED]))
            .group_by(Delivery.status)
        ).all()
    )
    planned = session.scalar(
        select(func.count()).select_from(Digest).where(Digest.status == "planned")
    )
    return {
        "queued": int(by_status.get(rules.QUEUED, 0)),
        "sending": int(by_status.get(rules.SENDING, 0)),
        "deferred": int(by_status.get(rules.DEFERRED, 0)),
        "planned": int(planned or 0),
    }


def next_slots(session: Session, now: datetime, limit: int = 10) -> list[dict[str, Any]]:
    """The earliest distinct slot times of active subscribers, each with how many
    subscribers it holds. Slots already past are kept and marked ``due``: they are
    planned at the next tick (or when sending is resumed)."""
    rows = session.execute(
        select(Subscriber.next_slot_at, func.count())
        .where(Subscriber.status == "active", Subscriber.next_slot_at.is_not(None))
        .group_by(Subscriber.next_slot_at)
        .order_by(Subscriber.next_slot_at)
        .limit(limit)
    ).all()
    return [
        {"slot_at": at, "subscribers": int(n), "due": at is not None and at <= now}
        for at, n in rows
    ]


def latest_errors(session: Session, limit: int = 20) -> dict[str, list[dict[str, Any]]]:
    """The newest deferred or failed delivery attempts, each with its SMTP reply and
    a link to the subscriber's page, and the feeds whose last fetch failed."""
    # Newest by id: attempts are numbered in the order they are recorded, and walking
    # the primary key backwards stops after ``limit`` rows instead of sorting them all.
    attempts = session.execute(
        select(
            DeliveryAttempt.attempted_at,
            DeliveryAttempt.outcome,
            DeliveryAttempt.code,
            DeliveryAttempt.enhanced_code,
            DeliveryAttempt.text,
            Delivery.email,
            Delivery.subscriber_id,
        )
        .join(Delivery, Delivery.id == DeliveryAttempt.delivery_id)
        .where(DeliveryAttempt.outcome.in_([rules.DEFERRED, rules.FAILED]))
        .order_by(DeliveryAttempt.id.desc())
        .limit(limit)
    ).all()
    feeds = session.execute(
        select(Feed.url, Feed.last_fetched_at, Feed.last_status, Feed.last_error, Feed.error_count)
        .where(Feed.error_count > 0, Feed.last_error.is_not(None))
        .order_by(Feed.last_fetched_at.desc().nulls_last(), Feed.id)
        .limit(limit)
    ).all()
    return {
        "attempts": [
            {
                "attempted_at": a.attempted_at,
                "outcome": a.outcome,
                "email": a.email,
                "code": a.code,
                "enhanced_code": a.enhanced_code,
                "text": a.text,
                "subscriber_url": f"/admin/subscribers/{a.subscriber_id}",
            }
            for a in attempts
        ],
        "feeds": [
            {
                "url": f.url,
                "fetched_at": f.last_fetched_at,
                "status": f.last_status,
                "error": f.last_error,
                "failures": int(f.error_count),
            }
            for f in feeds
        ],
    }
