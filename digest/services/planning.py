"""Planning: one tick creates the digests that came due since the last tick.

A digest is unique per (subscriber, slot), so planning the same tick twice, or two
beat processes planning at once, never makes two. The digest's article window is
fixed here, so the workers that build it need no clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, selectinload

from digest.config import Settings
from digest.db.engine import unit_of_work
from digest.db.models import Digest, Subscriber
from digest.domain.schedule import Cadence, due

# How far back a first digest reaches, and the furthest back any digest reaches
# (after failed or missed digests), per frequency.
FIRST_LOOKBACK = {"daily": timedelta(days=1), "weekly": timedelta(days=7)}
MAX_LOOKBACK = {"daily": timedelta(days=3), "weekly": timedelta(days=14)}


@dataclass
class PlanReport:
    digest_ids: list[int] = field(default_factory=list)
    missed: int = 0  # slots older than the catch-up bound, not sent
    examined: int = 0


def cadence_of(sub: Subscriber) -> Cadence:
    freqs = {s.frequency for s in sub.subscriptions}
    return Cadence(
        timezone=sub.timezone,
        hour=sub.hour,
        weekday=sub.weekday,
        has_daily="daily" in freqs,
        has_weekly="weekly" in freqs,
    )


def window_start(last_end: datetime | None, slot_at: datetime, frequency: str) -> datetime:
    """Articles published after this are new for the digest at ``slot_at``."""
    if last_end is None:
        return slot_at - FIRST_LOOKBACK[frequency]
    return max(last_end, slot_at - MAX_LOOKBACK[frequency])


def last_window_ends(session: Session, ids: list[int], weekly: bool) -> dict[int, datetime]:
    flag = Digest.includes_weekly if weekly else Digest.includes_daily
    rows = session.execute(
        select(Digest.subscriber_id, func.max(Digest.window_end))
        .where(Digest.subscriber_id.in_(ids), flag.is_(True), Digest.status != "failed")
        .group_by(Digest.subscriber_id)
    )
    return {sid: end for sid, end in rows}


def _insert_ignoring_duplicates(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    """Insert digests, skipping (subscriber, slot) pairs that exist; returns new ids."""
    if not rows:
        return []
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(Digest)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["subscriber_id", "slot_at"])
        .returning(Digest.id)
    )
    return list(session.scalars(stmt))


def plan_batch(
    session: Session, subs: list[Subscriber], now: datetime, settings: Settings
) -> PlanReport:
    """Plan one batch of subscribers that may be due at ``now``."""
    report = PlanReport(examined=len(subs))
    decisions = []
    for sub in subs:
        cadence = cadence_of(sub)
        decision = due(
            cadence,
            sub.next_slot_at,
            now,
            settings.catch_up,
            scheduled_from=sub.confirmed_at or sub.created_at,
        )
        if decision is not None:
            decisions.append((sub, cadence, decision))
    planned = [(sub, c, d) for sub, c, d in decisions if d.slot_at is not None]
    ids = [sub.id for sub, _, _ in planned]
    daily_ends = last_window_ends(session, ids, weekly=False) if ids else {}
    weekly_ends = last_window_ends(session, ids, weekly=True) if ids else {}
    rows = []
    for sub, cadence, d in planned:
        assert d.slot_at is not None
        weekly = cadence.is_weekly_slot(d.slot_at)
        rows.append(
            {
                "subscriber_id": sub.id,
                "slot_at": d.slot_at,
                "includes_daily": cadence.has_daily,
                "includes_weekly": weekly,
                "daily_since": window_start(daily_ends.get(sub.id), d.slot_at, "daily")
                if cadence.has_daily
                else None,
                "weekly_since": window_start(weekly_ends.get(sub.id), d.slot_at, "weekly")
                if weekly
                else None,
                "window_end": d.slot_at,
                "status": "planned",
                "created_at": now,
            }
        )
    report.digest_ids = _insert_ignoring_duplicates(session, rows)
    report.missed = sum(1 for _, _, d in decisions if d.missed_slot_at is not None)
    if decisions:
        session.execute(
            update(Subscriber),
            [{"id": sub.id, "next_slot_at": d.next_slot_at} for sub, _, d in decisions],
        )
    return report


def plan(database_url: str, settings: Settings, now: datetime) -> PlanReport:
    """One planning tick at ``now``: returns the ids of the digests it created.

    Subscribers are taken in batches, each batch in its own transaction, so a large
    list neither holds one long transaction nor loads everyone at once. The caller
    queues the returned digests only after this returns (all batches committed).
    """
    total = PlanReport()
    last_id = 0
    while True:
        with unit_of_work(database_url) as session:
            query = (
                select(Subscriber)
                .where(
                    Subscriber.status == "active",
                    Subscriber.id > last_id,
                    or_(Subscriber.next_slot_at.is_(None), Subscriber.next_slot_at <= now),
                    Subscriber.subscriptions.any(),
                )
                .order_by(Subscriber.id)
                .limit(settings.batch_size)
                .options(selectinload(Subscriber.subscriptions))
            )
            subs = list(session.scalars(query))
            if not subs:
                break
            last_id = subs[-1].id
            report = plan_batch(session, subs, now, settings)
        total.digest_ids.extend(report.digest_ids)
        total.missed += report.missed
        total.examined += report.examined
    return total
