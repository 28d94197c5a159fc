"""Delivery slots across time zones and DST changes, by example and by property."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from digest.domain.schedule import (
    Cadence,
    ScheduleError,
    due,
    last_slot_at_or_before,
    next_slot_after,
    parse_weekday,
    slot_on,
    zone,
)

ZONES = [
    "UTC",
    "Europe/Brussels",
    "America/New_York",
    "Asia/Shanghai",
    "Australia/Sydney",
    "Australia/Lord_Howe",  # 30-minute DST shift
    "America/St_Johns",  # -3:30
    "Asia/Kathmandu",  # +5:45
    "Pacific/Chatham",  # +12:45 / +13:45
    "America/Santiago",
    "Africa/Casablanca",
    "Pacific/Apia",  # skipped a whole day in 2011
]

moments = st.datetimes(min_value=datetime(2005, 1, 1), max_value=datetime(2035, 12, 31)).map(
    lambda d: d.replace(tzinfo=UTC)
)
cadences = st.builds(
    Cadence,
    timezone=st.sampled_from(ZONES),
    hour=st.integers(0, 23),
    weekday=st.integers(0, 6),
    has_daily=st.booleans(),
    has_weekly=st.booleans(),
).filter(lambda c: c.active)


def local(slot: datetime, tz: str) -> datetime:
    return slot.astimezone(zone(tz))


def test_brussels_new_york_shanghai_at_seven_in_winter() -> None:
    day = date(2026, 1, 15)
    assert slot_on(day, zone("Europe/Brussels"), 7) == datetime(2026, 1, 15, 6, tzinfo=UTC)
    assert slot_on(day, zone("America/New_York"), 7) == datetime(2026, 1, 15, 12, tzinfo=UTC)
    assert slot_on(day, zone("Asia/Shanghai"), 7) == datetime(2026, 1, 14, 23, tzinfo=UTC)


def test_summer_time_moves_the_utc_slot() -> None:
    assert slot_on(date(2026, 7, 1), zone("Europe/Brussels"), 7) == datetime(
        2026, 7, 1, 5, tzinfo=UTC
    )


def test_hour_skipped_by_spring_forward_goes_out_when_the_gap_ends() -> None:
    # 29 March 2026: Brussels clocks jump from 02:00 to 03:00.
    slot = slot_on(date(2026, 3, 29), zone("Europe/Brussels"), 2)
    assert slot == datetime(2026, 3, 29, 1, tzinfo=UTC)
    assert local(slot, "Europe/Brussels").hour == 3


def test_hour_repeated_by_fall_back_goes_out_once_at_the_first() -> None:
    # 1 November 2026: New York's 01:00-02:00 happens twice.
    slot = slot_on(date(2026, 11, 1), zone("America/New_York"), 1)
    assert slot == datetime(2026, 11, 1, 5, tzinfo=UTC)  # 01:00 EDT, not 01:00 EST
    c = Cadence("America/New_York", 1, 0, True, False)
    after = next_slot_after(c, slot)
    assert after is not None and local(after, "America/New_York").date() == date(2026, 11, 2)


def test_unknown_zone_and_bad_weekday_are_named() -> None:
    with pytest.raises(ScheduleError, match="Mars/Olympus"):
        zone("Mars/Olympus")
    with pytest.raises(ScheduleError, match="weekday"):
        parse_weekday("someday")
    assert parse_weekday("Friday") == 4


@settings(max_examples=300, deadline=None)
@given(cadence=cadences, after=moments)
def test_next_slot_is_the_first_after(cadence: Cadence, after: datetime) -> None:
    slot = next_slot_after(cadence, after)
    assert slot is not None and slot > after
    # Nothing between: the latest slot before it is not after `after`.
    before = last_slot_at_or_before(cadence, slot - timedelta(microseconds=1))
    assert before is None or before <= after
    assert last_slot_at_or_before(cadence, slot) == slot
    wall = local(slot, cadence.timezone)
    if cadence.has_weekly and not cadence.has_daily:
        assert wall.date().weekday() == cadence.weekday
    # Either the wall clock shows the hour, or that hour did not exist that day and
    # the slot is the first instant after the gap.
    if (wall.hour, wall.minute) != (cadence.hour, 0):
        just_before = (slot - timedelta(minutes=1)).astimezone(zone(cadence.timezone))
        assert just_before.utcoffset() != wall.utcoffset(), "slot off the hour without a DST gap"


@settings(max_examples=150, deadline=None)
@given(
    tz=st.sampled_from(ZONES),
    hour=st.integers(0, 23),
    start=moments,
)
def test_daily_slots_come_once_per_local_day(tz: str, hour: int, start: datetime) -> None:
    cadence = Cadence(tz, hour, 0, True, False)
    slots = []
    cursor = start
    for _ in range(60):
        nxt = next_slot_after(cadence, cursor)
        assert nxt is not None
        slots.append(nxt)
        cursor = nxt
    days = [local(s, tz).date() for s in slots]
    assert len(set(days)) == len(days), "two slots on one local day"
    for a, b in zip(days, days[1:], strict=False):
        # Consecutive local days, except where a zone itself skipped a calendar day.
        assert (b - a).days == 1 or tz == "Pacific/Apia"


@settings(max_examples=150, deadline=None)
@given(
    cadence=cadences,
    start=moments,
    tick=st.integers(1, 240),
    outage=st.integers(0, 20 * 60),
)
def test_ticking_planner_makes_one_digest_per_slot_and_catches_up_short_outages(
    cadence: Cadence, start: datetime, tick: int, outage: int
) -> None:
    """Tick every `tick` minutes for three days, with one outage of `outage` minutes."""
    catch_up = timedelta(hours=6)
    stored: datetime | None = None
    planned: list[datetime] = []
    missed: list[datetime] = []
    now = start
    end = start + timedelta(days=3)
    outage_from = start + timedelta(days=1)
    first = True
    while now < end:
        if not (outage_from <= now < outage_from + timedelta(minutes=outage)):
            decision = due(cadence, stored, now, catch_up, scheduled_from=start if first else None)
            first = False
            if decision is not None:
                if decision.slot_at is not None:
                    assert decision.slot_at <= now
                    assert now - decision.slot_at <= catch_up
                    planned.append(decision.slot_at)
                if decision.missed_slot_at is not None:
                    missed.append(decision.missed_slot_at)
                stored = decision.next_slot_at
        now += timedelta(minutes=tick)
    assert len(planned) == len(set(planned)), "a slot was planned twice"
    assert planned == sorted(planned)
    last_tick = now - timedelta(minutes=tick)
    expected = []
    cursor = start - timedelta(microseconds=1)
    while (slot := next_slot_after(cadence, cursor)) is not None and slot <= last_tick:
        expected.append(slot)
        cursor = slot
    assert set(planned) <= set(expected)
    assert set(missed) <= set(expected)
    if outage == 0 and tick <= 60:
        # Ticks at least hourly and no outage: every slot is planned, none missed.
        assert planned == expected
        assert missed == []
    elif outage * 60 + tick * 60 <= catch_up.total_seconds() and tick <= 60:
        # A short outage is caught up; slots may merge only when two fall into it.
        assert len(planned) >= len(expected) - 1
