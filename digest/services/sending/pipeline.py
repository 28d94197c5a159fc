"""The pipeline's steps put together: what a worker task, ``digest run`` and
``digest retry`` call. Each step commits before the next one starts."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update

from digest.config import Settings
from digest.db import statistics
from digest.db.engine import unit_of_work
from digest.db.models import Delivery, Digest
from digest.domain import delivery as rules
from digest.mail.sender import Sender
from digest.services.sending import building, delivering, healing
from digest.services.sending.controls import sending_paused
from digest.services.sending.delivering import (
    CLAIM_LEASE,
    LOST_AFTER,
    LOST_WHEN_IDLE,
    Clock,
    SendReport,
    prepare_built,
    send_outgoing,
)
from digest.services.sending.journal import JournalError, journal_of
from digest.services.sending.planning import PlanReport, plan
from digest.services.sending.recording import Attempt, record

log = logging.getLogger(__name__)

# Journal entries younger than this belong to a send loop that is recording them.
SETTLE = timedelta(seconds=15)


def chunks(ids: Sequence[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield list(ids[start : start + size])


@dataclass
class RunReport:
    planned: int = 0
    missed: int = 0
    skipped: int = 0
    sent: int = 0
    deferred: int = 0
    failed: int = 0
    delivery_ids: list[int] = field(default_factory=list)

    def add(self, report: SendReport | RunReport) -> None:
        """Count another part of the work in this report."""
        self.sent += report.sent
        self.deferred += report.deferred
        self.failed += report.failed
        if isinstance(report, RunReport):
            self.skipped += report.skipped
            self.delivery_ids.extend(report.delivery_ids)


def build_and_send(
    database_url: str, digest_ids: list[int], settings: Settings, sender: Sender, clock: Clock
) -> RunReport:
    """Build a batch of planned digests and send what they produced. While an
    operator has paused sending, nothing happens: the digests stay planned and the
    sweep queues them again after sending resumes."""
    result = RunReport()
    statistics.refresh_database(database_url)
    # Built, claimed and rendered in one transaction, from what building has in
    # memory; committed before the first byte goes to the relay.
    with unit_of_work(database_url) as session:
        if sending_paused(session):
            return result
        now = clock()
        built = building.build(session, digest_ids, settings, now, claim=True)
        outgoing = prepare_built(session, built.built, settings, now)
    result.skipped = built.skipped
    result.delivery_ids = built.delivery_ids
    result.add(send_outgoing(database_url, outgoing, settings, sender, clock))
    return result


def is_paused(database_url: str) -> bool:
    with unit_of_work(database_url) as session:
        return sending_paused(session)


def send_deliveries(
    database_url: str, ids: list[int], settings: Settings, sender: Sender, clock: Clock
) -> SendReport:
    """Send queued or deferred deliveries, unless sending is paused."""
    if is_paused(database_url):
        return SendReport()
    return delivering.send_deliveries(database_url, ids, settings, sender, clock)


def run(database_url: str, settings: Settings, sender: Sender, clock: Clock) -> RunReport:
    """Plan at ``clock()`` and build and send every digest due, in this process."""
    planned: PlanReport = plan(database_url, settings, clock())
    total = RunReport(planned=len(planned.digest_ids), missed=planned.missed)
    for batch in chunks(planned.digest_ids, settings.batch_size):
        part = build_and_send(database_url, batch, settings, sender, clock)
        total.add(part)
    return total


@dataclass
class Sweep:
    """Work that is due again: deferred deliveries whose time came, and work whose
    worker or task was lost."""

    digest_ids: list[int] = field(default_factory=list)
    delivery_ids: list[int] = field(default_factory=list)
    released: int = 0
    reconciled: int = 0  # replies the journal held that are now recorded
    journal_unreadable: bool = False  # so no claim was released this time


def sweep(
    database_url: str, settings: Settings, now: datetime, *, broker_idle: bool = False
) -> Sweep:
    """Record the replies the journal still holds, release the claims of workers
    that stopped renewing them, and list what should be (re)queued at ``now``.

    ``broker_idle``: the broker holds no task at all (it restarted empty, say), so
    work still waiting after LOST_WHEN_IDLE has lost its task."""
    result = Sweep()
    try:
        result.reconciled = reconcile(database_url, settings, now)
    except JournalError:
        # A reply the journal holds may be unrecorded: releasing its claim could send
        # that digest again. The claims wait for a sweep that can read the journal.
        result.journal_unreadable = True
    lost_after = LOST_WHEN_IDLE if broker_idle else LOST_AFTER
    with unit_of_work(database_url) as session:
        if not result.journal_unreadable:
            released = session.execute(
                update(Delivery)
                .where(Delivery.status == rules.SENDING, Delivery.claimed_at < now - CLAIM_LEASE)
                .values(
                    status=rules.DEFERRED,
                    next_attempt_at=now,
                    claimed_at=None,
                    last_text="claim expired: the worker stopped before recording a reply",
                )
            )
            result.released = getattr(released, "rowcount", 0) or 0
        result.delivery_ids = list(
            session.scalars(
                select(Delivery.id)
                .where(
                    or_(
                        and_(Delivery.status == rules.DEFERRED, Delivery.next_attempt_at <= now),
                        and_(
                            Delivery.status == rules.QUEUED, Delivery.created_at < now - lost_after
                        ),
                    )
                )
                .order_by(Delivery.id)
            )
        )
        result.digest_ids = list(
            session.scalars(
                select(Digest.id)
                .where(Digest.status == "planned", Digest.created_at < now - lost_after)
                .order_by(Digest.id)
            )
        )
    return result


def reconcile(database_url: str, settings: Settings, now: datetime) -> int:
    """Record the replies the journal has held for at least SETTLE (a live send loop
    records its own within a second or two), each at the moment it was given; returns
    how many were still unrecorded. Raises JournalError when the journal cannot be
    read."""
    journal = journal_of(settings)
    entries = [e for e in journal.entries() if e.at <= now - SETTLE]
    if not entries:
        return 0
    recorded = 0
    with unit_of_work(database_url) as session:
        for entry in sorted(entries, key=lambda e: e.at):
            attempt = Attempt(entry.delivery_id, entry.reply, seconds=entry.seconds)
            statuses = record(session, [attempt], settings, entry.at)
            recorded += sum(1 for s in statuses.values() if s != "lost-claim")
    journal.forget(e.delivery_id for e in entries)
    if recorded:
        log.warning("recorded %d repl(ies) a worker had not recorded", recorded)
    return recorded


def retry(database_url: str, settings: Settings, sender: Sender, clock: Clock) -> RunReport:
    """Send, in this process, every deferred delivery whose time has come (after
    letting an open circuit breaker try a few, when its cool-down is over)."""
    healing.heal(database_url, settings, sender, clock)
    due = sweep(database_url, settings, clock())
    total = RunReport()
    for batch in chunks(due.digest_ids, settings.batch_size):
        part = build_and_send(database_url, batch, settings, sender, clock)
        total.add(part)
    for batch in chunks(due.delivery_ids, settings.batch_size):
        total.add(send_deliveries(database_url, batch, settings, sender, clock))
    return total
