"""What a reader chooses on the subscribe and preferences forms: topics with their
frequency, delivery hour, time zone, weekday and language. Parsed from form fields
with an error per field (said in the reader's language when shown), stored as JSON
on a consent record, applied to a subscriber."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from digest.db.models import Subscriber, Subscription, Topic
from digest.domain.languages import LanguageError, parse_language
from digest.domain.schedule import (
    WEEKDAYS,
    Cadence,
    ScheduleError,
    cadence_from,
    next_slot_after,
    parse_weekday,
    zone,
)
from digest.domain.text import TextError, one_line_name
from digest.domain.zone_names import canonical_zone
from digest.rendering.i18n import Phrase, phrase

Fields = dict[str, list[str]]  # a submitted form: every value of every field
FREQUENCIES = ("daily", "weekly")
MAX_NAME = 200


class FormErrors(ValueError):
    """Form input that cannot be used: one message per field name (``str()`` of a
    message is English; a page says it in the reader's language)."""

    def __init__(self, errors: dict[str, Phrase]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class Choices:
    topics: dict[str, str]  # topic slug -> daily | weekly, in form order
    hour: int
    timezone: str
    weekday: int  # 0 = Monday; the day weekly topics arrive
    name: str | None = None
    language: str | None = None  # None: left as it is (a new reader: the site's)

    def to_json(self) -> dict[str, Any]:
        return {
            "topics": self.topics,
            "hour": self.hour,
            "timezone": self.timezone,
            "weekday": WEEKDAYS[self.weekday],
            "name": self.name,
            "language": self.language,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Choices:
        return cls(
            topics=dict(data["topics"]),
            hour=int(data["hour"]),
            timezone=str(data["timezone"]),
            weekday=parse_weekday(str(data["weekday"])),
            name=data.get("name"),
            language=data.get("language"),
        )


def first(fields: Fields, name: str, default: str = "") -> str:
    values = fields.get(name) or [default]
    return values[0].strip()


def choices_from_form(fields: Fields, known_topics: list[str]) -> Choices:
    """The choices in a submitted form; raises :class:`FormErrors` naming each bad field.

    Fields: ``topics`` (one value per ticked topic), ``frequency-SLUG`` (daily or
    weekly), ``hour`` (0–23), ``timezone`` (IANA name), ``weekday`` (mon…sun), an
    optional ``name`` and an optional ``language`` (``en``, ``fr``…)."""
    errors: dict[str, Phrase] = {}
    picked = [t.strip().lower() for t in fields.get("topics", []) if t.strip()]
    unknown = [t for t in picked if t not in known_topics]
    if unknown:
        errors["topics"] = phrase("unknown topic %(topics)s", topics=", ".join(unknown)[:100])
    elif not picked:
        errors["topics"] = phrase("pick at least one topic")
    topics: dict[str, str] = {}
    for slug in dict.fromkeys(picked):
        frequency = first(fields, f"frequency-{slug}", "daily").lower()
        if frequency not in FREQUENCIES:
            errors[f"frequency-{slug}"] = phrase("choose daily or weekly")
        topics[slug] = frequency
    hour = 7
    raw_hour = first(fields, "hour", "7")
    try:
        hour = int(raw_hour)
        if not 0 <= hour <= 23:
            raise ValueError
    except ValueError:
        errors["hour"] = phrase("choose an hour from 0 to 23 (got %(value)r)", value=raw_hour[:20])
    timezone = first(fields, "timezone", "UTC")
    timezone = canonical_zone(timezone)  # an old name is stored as today's
    try:
        zone(timezone)
    except ScheduleError:
        errors["timezone"] = phrase(
            "unknown time zone %(zone)r: pick one from the list", zone=timezone[:64]
        )
    weekday = 0
    try:
        weekday = parse_weekday(first(fields, "weekday", "mon"))
    except ScheduleError:
        errors["weekday"] = phrase("choose a day of the week")
    name = None
    try:
        # The value as sent: a control character is refused even at either end.
        name = one_line_name("name", (fields.get("name") or [""])[0], MAX_NAME)
    except TextError as exc:
        errors["name"] = name_problem(exc)
    language = None
    if first(fields, "language"):
        try:
            language = parse_language(first(fields, "language"))
        except LanguageError:
            errors["language"] = phrase("choose a language from the list")
    if errors:
        raise FormErrors(errors)
    return Choices(
        topics=topics,
        hour=hour,
        timezone=timezone,
        weekday=weekday,
        name=name,
        language=language,
    )


_CODE = re.compile(r"U\+[0-9A-F]{4,6}")


def name_problem(error: TextError) -> Phrase:
    """What :mod:`digest.domain.text` refused in a name, as words a page translates."""
    found = _CODE.search(error.reason)
    code = found.group() if found else "?"
    if error.reason.startswith("is longer than"):
        return phrase("is longer than %(limit)s characters", limit=MAX_NAME)
    if "surrogate" in error.reason:
        return phrase("is not valid Unicode text (found the lone surrogate %(code)s)", code=code)
    if "bidirectional" in error.reason:
        return phrase(
            "must not contain bidirectional text controls "
            "(found %(code)s, which reverses or isolates text)",
            code=code,
        )
    return phrase("must not contain control characters (found %(code)s)", code=code)


def choices_of(sub: Subscriber) -> Choices:
    """A subscriber's current choices (to fill in the preferences form)."""
    return Choices(
        topics={s.topic.slug: s.frequency for s in sub.subscriptions},
        hour=sub.hour,
        timezone=canonical_zone(sub.timezone),
        weekday=sub.weekday,
        name=sub.name,
        language=sub.language,
    )


def cadence_of(sub: Subscriber) -> Cadence:
    """The reader's cadence: their zone, hour and weekday, and which frequencies they follow."""
    return cadence_from(
        sub.timezone, sub.hour, sub.weekday, {s.frequency for s in sub.subscriptions}
    )


def reschedule(sub: Subscriber, now: datetime) -> None:
    """Store the subscriber's next slot: the first one after ``now`` (or after their
    pause ends). Changes thus apply from the next slot and never cause a digest for
    a slot that has already passed."""
    paused = sub.paused_until is not None and sub.paused_until > now
    if not paused and sub.next_slot_at is not None and sub.next_slot_at <= now:
        # A slot has come and the planner has not made its digest yet: leave it to
        # the planner (which also copes with a changed hour or zone), never skip it.
        return
    start = sub.paused_until if paused and sub.paused_until else now
    sub.next_slot_at = next_slot_after(cadence_of(sub), start)


def apply_choices(session: Session, sub: Subscriber, choices: Choices, now: datetime) -> None:
    """Make ``choices`` the subscriber's; topics deleted since are left out."""
    topics = {
        t.slug: t
        for t in session.scalars(select(Topic).where(Topic.slug.in_(list(choices.topics))))
    }
    sub.subscriptions = [
        Subscription(topic=topics[slug], frequency=frequency)
        for slug, frequency in choices.topics.items()
        if slug in topics
    ]
    sub.hour = choices.hour
    sub.timezone = choices.timezone
    sub.weekday = choices.weekday
    if choices.name is not None:
        sub.name = choices.name
    if choices.language is not None:
        sub.language = choices.language
    session.flush()
    reschedule(sub, now)
