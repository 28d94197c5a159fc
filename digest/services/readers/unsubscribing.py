"""Unsubscribing: one click from an email, effective from the next planning tick."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from digest.db.models import Subscriber
from digest.services.readers.choices import reschedule
from digest.services.readers.suppressing import suppression_of


def unsubscribe(session: Session, subscriber_id: int, now: datetime) -> Subscriber | None:
    """Mark the subscriber unsubscribed; returns None when they no longer exist.

    Idempotent: a second click (mail clients may POST more than once) changes nothing.
    Digests already queued are stopped by the status check made at send time.
    """
    sub = session.scalar(select(Subscriber).where(Subscriber.id == subscriber_id))
    if sub is None:
        return None
    if sub.status != "unsubscribed":
        sub.status = "unsubscribed"
        sub.unsubscribed_at = now
        sub.next_slot_at = None
    return sub


def resubscribe(session: Session, sub: Subscriber, now: datetime) -> bool:
    """Undo an unsubscribe (the reader's own link proves the address is theirs);
    digests start again from the next slot. False for a bounced or pending address,
    and for a suppressed one (a complaint unsubscribes and suppresses: only an
    operator lifts that)."""
    if sub.status == "active":
        return True
    if sub.status != "unsubscribed" or suppression_of(session, sub.email) is not None:
        return False
    sub.status = "active"
    sub.unsubscribed_at = None
    reschedule(sub, now)
    return True
