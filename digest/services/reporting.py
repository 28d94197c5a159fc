"""Read-only views of delivery state for the CLI, the admin pages and the API."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from digest.db.models import Delivery, Subscriber
from digest.services.controls import sending_paused


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


def counts(session: Session) -> dict[str, Any]:
    """Subscribers and deliveries by status, and whether sending is paused."""
    subscribers = dict(
        session.execute(select(Subscriber.status, func.count()).group_by(Subscriber.status)).all()
    )
    deliveries = dict(
        session.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all()
    )
    return {
        "subscribers": {k: int(v) for k, v in sorted(subscribers.items())},
        "deliveries": {k: int(v) for k, v in sorted(deliveries.items())},
        "sending_paused": sending_paused(session),
    }
