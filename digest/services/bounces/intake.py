"""The ways bounces come in, each ending in :func:`digest.services.bounces.handling.take_in`:
one message received by SMTP or LMTP, files imported, the bounce mailbox polled;
and the events stored, for the console and the command line."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from digest.config import Settings
from digest.db.engine import unit_of_work
from digest.db.models import BounceEvent
from digest.services.bounces.handling import IntakeReport, Taken, take_in
from digest.services.bounces.matching import subscriber_by_address

IMPORT_BATCH = 100  # messages per transaction of a file import


def receive(
    database_url: str,
    settings: Settings,
    data: bytes,
    *,
    source: str,
    now: datetime,
    envelope_to: str | None = None,
) -> list[Taken]:
    """Take in one message in its own transaction: what the receiver calls for each
    message, so that the sending server hears "250" only once it is stored."""
    with unit_of_work(database_url) as session:
        return take_in(session, settings, data, source=source, now=now, envelope_to=envelope_to)


def import_messages(
    database_url: str,
    settings: Settings,
    messages: Iterable[tuple[str, bytes]],
    now: datetime,
    *,
    progress: Callable[[IntakeReport], None] | None = None,
) -> IntakeReport:
    """Take in ``(name, raw bytes)`` messages (e.g. from
    :func:`digest.bounces.sources.iter_messages`), committing every
    :data:`IMPORT_BATCH`; importing the same messages again changes nothing."""
    report = IntakeReport()
    batch: list[bytes] = []

    def flush() -> None:
        report.merge(_committed(database_url, settings, batch, "import", now))
        batch.clear()
        if progress is not None:
            progress(report)

    for _name, data in messages:
        batch.append(data)
        if len(batch) >= IMPORT_BATCH:
            flush()
    if batch:
        flush()
    return report


def _committed(
    database_url: str, settings: Settings, messages: list[bytes], source: str, now: datetime
) -> IntakeReport:
    """Take in ``messages`` in one transaction; what they held, counted once committed
    (a report of a transaction rolled back would count what was not stored)."""
    part = IntakeReport()
    with unit_of_work(database_url) as session:
        for data in messages:
            take_in(session, settings, data, source=source, now=now, report=part)
    return part


@dataclass
class MailboxPoll:
    """One poll of the bounce mailbox: what was fetched and what it held."""

    intake: IntakeReport
    fetched: int
    failed: int
    left: int | None
    errors: list[str]


def poll_mailbox(
    database_url: str, settings: Settings, clock: Callable[[], datetime]
) -> MailboxPoll | None:
    """Read the bounce mailbox once (``DIGEST_BOUNCE_MAILBOX_URL``): each message is
    taken in and committed, then removed from the mailbox; one that cannot be stored
    stays there for the next poll. None when no mailbox is configured. Raises
    :class:`digest.mail.mailbox.MailboxError` when the mailbox cannot be read."""
    from digest.mail.mailbox import MailboxConfig, poll

    if settings.bounce_mailbox_url is None:
        return None
    config = MailboxConfig.from_url(settings.bounce_mailbox_url)
    intake = IntakeReport()

    def handle(data: bytes) -> None:
        intake.merge(_committed(database_url, settings, [data], "mailbox", clock()))

    polled = poll(config, handle)
    return MailboxPoll(intake, polled.fetched, polled.failed, polled.left, polled.errors)


def latest_events(
    session: Session,
    *,
    email: str | None = None,
    kind: str | None = None,
    reason: str | None = None,
    limit: int = 50,
) -> list[BounceEvent]:
    """The latest events, newest first: all, or those about one address (its
    subscriber's, and reports that named it without matching), of one kind, or of one
    reason (see :data:`digest.domain.bounce_policy.REASONS`)."""
    query = select(BounceEvent)
    if email is not None:
        address = email.strip().lower()
        subscriber = subscriber_by_address(session, address)
        about = BounceEvent.recipient == address
        if subscriber is not None:
            about = about | (BounceEvent.subscriber_id == subscriber.id)
        query = query.where(about)
    if kind is not None:
        query = query.where(BounceEvent.kind == kind)
    if reason is not None:
        query = query.where(BounceEvent.reason == reason)
    order = (BounceEvent.received_at.desc(), BounceEvent.id.desc())
    return list(session.scalars(query.order_by(*order).limit(limit)))
