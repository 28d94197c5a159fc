"""Planning: one tick creates the digests that came due since the last tick.

A digest is unique per (subscriber, slot), so planning the same tick twice, or two
beat processes planning at once, never makes two. The digest's article window is
fixed here, so the workers that build it need no clock.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from digest.config import Settings
from digest.db.bulk import insert_rows
from digest.db.engine import unit_of_work
from digest.db.models import Digest, Subscriber, Subscription, id_in, table_of
from digest.domain.schedule import Cadence, Due, cadence_from, due
from digest.services import metrics
from digest.services.sending.controls import sending_paused

# How far back a first digest reaches, and the furthest back any digest reaches
# (after failed or missed digests), per frequency.
FIRST_LOOKBACK = {"daily": timedelta(days=1), "weekly": timedelta(days=7)}
MAX_LOOKBACK = {"daily": timedelta(days=3), "weekly": timedelta(days=14)}


@dataclass
class PlanReport:
    digest_ids: list[int] = field(default_factory=list)
    missed: int = 0  # slots older than the catch-up bound, not sent
    examined: int = 0
    paused: bool = False  # an operator paused all sending: nothing was planned


def window_start(last_end: datetime | None, slot_at: datetime, frequency: str) -> datetime:
    """Articles published after this are new for the digest at ``slot_at``."""
    if last_end is None:
        return slot_at - FIRST_LOOKBACK[frequency]
    return max(last_end, slot_at - MAX_LOOKBACK[frequency])


def digest_window(
    cadence: Cadence, slot_at: datetime, daily_end: datetime | None, weekly_end: datetime | None
) -> dict[str, Any]:
    """The fields that fix a digest's content at ``slot_at``: which frequencies it
    carries and the window of each, from where the last digest of each ended."""
    weekly = cadence.is_weekly_slot(slot_at)
    return {
        "slot_at": slot_at,
        "includes_daily": cadence.has_daily,
        "includes_weekly": weekly,
        "daily_since": window_start(daily_end, slot_at, "daily") if cadence.has_daily else None,
        "weekly_since": window_start(weekly_end, slot_at, "weekly") if weekly else None,
        "window_end": slot_at,
    }


def window_of(digest: Digest) -> dict[str, Any]:
    """The window fields of a digest already planned (see :func:`digest_window`)."""
    return {
        "slot_at": digest.slot_at,
        "includes_daily": digest.includes_daily,
        "includes_weekly": digest.includes_weekly,
        "daily_since": digest.daily_since,
        "weekly_since": digest.weekly_since,
        "window_end": digest.window_end,
    }


def last_window_ends(session: Session, ids: list[int], weekly: bool) -> dict[int, datetime]:
    flag = Digest.includes_weekly if weekly else Digest.includes_daily
    rows = session.execute(
        select(Digest.subscriber_id, func.max(Digest.window_end))
        .where(id_in(Digest.subscriber_id, ids), flag.is_(True), Digest.status != "failed")
        .group_by(Digest.subscriber_id)
    )
    return {sid: end for sid, end in rows}


# Subscribers examined per transaction when planning. Independent of the delivery
# batch size: planning rows are small and every statement here is set-based.
PLAN_BATCH = 2000


@dataclass(frozen=True)
class Schedulable:
    """What planning needs to know of one subscriber (no ORM objects: a slot may
    examine every subscriber on the list)."""

    id: int
    cadence: Cadence
    next_slot_at: datetime | None
    scheduled_from: datetime


def _insert_ignoring_duplicates(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    """Insert digests, skipping (subscriber, slot) pairs that exist; returns new ids."""
    inserted = insert_rows(
        session,
        table_of(Digest),
        rows,
        returning=["id"],
        skip_conflicts=["subscriber_id", "slot_at"],
    )
    return sorted(id_ for (id_,) in inserted)


def candidates(
    session: Session, after_id: int, now: datetime, limit: int
) -> tuple[int, list[Schedulable]] | None:
    """Among the next ``limit`` active subscribers (by id, after ``after_id``) that
    may be due at ``now``, those who follow something, with the last id examined;
    None when no subscriber is left."""
    rows = session.execute(
        select(
            Subscriber.id,
            Subscriber.timezone,
            Subscriber.hour,
            Subscriber.weekday,
            Subscriber.next_slot_at,
            func.coalesce(Subscriber.confirmed_at, Subscriber.created_at),
        )
        .where(
            Subscriber.status == "active",
            Subscriber.id > after_id,
            or_(Subscriber.next_slot_at.is_(None), Subscriber.next_slot_at <= now),
        )
        .order_by(Subscriber.id)
        .limit(limit)
    ).all()
    if not rows:
        return None
    freqs: dict[int, set[str]] = defaultdict(set)
    for subscriber_id, frequency in session.execute(
        select(Subscription.subscriber_id, Subscription.frequency)
        .where(Subscription.subscriber_id.between(rows[0][0], rows[-1][0]))
        .distinct()
    ):
        freqs[subscriber_id].add(frequency)
    return rows[-1][0], [
        Schedulable(
            id=sid,
            cadence=cadence_from(tz, hour, weekday, freqs[sid]),
            next_slot_at=next_slot_at,
            scheduled_from=scheduled_from,
        )
        for sid, tz, hour, weekday, next_slot_at, scheduled_from in rows
        # Following nothing: nothing to plan. (Filtered here rather than with EXISTS
        # in the query above, which PostgreSQL answers by merging from the start of
        # the subscriptions index on every batch.)
        if freqs[sid]
    ]


DueCache = dict[tuple[Cadence, datetime | None, datetime | None], Due | None]


def plan_batch(
    session: Session,
    subs: list[Schedulable],
    now: datetime,
    settings: Settings,
    decided: DueCache | None = None,
) -> PlanReport:
    """Plan one batch of subscribers that may be due at ``now``.

    ``decided`` remembers decisions across batches: subscribers with the same cadence
    and stored slot get the same answer, so a list of any size needs only as many
    time-zone computations as it has distinct schedules.
    """
    decided = {} if decided is None else decided
    report = PlanReport(examined=len(subs))
    decisions = []
    for sub in subs:
        # The start of the schedule only matters while no slot is stored.
        key = (sub.cadence, sub.next_slot_at, None if sub.next_slot_at else sub.scheduled_from)
        if key in decided:
            decision = decided[key]
        else:
            decision = decided[key] = due(
                sub.cadence,
                sub.next_slot_at,
                now,
                settings.catch_up,
                scheduled_from=sub.scheduled_from,
            )
        if decision is not None:
            decisions.append((sub, decision))
    planned = [(sub, d) for sub, d in decisions if d.slot_at is not None]
    ids = [sub.id for sub, _ in planned]
    daily_ends = last_window_ends(session, ids, weekly=False) if ids else {}
    weekly_ends = last_window_ends(session, ids, weekly=True) if ids else {}
    rows = []
    for sub, d in planned:
        assert d.slot_at is not None
        window = digest_window(
            sub.cadence, d.slot_at, daily_ends.get(sub.id), weekly_ends.get(sub.id)
        )
        rows.append({"subscriber_id": sub.id, **window, "status": "planned", "created_at": now})
    report.digest_ids = _insert_ignoring_duplicates(session, rows)
    report.missed = sum(1 for _, d in decisions if d.missed_slot_at is not None)
    # Subscribers on the same schedule share their next slot: one UPDATE per
    # distinct value instead of one per subscriber.
    by_next: dict[datetime | None, list[int]] = defaultdict(list)
    for sub, d in decisions:
        by_next[d.next_slot_at].append(sub.id)
    for next_slot_at, sub_ids in by_next.items():
        session.execute(
            update(Subscriber)
            .where(id_in(Subscriber.id, sub_ids))
            .values(next_slot_at=next_slot_at)
            .execution_options(synchronize_session=False)
        )
    metrics.add(session, {metrics.digests("planned"): len(report.digest_ids)})
    return report


def plan(database_url: str, settings: Settings, now: datetime) -> PlanReport:
    """One planning tick at ``now``: returns the ids of the digests it created.

    Subscribers are taken in batches, each batch in its own transaction, so a large
    list neither holds one long transaction nor loads everyone at once. The caller
    queues the returned digests only after this returns (all batches committed).
    """
    total = PlanReport()
    with unit_of_work(database_url) as session:
        if sending_paused(session):
            # Slots that pass meanwhile are caught up (at most once) on resuming.
            total.paused = True
            return total
    last_id = 0
    decided: DueCache = {}
    while True:
        with unit_of_work(database_url) as session:
            found = candidates(session, last_id, now, PLAN_BATCH)
            if found is None:
                break
            last_id, subs = found
            report = plan_batch(session, subs, now, settings, decided)
        total.digest_ids.extend(report.digest_ids)
        total.missed += report.missed
        total.examined += report.examined
    return total
