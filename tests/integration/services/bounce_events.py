"""Bounce events written straight into their table with chosen reasons and times, as
intake stores them, for the pages, the API and the command line that show them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from digest.db.engine import unit_of_work
from digest.db.models import BounceEvent, Delivery, Digest
from digest.domain.bounce_policy import SENDER_SIDE

SENDER_OUTCOME = "no action: blames our sending"


def add_event(
    db_url: str,
    received_at: datetime,
    reason: str | None,
    *,
    kind: str = "soft",
    source: str = "smtp",
    recipient: str | None = None,
    subscriber_id: int | None = None,
    delivery_id: int | None = None,
    status: str | None = None,
    diagnostic: str | None = None,
    reporter: str | None = None,
    matched_by: str = "none",
    outcome: str | None = None,
) -> int:
    """One stored event; its outcome says what the policy did with such a reason."""
    if outcome is None:
        outcome = SENDER_OUTCOME if reason in SENDER_SIDE else "recorded"
    with unit_of_work(db_url) as s:
        event = BounceEvent(
            fingerprint=uuid.uuid4().hex,
            received_at=received_at,
            source=source,
            kind=kind,
            reason=reason,
            how="smtp" if source == "relay" else "dsn",
            recipient=recipient,
            status=status,
            diagnostic=diagnostic,
            reporter=reporter,
            matched_by=matched_by,
            delivery_id=delivery_id,
            subscriber_id=subscriber_id,
            outcome=outcome,
        )
        s.add(event)
        s.flush()
        return event.id


def add_bounced_delivery(
    db_url: str,
    subscriber_id: int,
    email: str,
    sent_at: datetime,
    *,
    kind: str,
    reason: str | None,
) -> int:
    """A digest sent to the subscriber at ``sent_at`` whose delivery bounced an hour
    later with ``kind`` and ``reason``."""
    with unit_of_work(db_url) as s:
        digest = Digest(
            subscriber_id=subscriber_id,
            slot_at=sent_at,
            window_end=sent_at,
            status="built",
            created_at=sent_at,
            built_at=sent_at,
        )
        s.add(digest)
        s.flush()
        delivery = Delivery(
            digest_id=digest.id,
            subscriber_id=subscriber_id,
            email=email,
            message_id=f"<{digest.id}.{uuid.uuid4().hex[:8]}@news.example.org>",
            status="sent",
            attempts=1,
            created_at=sent_at,
            updated_at=sent_at,
            sent_at=sent_at,
            last_code=250,
            last_text="250 2.0.0 queued",
            bounce_kind=kind,
            bounce_reason=reason,
            bounced_at=sent_at + timedelta(hours=1),
        )
        s.add(delivery)
        s.flush()
        return delivery.id


def now_minus(**delta: float) -> datetime:
    """The real clock less ``delta``: what the dashboard, which reads the clock, sees."""
    return datetime.now(UTC) - timedelta(**delta)
