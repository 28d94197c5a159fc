"""When is a subscriber due? Delivery slots in the subscriber's own time zone.

A slot is the instant a subscriber's local clock shows ``hour``:00 on a delivery day.
Daily subscribers have a slot every local day; subscribers with only weekly topics
have one on their weekday. Daylight-saving time is handled the way a person would
expect: when the local hour does not exist (clocks spring forward over it) the slot
is the first instant after the gap; when it happens twice (clocks fall back) the slot
is the first of the two.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class ScheduleError(ValueError):
    """A time zone, hour or weekday that cannot be scheduled."""


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``; raises :class:`ScheduleError` for an unknown one."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(
            f"unknown time zone {name!r}: use an IANA name such as Europe/Brussels"
        ) from None


def parse_weekday(value: str | int) -> int:
    """0 for Monday … 6 for Sunday, from ``mon``/``monday``/``0``."""
    if isinstance(value, int) or (value.strip().isascii() and value.strip().isdigit()):
        number = int(value)
        if 0 <= number <= 6:
            return number
    else:
        key = value.strip().lower()[:3]
        if key in WEEKDAYS:
            return WEEKDAYS.index(key)
    raise ScheduleError(f"weekday must be one of {', '.join(WEEKDAYS)} (got {value!r})")


def check_hour(hour: int) -> int:
    if not 0 <= hour <= 23:
        raise ScheduleError(f"hour must be between 0 and 23 (got {hour})")
    return hour


def slot_on(day: date, tz: ZoneInfo, hour: int) -> datetime:
    """The UTC instant of ``hour``:00 local time on local date ``day``.

    ``fold=0`` gives the first occurrence of a repeated hour and, for an hour that
    falls in a spring-forward gap, the pre-transition offset: the instant the gap ends
    (for a gap starting on the hour).
    """
    local = datetime.combine(day, time(hour), tzinfo=tz).replace(fold=0)
    return local.astimezone(UTC)


@dataclass(frozen=True)
class Cadence:
    """How often one subscriber gets a digest."""

    timezone: str
    hour: int
    weekday: int  # the day weekly topics are added (0 = Monday)
    has_daily: bool
    has_weekly: bool

    @property
    def active(self) -> bool:
        return self.has_daily or self.has_weekly

    def is_delivery_day(self, day: date) -> bool:
        return self.has_daily or (self.has_weekly and day.weekday() == self.weekday)

    def is_weekly_slot(self, slot_at: datetime) -> bool:
        """Does the slot at ``slot_at`` (UTC) carry the weekly topics?"""
        local_day = slot_at.astimezone(zone(self.timezone)).date()
        return self.has_weekly and local_day.weekday() == self.weekday


def next_slot_after(cadence: Cadence, after: datetime) -> datetime | None:
    """The first slot strictly after ``after``; None when nothing is subscribed."""
    if not cadence.active:
        return None
    tz = zone(cadence.timezone)
    # Start a day early: the local date of `after` may already be past its slot or
    # the slot of the previous local day may still lie ahead in UTC terms.
    day = after.astimezone(tz).date() - timedelta(days=1)
    for _ in range(16):
        if cadence.is_delivery_day(day):
            slot = slot_on(day, tz, cadence.hour)
            if slot > after:
                return slot
        day += timedelta(days=1)
    raise AssertionError("no slot within 16 days")  # unreachable for an active cadence


def last_slot_at_or_before(cadence: Cadence, now: datetime) -> datetime | None:
    """The latest slot at or before ``now``."""
    if not cadence.active:
        return None
    tz = zone(cadence.timezone)
    day = now.astimezone(tz).date() + timedelta(days=1)
    for _ in range(16):
        if cadence.is_delivery_day(day):
            slot = slot_on(day, tz, cadence.hour)
            if slot <= now:
                return slot
        day -= timedelta(days=1)
    raise AssertionError("no slot within 16 days")


@dataclass(frozen=True)
class Due:
    """What one planning tick decides for one subscriber."""

    slot_at: datetime | None  # the slot to make a digest for, if any
    missed_slot_at: datetime | None  # a slot older than the catch-up bound, not sent
    next_slot_at: datetime | None  # the first slot after `now`


def due(
    cadence: Cadence,
    next_slot_at: datetime | None,
    now: datetime,
    catch_up: timedelta,
    scheduled_from: datetime | None = None,
) -> Due | None:
    """Decide whether the subscriber is due at ``now``; None when not due yet.

    ``next_slot_at`` is what the previous tick stored. When it is unknown (a new or
    changed subscriber) the schedule starts at ``scheduled_from`` (e.g. the time they
    confirmed). However many slots were missed, at most one digest is made: the latest,
    and only when it is no older than ``catch_up``.
    """
    if next_slot_at is None:
        start = scheduled_from or now
        next_slot_at = next_slot_after(cadence, start - timedelta(microseconds=1))
        if next_slot_at is None:
            return None
        if next_slot_at > now:
            return Due(slot_at=None, missed_slot_at=None, next_slot_at=next_slot_at)
    if next_slot_at > now:
        return None
    latest = last_slot_at_or_before(cadence, now)
    following = next_slot_after(cadence, now)
    if latest is None or latest < next_slot_at:
        # The stored slot no longer matches the cadence (e.g. the hour changed).
        return Due(slot_at=None, missed_slot_at=None, next_slot_at=following)
    if now - latest > catch_up:
        return Due(slot_at=None, missed_slot_at=latest, next_slot_at=following)
    return Due(slot_at=latest, missed_slot_at=None, next_slot_at=following)


def cadence_from(timezone: str, hour: int, weekday: int, frequencies: set[str]) -> Cadence:
    """The cadence of a reader with these settings and topic frequencies."""
    return Cadence(
        timezone=timezone,
        hour=hour,
        weekday=weekday,
        has_daily="daily" in frequencies,
        has_weekly="weekly" in frequencies,
    )
