"""Subscribers: add or update one, with validation that names the bad field (files
of them go through ``digest.services.console.importing``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.orm import Session

from digest.db.models import Subscriber, Subscription
from digest.domain.languages import LanguageError, parse_language
from digest.domain.schedule import ScheduleError, check_hour, parse_weekday, zone
from digest.domain.text import TextError, address_problem, one_line_name
from digest.domain.zone_names import canonical_zone
from digest.services.readers.choices import MAX_NAME, reschedule
from digest.services.readers.suppressing import suppression_of
from digest.services.readers.topics import TopicError, topics_by_slug

FREQUENCIES = ("daily", "weekly")


class SubscriberError(ValueError):
    """Subscriber input that cannot be stored; the message names the field."""


def normalise_email(raw: str) -> str:
    """The address as stored: syntax-checked, Unicode-normalised and lower-cased;
    an address that passes for another (mixed scripts, bidirectional controls) is
    refused (:func:`digest.domain.text.address_problem`)."""
    text = (raw or "").strip()
    if not text:
        raise SubscriberError("email is empty")
    if any(ch in text for ch in "\r\n"):
        raise SubscriberError(f"email {text!r} contains a line break")
    try:
        valid = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        raise SubscriberError(f"email {text!r} is not valid: {exc}") from None
    address = valid.normalized.lower()
    problem = address_problem(address)
    if problem:
        raise SubscriberError(f"email {text!r} {problem}")
    return address


@dataclass(frozen=True)
class SubscriberInput:
    email: str
    topics: list[str]
    frequency: str = "daily"
    timezone: str = "UTC"
    hour: int = 7
    weekday: str | int = "mon"
    name: str | None = None
    language: str | None = None  # None: unchanged (a new reader follows the site's)


def _validated(data: SubscriberInput) -> tuple[str, int, int, str | None]:
    email = normalise_email(data.email)
    if data.frequency not in FREQUENCIES:
        raise SubscriberError(f"frequency must be daily or weekly (got {data.frequency!r})")
    try:
        zone(data.timezone)
        hour = check_hour(int(data.hour))
        weekday = parse_weekday(data.weekday)
    except ScheduleError as exc:
        raise SubscriberError(str(exc)) from None
    if not data.topics:
        raise SubscriberError("topics is empty: name at least one topic slug")
    try:
        name = one_line_name("name", data.name, MAX_NAME)
    except TextError as exc:
        raise SubscriberError(str(exc)) from None
    if data.language is not None:
        try:
            parse_language(data.language)
        except LanguageError as exc:
            raise SubscriberError(f"language {exc}") from None
    return email, hour, weekday, name


def upsert_subscriber(
    session: Session, data: SubscriberInput, *, confirmed: bool, now: datetime
) -> tuple[Subscriber, bool]:
    """Create or update the subscriber for ``data.email``; returns (subscriber, created).

    A confirmed subscriber becomes active from ``now``; suppressed addresses are refused.
    """
    email, hour, weekday, name = _validated(data)
    try:
        topics = topics_by_slug(session, data.topics)
    except TopicError as exc:
        raise SubscriberError(str(exc)) from None
    suppressed = suppression_of(session, email)
    if suppressed is not None:
        raise SubscriberError(
            f"email {email} is on the suppression list ({suppressed.reason}); "
            "remove it from the list first"
        )
    sub = session.scalar(select(Subscriber).where(Subscriber.email == email))
    created = sub is None
    if sub is None:
        sub = Subscriber(email=email, status="pending", created_at=now)
        session.add(sub)
    sub.name = name or sub.name
    sub.timezone = canonical_zone(data.timezone)
    sub.hour = hour
    sub.weekday = weekday
    if data.language is not None:
        sub.language = parse_language(data.language)
    was_active = sub.status == "active"
    if confirmed and sub.status in ("pending", "unsubscribed"):
        sub.status = "active"
        sub.confirmed_at = now
        sub.unsubscribed_at = None
    sub.subscriptions = [Subscription(topic=t, frequency=data.frequency) for t in topics]
    session.flush()
    if was_active:
        # A change applies from the next slot, never to one already passed.
        reschedule(sub, now)
    else:
        sub.next_slot_at = None  # the next tick schedules from the confirmation
    return sub, created
