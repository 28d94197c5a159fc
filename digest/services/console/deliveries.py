"""Deliveries as operators see them, and retrying the failed ones: reopened in one
transaction, then sent from this process over one SMTP connection per batch."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from digest.config import Settings
from digest.db import audit
from digest.db.engine import unit_of_work
from digest.db.models import Delivery, id_in
from digest.domain import delivery as rules
from digest.mail.sender import Sender
from digest.services.console import lookup
from digest.services.console.base import (
    MAX_ID,
    PAGE_SIZE,
    Conflict,
    ManagementError,
    NotFound,
    Page,
    cursor_of,
    limit_of,
    page_of,
)
from digest.services.sending import pipeline


@dataclass(frozen=True)
class AttemptRow:
    attempted_at: datetime
    outcome: str
    code: int | None
    enhanced_code: str | None
    text: str


@dataclass(frozen=True)
class DeliveryRow:
    id: int
    digest_id: int
    subscriber_id: int
    email: str
    message_id: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    sent_at: datetime | None
    created_at: datetime
    updated_at: datetime
    last_code: int | None
    last_enhanced_code: str | None
    last_text: str | None
    attempt_log: list[AttemptRow]


def list_deliveries(
    session: Session, *, status: str = "", before: int | None = None, limit: int = PAGE_SIZE
) -> Page[DeliveryRow]:
    """Deliveries newest first (optionally with ``status``), each with every attempt."""
    if status and status not in rules.STATES:
        raise ManagementError("status", f"must be one of {', '.join(rules.STATES)}")
    query = select(Delivery).order_by(Delivery.id.desc()).limit(limit_of(limit) + 1)
    if status:
        query = query.where(Delivery.status == status)
    if before is not None:
        query = query.where(Delivery.id < cursor_of("before", before))
    rows = [
        DeliveryRow(
            d.id,
            d.digest_id,
            d.subscriber_id,
            d.email,
            d.message_id,
            d.status,
            d.attempts,
            d.next_attempt_at,
            d.sent_at,
            d.created_at,
            d.updated_at,
            d.last_code,
            d.last_enhanced_code,
            d.last_text,
            [
                AttemptRow(a.attempted_at, a.outcome, a.code, a.enhanced_code, a.text or "")
                for a in d.attempt_log
            ],
        )
        for d in session.scalars(query)
    ]
    return page_of(rows, limit, lambda r: r.id)


@dataclass(frozen=True)
class RetryOutcome:
    id: int
    # sent | deferred | failed: what this attempt did; waiting: reopened but not sent
    # by this call (sending is paused, or a worker has it), it goes in its turn;
    # skipped: not retried, see ``reason``.
    outcome: str
    reason: str | None = None


# How many failed deliveries "retry all failed" sends itself before leaving the rest
# to the workers.
SEND_NOW = 200


@dataclass
class RetryReport:
    retried: int = 0
    skipped: int = 0
    sent: int = 0
    deferred: int = 0
    failed: int = 0
    deliveries: list[RetryOutcome] = field(default_factory=list)  # empty for "all failed"
    queued: int = 0  # made due for the workers' retry sweep rather than sent here


def _send(
    database_url: str,
    ids: list[int],
    settings: Settings,
    sender: Sender,
    now: datetime,
    report: RetryReport,
) -> dict[int, str]:
    """Send reopened deliveries now, in this process; each one's outcome."""
    outcomes: dict[int, str] = {}
    for chunk in pipeline.chunks(ids, settings.batch_size):
        sent = pipeline.send_deliveries(database_url, chunk, settings, sender, lambda: now)
        report.sent += sent.sent
        report.deferred += sent.deferred
        report.failed += sent.failed
        outcomes.update(sent.outcomes)
    report.retried += len(ids)
    return outcomes


def _audit(session: Session, by: tuple[str, str] | None, ids: list[int], summary: str) -> None:
    if by is None or not ids and "every" not in summary:
        return
    audit.act_as(session, *by)
    target = str(ids[0]) if len(ids) == 1 else None
    audit.note(session, "retry", "delivery", target, summary, after={"reopened": ids[:100]})


def retry_deliveries(
    database_url: str,
    ids: Sequence[int],
    settings: Settings,
    sender: Sender,
    now: datetime,
    by: tuple[str, str] | None = None,
) -> RetryReport:
    """Send the failed deliveries among ``ids`` again, now; the others are skipped
    with the reason. Each outcome is in the report, in the order of ``ids``. ``by``
    (who, through what) is recorded in the audit log."""
    wanted = list(dict.fromkeys(ids))
    reasons: dict[int, str] = {}
    reopened: list[int] = []
    with unit_of_work(database_url) as session:
        found = [i for i in wanted if 1 <= i <= MAX_ID]
        statuses = dict(
            session.execute(
                select(Delivery.id, Delivery.status).where(id_in(Delivery.id, found))
            ).all()
        )
        for id_ in wanted:
            if id_ not in statuses:
                reasons[id_] = "there is no such delivery"
            elif lookup.reopen_failed(session, id_, now):
                reopened.append(id_)
            else:
                reasons[id_] = f"it is {statuses[id_]}; only failed deliveries are retried"
        _audit(session, by, reopened, f"{len(reopened)} failed deliveries sent again")
    report = RetryReport(skipped=len(reasons))
    outcomes = _send(database_url, reopened, settings, sender, now, report)
    report.deliveries = [
        RetryOutcome(i, "skipped", reasons[i])
        if i in reasons
        else RetryOutcome(i, outcomes.get(i, "waiting"))
        for i in wanted
    ]
    return report


def retry_delivery(
    database_url: str,
    delivery_id: int,
    settings: Settings,
    sender: Sender,
    now: datetime,
    by: tuple[str, str] | None = None,
) -> RetryOutcome:
    """Send one failed delivery again, now. A missing delivery is :class:`NotFound`;
    one that is not failed is a :class:`Conflict`."""
    report = retry_deliveries(database_url, [delivery_id], settings, sender, now, by)
    outcome = report.deliveries[0]
    if outcome.outcome == "skipped":
        if outcome.reason == "there is no such delivery":
            raise NotFound(f"there is no delivery {delivery_id}")
        raise Conflict("id", f"delivery {delivery_id}: {outcome.reason}")
    return outcome


def retry_failed(
    database_url: str,
    settings: Settings,
    sender: Sender,
    now: datetime,
    send_now: int = SEND_NOW,
    by: tuple[str, str] | None = None,
) -> RetryReport:
    """Make every failed delivery due again. The first ``send_now`` are sent from
    this process at once (so the caller sees their outcome); the rest are left due
    now for the workers' retry sweep, which runs every half minute, so that clearing a
    long outage never ties a request up for as long as thousands of sends take."""
    report = RetryReport()
    with unit_of_work(database_url) as session:
        ids = list(
            session.scalars(
                select(Delivery.id)
                .where(Delivery.status == rules.FAILED)
                .order_by(Delivery.id)
                .limit(send_now)
            )
        )
        reopened = [i for i in ids if lookup.reopen_failed(session, i, now)]
        rest = session.execute(
            update(Delivery)
            .where(Delivery.status == rules.FAILED)
            .values(status=rules.DEFERRED, next_attempt_at=now, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        report.queued = int(getattr(rest, "rowcount", 0) or 0)
        total = len(reopened) + report.queued
        _audit(session, by, reopened, f"every failed delivery sent again ({total})")
    report.skipped = len(ids) - len(reopened)
    _send(database_url, reopened, settings, sender, now, report)
    return report
