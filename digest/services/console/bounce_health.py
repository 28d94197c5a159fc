"""Bounces by reason and the sender's health, for the dashboard and the API: what
the bounce reports of the last days say, and whether they blame our sending."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from digest.db.models import BounceEvent
from digest.domain.bounce_policy import DESCRIPTIONS, REASONS, SENDER_SIDE

# The reasons in words, and their order in REASONS (which breaks ties between counts).
_WORDS: dict[str, str] = {reason: words for reason, words in DESCRIPTIONS.items()}
_ORDER: dict[str, int] = {reason: i for i, reason in enumerate(REASONS)}


def reason_words(reason: str | None) -> str:
    """``reason`` in words, for pages; None is the reason of events stored before
    reasons were recorded."""
    if reason is None:
        return "stored before bounce reasons were recorded"
    return _WORDS.get(reason, "not a known reason")


def _reason_row(reason: str | None, count: int) -> dict[str, Any]:
    return {
        "reason": reason,
        "description": reason_words(reason),
        "count": count,
        "sender_side": reason in SENDER_SIDE,
    }


def _by_count(rows: Any) -> list[dict[str, Any]]:
    """``(reason, count)`` rows, most first; a tie in the order of REASONS, unknown
    reasons after the known ones, events without a reason last."""

    def key(row: tuple[str | None, int]) -> tuple[int, int, str]:
        reason, n = row
        rank = len(_ORDER) + 1 if reason is None else _ORDER.get(reason, len(_ORDER))
        return (-n, rank, reason or "")

    counted = sorted(((reason, int(n)) for reason, n in rows), key=key)
    return [_reason_row(reason, n) for reason, n in counted]


def bounce_reasons(session: Session, now: datetime, days: int = 30) -> list[dict[str, Any]]:
    """How many bounce events of each reason were received in the ``days`` up to
    ``now``, most first: each with ``reason`` (None for events stored before reasons
    were recorded), ``description`` in words, ``count`` and ``sender_side`` (the
    reason blames our sending, not the reader's address). Reasons without an event
    are left out."""
    if days < 1:
        raise ValueError(f"days must be at least 1 (got {days})")
    rows = session.execute(
        select(BounceEvent.reason, func.count())
        .where(
            BounceEvent.received_at > now - timedelta(days=days),
            BounceEvent.received_at <= now,
        )
        .group_by(BounceEvent.reason)
    ).all()
    return _by_count(rows)


def sender_health(
    session: Session, now: datetime, days: int = 7, *, personal: bool = True
) -> dict[str, Any] | None:
    """The reports of the ``days`` up to ``now`` that blame our sending (a reason in
    :data:`~digest.domain.bounce_policy.SENDER_SIDE`: our IP, name, authentication or
    content refused), or None when there was none: ``total``, ``reasons`` (counts as
    in :func:`bounce_reasons`) and the ``latest`` one (when, reason, kind, source,
    reporter, diagnostic, recipient). Without ``personal`` (for editors) the latest
    one's diagnostic and recipient, which may name a reader, are None."""
    if days < 1:
        raise ValueError(f"days must be at least 1 (got {days})")
    since = (now - timedelta(days=days)).astimezone(UTC)
    window = (
        BounceEvent.reason.in_(sorted(SENDER_SIDE)),
        BounceEvent.received_at > since,
        BounceEvent.received_at <= now,
    )
    rows = session.execute(
        select(BounceEvent.reason, func.count()).where(*window).group_by(BounceEvent.reason)
    ).all()
    if not rows:
        return None
    latest = session.execute(
        select(
            BounceEvent.received_at,
            BounceEvent.reason,
            BounceEvent.kind,
            BounceEvent.source,
            BounceEvent.reporter,
            BounceEvent.diagnostic,
            BounceEvent.recipient,
        )
        .where(*window)
        .order_by(BounceEvent.received_at.desc(), BounceEvent.id.desc())
        .limit(1)
    ).one()
    reasons = _by_count(rows)
    return {
        "days": days,
        "since": since,
        "total": sum(r["count"] for r in reasons),
        "reasons": reasons,
        "latest": {
            "received_at": latest.received_at,
            "reason": latest.reason,
            "description": reason_words(latest.reason),
            "kind": latest.kind,
            "source": latest.source,
            "reporter": latest.reporter,
            "diagnostic": latest.diagnostic if personal else None,
            "recipient": latest.recipient if personal else None,
        },
    }
