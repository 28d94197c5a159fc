"""What each bulk action does to one batch of subscribers (:mod:`bulk` runs the
batches): change topics at the reader's cadence, pause or resume with the next slot
rescheduled, suppress, delete with all their data. Exports write nothing here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from digest.db.models import Subscriber, Subscription, Topic, id_in
from digest.services.console.subscribers import suppress_subscriber
from digest.services.readers import preferences
from digest.services.readers.choices import reschedule
from digest.services.readers.suppressing import suppression_of


def apply_action(
    session: Session, action: str, params: dict[str, Any], ids: list[int], now: datetime
) -> int:
    """Do ``action`` to the subscribers ``ids`` (that still exist); how many changed."""
    present = list(session.scalars(select(Subscriber.id).where(id_in(Subscriber.id, ids))))
    if action == "topics":
        touched: set[int] = set()
        slugs = params["add"] + params["remove"]
        topic_ids = {
            slug: id_
            for slug, id_ in session.execute(
                select(Topic.slug, Topic.id).where(Topic.slug.in_(slugs))
            )
        }
        for slug in params["remove"]:
            gone = session.scalars(
                delete(Subscription)
                .where(id_in(Subscription.subscriber_id, present))
                .where(Subscription.topic_id == topic_ids[slug])
                .returning(Subscription.subscriber_id)
                .execution_options(synchronize_session=False)
            ).all()
            touched.update(gone)
        # An added topic comes at the reader's cadence: weekly for a reader whose every
        # topic is weekly, else daily (a weekly reader must not start getting daily mail).
        daily = set(
            session.scalars(
                select(Subscription.subscriber_id).where(
                    id_in(Subscription.subscriber_id, present), Subscription.frequency == "daily"
                )
            )
        )
        weekly = set(
            session.scalars(
                select(Subscription.subscriber_id).where(
                    id_in(Subscription.subscriber_id, present), Subscription.frequency == "weekly"
                )
            )
        )
        for slug in params["add"]:
            has = set(
                session.scalars(
                    select(Subscription.subscriber_id).where(
                        id_in(Subscription.subscriber_id, present),
                        Subscription.topic_id == topic_ids[slug],
                    )
                )
            )
            new = [
                {
                    "subscriber_id": i,
                    "topic_id": topic_ids[slug],
                    "frequency": "weekly" if i in weekly and i not in daily else "daily",
                }
                for i in present
                if i not in has
            ]
            if new:
                session.execute(insert(Subscription), new)
            touched.update(int(str(r["subscriber_id"])) for r in new)
        _reschedule(session, sorted(touched), now)  # the cadence may have changed
        return len(touched)
    if action in ("pause", "resume"):
        until = datetime.fromisoformat(params["until"]) if action == "pause" else None
        changed = 0
        for sub in session.scalars(select(Subscriber).where(id_in(Subscriber.id, present))):
            if sub.paused_until != until:
                sub.paused_until = until
                changed += 1
            reschedule(sub, now)  # the next slot after the pause, as a reader's own pause
        return changed
    if action == "suppress":
        return sum(_suppress(session, sid, now) for sid in present)
    if action == "delete":
        for sub in session.scalars(select(Subscriber).where(id_in(Subscriber.id, present))):
            preferences.erase(session, sub, now)
        return len(present)
    return len(present)  # export: the rows are written by run_bulk


def _reschedule(session: Session, ids: list[int], now: datetime) -> None:
    session.expire_all()  # the statements above changed their topics behind the session
    for sub in session.scalars(select(Subscriber).where(id_in(Subscriber.id, ids))):
        reschedule(sub, now)


def _suppress(session: Session, subscriber_id: int, now: datetime) -> bool:
    """The console's own suppression (:func:`suppress_subscriber`); True when it
    changed something (a new entry on the list, or a reader unsubscribed)."""
    sub = session.get(Subscriber, subscriber_id)
    if sub is None:
        return False
    before = (suppression_of(session, sub.email) is not None, sub.status)
    suppress_subscriber(session, subscriber_id, "bulk action", now)
    return before != (True, sub.status)
