"""The pipeline's steps put together: what a worker task, ``digest run`` and
``digest retry`` call. Each step commits before the next one starts."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, or_, select, update

from digest.config import Settings
from digest.db import statistics
from digest.db.engine import unit_of_work
from digest.db.models import Delivery, Digest
from digest.domain import delivery as rules
from digest.mail.sender import Sender
from digest.services.sending import building, delivering
from digest.services.sending.controls import sending_paused
from digest.services.sending.delivering import (
    CLAIM_LEASE,
    LOST_AFTER,
    Clock,
    SendReport,
    prepare_built,
    send_outgoing,
)
from digest.services.sending.planning import PlanReport, plan


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


def sweep(database_url: str, now: datetime) -> Sweep:
    """Release stale claims and list what should be (re)queued at ``now``."""
    result = Sweep()
    with unit_of_work(database_url) as session:
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
                            Delivery.status == rules.QUEUED, Delivery.created_at < now - LOST_AFTER
                        ),
                    )
                )
                .order_by(Delivery.id)
            )
        )
        result.digest_ids = list(
            session.scalars(
                select(Digest.id)
                .where(Digest.status == "planned", Digest.created_at < now - LOST_AFTER)
                .order_by(Digest.id)
            )
        )
    return result


def retry(database_url: str, settings: Settings, sender: Sender, clock: Clock) -> RunReport:
    """Send, in this process, every deferred delivery whose time has come."""
    due = sweep(database_url, clock())
    total = RunReport()
    for batch in chunks(due.digest_ids, settings.batch_size):
        part = build_and_send(database_url, batch, settings, sender, clock)
        total.add(part)
    for batch in chunks(due.delivery_ids, settings.batch_size):
        total.add(send_deliveries(database_url, batch, settings, sender, clock))
    return total
