"""What the operator console reads and does: find subscribers among many, show one
with their whole history, retry a failed delivery."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from digest.db.models import Delivery, Subscriber, Subscription, Topic
from digest.domain import delivery as rules
from digest.services.console.base import MAX_ID

PAGE_SIZE = 50
STATUSES = ("pending", "active", "unsubscribed", "bounced")


@dataclass(frozen=True)
class SubscriberRow:
    id: int
    email: str
    name: str | None
    status: str
    created_at: datetime


def find_subscribers(
    session: Session,
    *,
    fragment: str = "",
    status: str = "",
    topic: str = "",
    after_id: int = 0,
    limit: int = PAGE_SIZE,
) -> tuple[list[SubscriberRow], int | None]:
    """Subscribers whose address contains ``fragment``, optionally with ``status``
    and following ``topic``, by id after ``after_id`` (keyset pagination: each page
    costs the same however deep it is). Returns the page and the id to continue
    after, or None on the last page."""
    query = select(
        Subscriber.id, Subscriber.email, Subscriber.name, Subscriber.status, Subscriber.created_at
    ).where(Subscriber.id > after_id)
    fragment = fragment.strip().lower()
    if fragment:
        escaped = fragment.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(Subscriber.email.like(f"%{escaped}%", escape="\\"))
    if status:
        query = query.where(Subscriber.status == status)
    if topic:
        query = query.where(
            Subscriber.id.in_(
                select(Subscription.subscriber_id)
                .join(Topic, Topic.id == Subscription.topic_id)
                .where(Topic.slug == topic)
            )
        )
    rows = [
        SubscriberRow(*row)
        for row in session.execute(query.order_by(Subscriber.id).limit(limit + 1)).all()
    ]
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more else None)


def delivery_ids_of(session: Session, subscriber_id: int) -> dict[str, int]:
    """Each of the subscriber's deliveries by Message-ID (to offer a retry)."""
    return {
        message_id: id_
        for id_, message_id in session.execute(
            select(Delivery.id, Delivery.message_id).where(Delivery.subscriber_id == subscriber_id)
        )
    }


def reopen_failed(session: Session, delivery_id: int, now: datetime) -> bool:
    """Make a failed delivery due for another attempt now; False if it was not failed."""
    result = session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id, Delivery.status == rules.FAILED)
        .values(status=rules.DEFERRED, next_attempt_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


def topic_slugs(session: Session) -> list[str]:
    return list(session.scalars(select(Topic.slug).order_by(Topic.slug)))


def subscriber_by_id(session: Session, subscriber_id: int) -> Subscriber | None:
    """The subscriber with this id, or None (also for ids no table can hold)."""
    if not 0 < subscriber_id <= MAX_ID:
        return None
    return session.get(Subscriber, subscriber_id)


def subscriber_by_email(session: Session, address: str) -> Subscriber | None:
    """The subscriber with this (already normalised) address, or None."""
    return session.scalar(select(Subscriber).where(Subscriber.email == address))


def subscriber_of_delivery(session: Session, delivery_id: int) -> int | None:
    """The id of the subscriber a delivery was for, or None when there is no such delivery."""
    if not 0 < delivery_id <= MAX_ID:
        return None
    return session.scalar(select(Delivery.subscriber_id).where(Delivery.id == delivery_id))
