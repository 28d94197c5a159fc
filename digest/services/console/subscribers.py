"""Subscribers as operators see them: find, read, add, change, suppress, erase."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from digest.db.models import Subscriber, Suppression
from digest.domain.consent import address_hash
from digest.domain.languages import LanguageError, parse_language
from digest.domain.schedule import ScheduleError, check_hour, parse_weekday, zone
from digest.domain.zone_names import canonical_zone
from digest.services.console import lookup
from digest.services.console.base import (
    CONTROL,
    MAX_DETAIL,
    MAX_NAME,
    PAGE_SIZE,
    Conflict,
    ManagementError,
    Page,
    cursor_of,
    email_of,
    get_row,
    limit_of,
    one_line,
    slug_of,
    topics_of,
)
from digest.services.readers import preferences
from digest.services.readers.choices import Choices, apply_choices, choices_of
from digest.services.readers.subscribers import (
    FREQUENCIES,
    SubscriberError,
    SubscriberInput,
    upsert_subscriber,
)
from digest.services.readers.suppressing import suppression_of
from digest.services.readers.unsubscribing import unsubscribe


@dataclass(frozen=True)
class SubscriberChanges:
    """A new subscriber, or changes to one. None leaves a field as it is (on creation:
    its default); an empty name clears the name. ``confirmed`` makes a pending
    subscriber active, as their own confirmation would; for one who unsubscribed or
    bounced it is a :class:`Conflict`."""

    email: str | None = None
    name: str | None = None
    topics: list[str] | None = None
    frequency: str | None = None
    timezone: str | None = None
    hour: int | None = None
    weekday: str | int | None = None
    language: str | None = None
    confirmed: bool = False


def _language(changes: SubscriberChanges) -> str | None:
    if changes.language is None:
        return None
    try:
        return parse_language(changes.language)
    except LanguageError as exc:
        raise ManagementError("language", str(exc)) from None


def _schedule(changes: SubscriberChanges) -> tuple[str | None, int | None, int | None]:
    """The time zone, hour and weekday among ``changes``, checked."""
    tz, hour, weekday = changes.timezone, changes.hour, changes.weekday
    if tz is not None:
        tz = tz.strip()
        if len(tz) > 64 or CONTROL.search(tz):
            raise ManagementError("timezone", f"unknown time zone {tz[:64]!r}")
        try:
            zone(tz)
        except ScheduleError as exc:
            raise ManagementError("timezone", str(exc)) from None
        tz = canonical_zone(tz)
    try:
        hour = None if hour is None else check_hour(hour)
    except ScheduleError as exc:
        raise ManagementError("hour", str(exc)) from None
    if weekday is not None:
        if isinstance(weekday, str) and len(weekday) > 10:
            raise ManagementError("weekday", "must be one of mon, tue, wed, thu, fri, sat, sun")
        try:
            weekday = parse_weekday(weekday)
        except ScheduleError as exc:
            raise ManagementError("weekday", str(exc)) from None
    if changes.frequency is not None and changes.frequency not in FREQUENCIES:
        raise ManagementError("frequency", "must be daily or weekly")
    return tz, hour, weekday


def _free(session: Session, email: str) -> None:
    """Refuse an address that another subscriber has, or that is suppressed."""
    taken = session.scalar(select(Subscriber.id).where(Subscriber.email == email))
    if taken is not None:
        raise Conflict("email", f"subscriber {taken} already has the address {email}")
    entry = suppression_of(session, email)
    if entry is not None:
        raise Conflict(
            "email",
            f"{email} is on the suppression list ({entry.reason}); remove it from the list first",
        )


def list_subscribers(
    session: Session,
    *,
    fragment: str = "",
    status: str = "",
    topic: str = "",
    after: int = 0,
    limit: int = PAGE_SIZE,
) -> Page[lookup.SubscriberRow]:
    """Subscribers whose address contains ``fragment``, with ``status``, following
    ``topic``, in id order after ``after``."""
    fragment = one_line("fragment", fragment, 320) or ""
    if status and status not in lookup.STATUSES:
        raise ManagementError("status", f"must be one of {', '.join(lookup.STATUSES)}")
    if topic and slug_of(topic) is None:
        return Page([], None)  # no topic has that name, so no one follows it
    rows, next_after = lookup.find_subscribers(
        session,
        fragment=fragment,
        status=status,
        topic=(topic or "").strip().lower(),
        after_id=cursor_of("after", after),
        limit=limit_of(limit),
    )
    return Page(rows, next_after)


def get_subscriber(session: Session, subscriber_id: int) -> dict[str, Any]:
    """Everything about one subscriber: :func:`subscriber_record` of the subscriber
    with this id (:class:`NotFound` if there is none)."""
    return subscriber_record(session, get_row(session, Subscriber, subscriber_id, "subscriber"))


def subscriber_record(session: Session, sub: Subscriber) -> dict[str, Any]:
    """Everything about ``sub`` (:func:`preferences.export`) as operators see it: with
    their id, each delivery's id (to retry it) and their suppression entry, if any."""
    data = preferences.export(session, sub)
    ids = lookup.delivery_ids_of(session, sub.id)
    for digest in data["digests"]:
        delivery = digest["delivery"]
        if delivery is not None:
            delivery["id"] = ids.get(delivery["message_id"])
    entry = suppression_of(session, sub.email)
    data["id"] = sub.id
    data["suppression"] = None if entry is None else {"id": entry.id, "reason": entry.reason}
    return data


def create_subscriber(session: Session, new: SubscriberChanges, now: datetime) -> Subscriber:
    """Add a subscriber (email and topics are required); an address that is taken or
    suppressed is a :class:`Conflict`."""
    if new.email is None:
        raise ManagementError("email", "is required")
    email = email_of(new.email)
    name = one_line("name", new.name, MAX_NAME)
    topics = topics_of(session, new.topics or [])
    tz, hour, weekday = _schedule(new)
    language = _language(new)
    _free(session, email)
    data = SubscriberInput(
        email=email,
        topics=[t.slug for t in topics],
        frequency=new.frequency or "daily",
        timezone=tz or "UTC",
        hour=7 if hour is None else hour,
        weekday=0 if weekday is None else weekday,
        name=name,
        language=language,
    )
    try:
        sub, _ = upsert_subscriber(session, data, confirmed=new.confirmed, now=now)
    except SubscriberError as exc:  # checked above; kept so nothing slips through unnamed
        raise ManagementError(str(exc).split(" ", 1)[0], str(exc)) from None
    return sub


def update_subscriber(
    session: Session, subscriber_id: int, changes: SubscriberChanges, now: datetime
) -> Subscriber:
    """Change the fields of ``changes`` that are not None; the new choices apply from
    the subscriber's next slot. Without topics or frequency, each topic keeps its own
    frequency."""
    sub = get_row(session, Subscriber, subscriber_id, "subscriber")
    email = sub.email if changes.email is None else email_of(changes.email)
    name = one_line("name", changes.name, MAX_NAME)
    tz, hour, weekday = _schedule(changes)
    language = _language(changes)
    current = choices_of(sub)
    picked = current.topics
    if changes.topics is not None or changes.frequency is not None:
        slugs = list(current.topics) if changes.topics is None else changes.topics
        picked = {
            t.slug: changes.frequency or current.topics.get(t.slug, "daily")
            for t in topics_of(session, slugs)
        }
    if email != sub.email:
        _free(session, email)
        sub.email = email
    was_active = sub.status == "active"
    if changes.confirmed and sub.status in ("unsubscribed", "bounced"):
        # Someone who left comes back by their own hand (the preferences page or a
        # new subscription), never by an operator's or a script's say-so.
        raise Conflict(
            "confirmed", f"{sub.email} is {sub.status}: only the reader can subscribe again"
        )
    if changes.confirmed and sub.status == "pending":
        entry = suppression_of(session, email)
        if entry is not None:
            raise Conflict("email", f"{email} is suppressed ({entry.reason}): remove it first")
        sub.status, sub.confirmed_at, sub.unsubscribed_at = "active", now, None
    if changes.name is not None and name is None:
        sub.name = None
    choices = Choices(
        topics=picked,
        hour=current.hour if hour is None else hour,
        timezone=tz or current.timezone,
        weekday=current.weekday if weekday is None else weekday,
        name=name,
        language=language,
    )
    apply_choices(session, sub, choices, now)
    if not was_active:
        sub.next_slot_at = None  # the next tick schedules from the confirmation
    return sub


def suppress_subscriber(
    session: Session, subscriber_id: int, detail: str | None, now: datetime
) -> Suppression:
    """Put the subscriber's address on the suppression list (reason ``operator``) and
    mark them unsubscribed: nothing more is planned for them, and digests already
    queued are stopped by the check made just before sending. An address already on
    the list keeps its entry as it is."""
    sub = get_row(session, Subscriber, subscriber_id, "subscriber")
    detail = one_line("detail", detail, MAX_DETAIL)
    entry = suppression_of(session, sub.email)
    if entry is None:
        entry = Suppression(
            email_hash=address_hash(sub.email),
            email=sub.email,
            reason="operator",
            detail=detail,
            created_at=now,
        )
        session.add(entry)
    if sub.status in ("pending", "active"):  # a bounced address keeps saying so
        unsubscribe(session, sub.id, now)
    session.flush()
    return entry


def delete_subscriber(session: Session, subscriber_id: int, now: datetime) -> None:
    """Delete the subscriber with all their data; only a hash of the address stays,
    on the suppression list (:func:`preferences.erase`)."""
    preferences.erase(session, get_row(session, Subscriber, subscriber_id, "subscriber"), now)
