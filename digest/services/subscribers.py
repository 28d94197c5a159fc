"""Subscribers: add, import and export, with validation that names the bad field."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TextIO

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.orm import Session

from digest.db.models import Subscriber, Subscription
from digest.domain.schedule import WEEKDAYS, ScheduleError, check_hour, parse_weekday, zone
from digest.services.choices import reschedule
from digest.services.suppressing import suppression_of
from digest.services.topics import TopicError, topics_by_slug

FREQUENCIES = ("daily", "weekly")
CSV_COLUMNS = ("email", "name", "topics", "frequency", "timezone", "hour")
EXPORT_COLUMNS = (*CSV_COLUMNS, "weekday", "status", "created_at", "confirmed_at")


class SubscriberError(ValueError):
    """Subscriber input that cannot be stored; the message names the field."""


def normalise_email(raw: str) -> str:
    """The address as stored: syntax-checked, Unicode-normalised and lower-cased."""
    text = (raw or "").strip()
    if not text:
        raise SubscriberError("email is empty")
    if any(ch in text for ch in "\r\n"):
        raise SubscriberError(f"email {text!r} contains a line break")
    try:
        valid = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        raise SubscriberError(f"email {text!r} is not valid: {exc}") from None
    return valid.normalized.lower()


@dataclass(frozen=True)
class SubscriberInput:
    email: str
    topics: list[str]
    frequency: str = "daily"
    timezone: str = "UTC"
    hour: int = 7
    weekday: str | int = "mon"
    name: str | None = None


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
    name = " ".join((data.name or "").split()) or None  # no line breaks in a name
    if name and len(name) > 200:
        raise SubscriberError("name is longer than 200 characters")
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
    sub.timezone = data.timezone
    sub.hour = hour
    sub.weekday = weekday
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


@dataclass
class ImportReport:
    added: int = 0
    updated: int = 0
    errors: list[str] = field(default_factory=list)


def import_csv(session: Session, source: TextIO, *, confirmed: bool, now: datetime) -> ImportReport:
    """Import rows with the columns of ``CSV_COLUMNS`` (topics separated by ';').

    Each bad row is reported by its line number and skipped; good rows are stored.
    """
    report = ImportReport()
    reader = csv.DictReader(source)
    missing = [c for c in ("email", "topics") if c not in (reader.fieldnames or [])]
    if missing:
        raise SubscriberError(f"CSV header lacks the column(s) {', '.join(missing)}")
    for row in reader:
        line = reader.line_num
        try:
            data = SubscriberInput(
                email=row.get("email") or "",
                name=row.get("name") or None,
                topics=[t for t in (row.get("topics") or "").replace(",", ";").split(";")],
                frequency=(row.get("frequency") or "daily").strip().lower(),
                timezone=(row.get("timezone") or "UTC").strip(),
                hour=_hour(row.get("hour")),
                weekday=(row.get("weekday") or "mon").strip(),
            )
            with session.begin_nested():
                _, created = upsert_subscriber(session, data, confirmed=confirmed, now=now)
        except SubscriberError as exc:
            report.errors.append(f"row {line} ({(row.get('email') or '').strip()}): {exc}")
            continue
        if created:
            report.added += 1
        else:
            report.updated += 1
    return report


def _hour(raw: str | None) -> int:
    if raw is None or not raw.strip():
        return 7
    try:
        return int(raw)
    except ValueError:
        raise SubscriberError(f"hour must be a whole number from 0 to 23 (got {raw!r})") from None


def export_rows(session: Session) -> Iterable[dict[str, str]]:
    """Every subscriber as a CSV row; the import reads these columns back."""
    query = select(Subscriber).order_by(Subscriber.id)
    for sub in session.scalars(query):
        freqs = {s.frequency for s in sub.subscriptions}
        yield {
            "email": sub.email,
            "name": sub.name or "",
            "topics": ";".join(sorted(s.topic.slug for s in sub.subscriptions)),
            "frequency": "weekly" if freqs == {"weekly"} else "daily",
            "timezone": sub.timezone,
            "hour": str(sub.hour),
            "weekday": WEEKDAYS[sub.weekday],
            "status": sub.status,
            "created_at": sub.created_at.isoformat(),
            "confirmed_at": sub.confirmed_at.isoformat() if sub.confirmed_at else "",
        }


def export_csv(session: Session) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in export_rows(session):
        # A leading =, +, - or @ would run as a formula in a spreadsheet.
        writer.writerow({k: ("'" + v if v[:1] in "=+-@" else v) for k, v in row.items()})
    return out.getvalue()
