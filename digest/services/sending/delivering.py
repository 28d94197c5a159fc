"""Delivering: claim deliveries, render and send them over one SMTP connection,
and record every attempt.

Exactly-once rests on two things: a delivery is claimed by a conditional update
(only one worker can move it from queued/deferred to sending), and its outcome is
recorded only while it is still that worker's claim (row locked, still 'sending'),
in the same transaction as the sent-ledger (digest/services/sending/recording.py). Outcomes
are recorded in small groups, a fixed number of statements per group.

No reply is forgotten: each one goes to the reply journal (journal.py) before the
next message goes to the relay, a group whose recording fails is tried again while
the database is away (up to RECORD_PATIENCE), and whatever the journal still holds is
recorded by the sweep before it releases a claim. The claims of a batch are renewed
while it is being sent (HEARTBEAT), so the claims of a worker that died run out after
CLAIM_LEASE, not after the longest batch.

Each message keeps within the sending limits (digest/services/sending/throttling.py), and
after each group the circuit breaker (digest/services/sending/breaker.py) may stop the batch.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session, selectinload

from digest.config import Settings
from digest.db.engine import unit_of_work
from digest.db.models import Delivery, Digest, Subscriber, id_in
from digest.domain import delivery as rules
from digest.mail.sender import Connection, Sender
from digest.services.readers.suppressing import suppressed_among
from digest.services.sending import breaker
from digest.services.sending.building import Built
from digest.services.sending.composing import contents
from digest.services.sending.journal import Entry, Journal, JournalError, journal_of
from digest.services.sending.outgoing import Outgoing, outgoing_for
from digest.services.sending.recording import Attempt, Postponement, record
from digest.services.sending.throttling import Postponed, Throttle

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
# A claim not renewed for this long belongs to a worker that died mid-send. A live
# send loop renews its claims every HEARTBEAT seconds; one message may hold it up for
# the SMTP timeout (30 s) and the sending limits' longest sleep (10 s), well within.
CLAIM_LEASE = timedelta(seconds=75)
HEARTBEAT = 15.0
# Replies are recorded in groups, one transaction for up to RECORD_EVERY attempts and
# never later than RECORD_WITHIN after the oldest of them (each is in the journal
# meanwhile).
RECORD_EVERY = 50
RECORD_WITHIN = 1.0
# How long a send loop keeps trying to record a group while the database is away,
# sending nothing more meanwhile; after that it gives up, and the sweep records what
# the journal holds.
RECORD_PATIENCE = 90.0
# Errors that mean the database could not be reached or lost the connection, as
# opposed to a statement it refused.
UNREACHABLE = (OperationalError, InterfaceError)
# Work still waiting this long after it was queued has lost its task (e.g. the broker
# restarted empty) and is queued again by the sweep; sooner when the broker holds no
# task at all (LOST_WHEN_IDLE), since then nothing still waiting can be in a queue.
LOST_AFTER = timedelta(minutes=10)
LOST_WHEN_IDLE = timedelta(minutes=1)


@dataclass
class SendReport:
    sent: int = 0
    deferred: int = 0
    failed: int = 0
    not_claimed: int = 0
    outcomes: dict[int, str] = field(default_factory=dict)

    def count(self, statuses: dict[int, str]) -> None:
        """Add recorded outcomes (each delivery's new status) to the report."""
        for delivery_id, status in statuses.items():
            self.outcomes[delivery_id] = status
            if status == rules.SENT:
                self.sent += 1
            elif status == rules.DEFERRED:
                self.deferred += 1
            elif status == rules.FAILED:
                self.failed += 1


def claim(session: Session, ids: list[int], now: datetime) -> list[int]:
    """Move the deliveries among ``ids`` that are ready to 'sending'; returns those."""
    stmt = (
        update(Delivery)
        .where(
            id_in(Delivery.id, ids),
            or_(
                Delivery.status == rules.QUEUED,
                (Delivery.status == rules.DEFERRED) & (Delivery.next_attempt_at <= now),
            ),
        )
        .values(status=rules.SENDING, claimed_at=now, updated_at=now)
        .returning(Delivery.id)
    )
    return sorted(session.scalars(stmt))


def prepare(session: Session, ids: list[int], settings: Settings, now: datetime) -> list[Outgoing]:
    """Render the claimed deliveries; addresses that may no longer be mailed are
    marked blocked (checked again here, at send time, not only when planned)."""
    deliveries = list(
        session.scalars(select(Delivery).where(id_in(Delivery.id, ids)).order_by(Delivery.id))
    )
    digests = {
        d.id: d
        for d in session.scalars(
            select(Digest).where(id_in(Digest.id, [x.digest_id for x in deliveries]))
        )
    }
    subs = {
        s.id: s
        for s in session.scalars(
            select(Subscriber)
            .where(id_in(Subscriber.id, [x.subscriber_id for x in deliveries]))
            .options(selectinload(Subscriber.subscriptions))
        )
    }
    suppressed = suppressed_among(session, [x.email for x in deliveries])
    content = contents(session, list(digests.values()), subs, site_language=settings.language)
    out = []
    for delivery in deliveries:
        sub = subs[delivery.subscriber_id]
        blocked = delivery.email in suppressed or sub.email in suppressed
        reason = rules.why_not_send(sub.status, sub.paused_until, blocked, now)
        if reason is not None:
            out.append(Outgoing(delivery.id, delivery.email, None, reason))
        else:
            out.append(
                outgoing_for(
                    delivery.id,
                    delivery.email,
                    delivery.message_id,
                    sub,
                    content[delivery.digest_id],
                    settings,
                    now,
                    delivery.digest_id,
                )
            )
    return out


def prepare_built(
    session: Session, built: list[Built], settings: Settings, now: datetime
) -> list[Outgoing]:
    """Render digests just built and claimed in this transaction, from what building
    already holds in memory (their subscribers were checked as they were built)."""
    content = contents(
        session,
        [b.digest for b in built],
        {b.subscriber.id: b.subscriber for b in built},
        {b.digest.id: b.sections for b in built},
        site_language=settings.language,
    )
    return [
        outgoing_for(
            b.delivery_id,
            b.subscriber.email,
            b.message_id,
            b.subscriber,
            content[b.digest.id],
            settings,
            now,
            b.digest.id,
        )
        for b in built
    ]


def send_deliveries(
    database_url: str, ids: list[int], settings: Settings, sender: Sender, clock: Clock
) -> SendReport:
    """Send the deliveries among ``ids`` that are ready, over one connection."""
    if not ids:
        return SendReport()
    with unit_of_work(database_url) as session:
        claimed = claim(session, ids, clock())
    if not claimed:
        return SendReport(not_claimed=len(ids))
    with unit_of_work(database_url) as session:
        outgoing = prepare(session, claimed, settings, clock())
    report = send_outgoing(database_url, outgoing, settings, sender, clock)
    report.not_claimed = len(ids) - len(claimed)
    return report


def send_outgoing(
    database_url: str,
    outgoing: list[Outgoing],
    settings: Settings,
    sender: Sender,
    clock: Clock,
    sleep: Callable[[float], None] = time.sleep,
    *,
    probing: bool = False,
) -> SendReport:
    """Send claimed, rendered deliveries over one connection, within the sending
    limits, and record the outcomes in groups as the relay answers. Once sending is
    paused (by an operator or the circuit breaker, seen after each group) or Redis
    cannot tell the limits, the rest of the batch goes back to deferred unsent.

    Each reply is made durable (journal, else the database) before the next message
    goes out. While the database is away the loop sends nothing and keeps trying to
    record; it raises the database's error after RECORD_PATIENCE, leaving the rest of
    the batch claimed for the sweep. ``probing``: these are the open circuit
    breaker's probes, sent although sending is paused (digest/services/sending/healing.py)."""
    report = SendReport()
    throttle = Throttle(settings)
    journal = journal_of(settings)
    pending: list[Attempt] = []
    unrecorded = {item.delivery_id for item in outgoing}  # claimed, no outcome stored yet
    oldest = 0.0
    renewed = time.monotonic()
    held: Postponement | None = None  # once set, why the rest of the batch waits
    gave_up = False

    def flush(renew: bool = False) -> None:
        nonlocal held, renewed, gave_up
        if not pending and not renew:
            return
        deadline = time.monotonic() + RECORD_PATIENCE
        delay = 0.25
        while True:
            try:
                with unit_of_work(database_url) as session:
                    now = clock()
                    statuses = record(session, pending, settings, now)
                    left = unrecorded - set(statuses)
                    if left:
                        _renew(session, left, now)
                    stop = None if probing else breaker.check(session, settings, now)
                break
            except UNREACHABLE as exc:
                if time.monotonic() + delay > deadline:
                    gave_up = True
                    raise
                log.warning(
                    "recording %d attempt(s) failed, trying again in %.1f s: %s",
                    len(pending),
                    delay,
                    str(exc).splitlines()[0][:200],
                )
                sleep(delay)
                delay = min(delay * 2, 5.0)
        renewed = time.monotonic()
        unrecorded.difference_update(statuses)
        journal.forget(a.delivery_id for a in pending if a.reply is not None)
        pending.clear()
        report.count(statuses)
        if stop is not None and held is None:
            held = Postponement(stop, now)

    try:
        with sender.session() as conn:
            for item in outgoing:
                if time.monotonic() - renewed >= HEARTBEAT:
                    flush(renew=True)  # the heartbeat: renews the claims still to send
                if held is not None:
                    attempt = Attempt(item.delivery_id, None, postponed=held)
                else:
                    attempt = _attempt(conn, item, settings, throttle, clock)
                    if throttle.unreachable:  # no more without the limits
                        held = attempt.postponed
                if not pending:
                    oldest = time.monotonic()
                pending.append(attempt)
                durable = attempt.reply is None or _journal(journal, attempt, clock)
                if (
                    not durable
                    or len(pending) >= RECORD_EVERY
                    or time.monotonic() - oldest >= RECORD_WITHIN
                ):
                    flush()
    finally:
        # Whatever stopped the loop, what the relay already answered is recorded.
        if not gave_up:
            flush()
    return report


def _journal(journal: Journal, attempt: Attempt, clock: Clock) -> bool:
    """Keep ``attempt``'s reply in the journal; False when it could not be kept (the
    caller then records it in the database before sending anything more). A journal
    in memory (no broker at hand) counts as kept: it outlives a database outage, not
    this process."""
    assert attempt.reply is not None
    entry = Entry(attempt.delivery_id, attempt.reply, clock(), attempt.seconds)
    try:
        journal.write(entry)
    except JournalError as exc:
        log.warning("%s; recording each reply at once instead", exc)
        return False
    return True


def _renew(session: Session, ids: set[int], now: datetime) -> None:
    """Renew the claims of ``ids`` that are still ours to send (the heartbeat)."""
    session.execute(
        update(Delivery)
        .where(id_in(Delivery.id, ids), Delivery.status == rules.SENDING)
        .values(claimed_at=now)
    )


def _attempt(
    conn: Connection, item: Outgoing, settings: Settings, throttle: Throttle, clock: Clock
) -> Attempt:
    """Hand one delivery to the relay once the sending limits let it go; or why it
    is not sent (blocked) or not yet (postponed)."""
    if item.data is None:
        return Attempt(item.delivery_id, None, item.blocked)
    admission = throttle.admission(item.to_addr)
    started = time.perf_counter()
    try:
        reply = conn.send(
            item.return_path or settings.from_address, item.to_addr, item.data, admission
        )
    except Postponed as kept:
        until = clock() + timedelta(seconds=kept.wait)
        return Attempt(item.delivery_id, None, postponed=Postponement(kept.reason, until))
    if conn.replayed:
        # No relay of this session can take mail, as the first message's reply said:
        # this one was never offered. It waits, uncounted, rather than adding another
        # throttled or failed attempt for the breaker to judge.
        until = clock() + min(settings.retry_first_delay, rules.SESSION_RETRY)
        reason = f"not sent: no relay could take mail in this session ({reply.text})"
        return Attempt(item.delivery_id, None, postponed=Postponement(reason[:500], until))
    seconds = time.perf_counter() - started - admission.slept
    return Attempt(item.delivery_id, reply, seconds=seconds, session_failed=conn.session_failed)
