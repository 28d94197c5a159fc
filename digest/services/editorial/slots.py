"""Which slot a preview of a reader shows: the one their next send makes.

At a moment when a slot has come and its digest is not sent yet, that slot is the
one to preview, as ``digest run --now`` at that moment would send it: a slot the
planner would take now (the same decision, :func:`digest.domain.schedule.due`,
with the same catch-up bound), or one planned already whose delivery has not gone
out. Otherwise the slot falling exactly at the moment, else the next one.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from digest.db.models import Delivery, Digest, Subscriber
from digest.domain.schedule import due, last_slot_at_or_before, next_slot_after
from digest.services.readers.choices import cadence_of

# A digest in one of these states has not reached its reader yet.
_WAITING_DELIVERY = ("queued", "sending", "deferred")


def preview_slot(
    session: Session, sub: Subscriber, moment: datetime, catch_up: timedelta
) -> datetime | None:
    """The slot a preview of ``sub`` at ``moment`` shows; None if they follow nothing."""
    cadence = cadence_of(sub)
    if not (cadence.has_daily or cadence.has_weekly):
        return None
    decision = due(
        cadence,
        sub.next_slot_at,
        moment,
        catch_up,
        scheduled_from=sub.confirmed_at or sub.created_at,
    )
    if sub.status == "active" and decision is not None and decision.slot_at is not None:
        return decision.slot_at  # the planner takes it at this moment
    latest = last_slot_at_or_before(cadence, moment)
    if latest is not None and (latest == moment or _unsent(session, sub.id, latest)):
        return latest
    return next_slot_after(cadence, moment)


def _unsent(session: Session, subscriber_id: int, slot: datetime) -> bool:
    """Whether the reader's digest for ``slot`` exists and has not gone out yet."""
    digest = session.scalar(
        select(Digest).where(Digest.subscriber_id == subscriber_id, Digest.slot_at == slot)
    )
    if digest is None:
        return False
    if digest.status == "planned":
        return True
    if digest.status != "built":
        return False
    status = session.scalar(select(Delivery.status).where(Delivery.digest_id == digest.id))
    return status in _WAITING_DELIVERY
