"""Bounces: what a bounce, complaint or automatic reply says, about whom, and what
the bounce policy does about it.

Every way a report arrives (:mod:`digest.services.bounces.intake`: the SMTP/LMTP
receiver, the mailbox poller, a file import) ends in :func:`take_in`. Each recipient
a report names becomes one stored :class:`~digest.db.models.BounceEvent`, matched to
its delivery and subscriber by, in order:

1. the VERP token of the address the report came back to (``bounces+TOKEN@…``);
2. the ``X-Digest-Delivery`` header of our message, quoted by the report;
3. our message's Message-ID, quoted by the report;
4. the failed recipient's address, against the subscriber list.

The first two carry an HMAC under the secret key and the third is random, so a
report that names one of them is about a message we sent. The bounce domain's
receiver takes mail from anyone, though, and anyone can write a report naming an
address: a report matched by the address alone is acted on only when we mailed that
address in the ``RECENT_MAIL`` (:mod:`digest.services.bounces.matching`) before it
arrived (not before the date it claims), else it is stored and nothing more.

Each event carries its reason (:mod:`digest.domain.bounce_policy`), and the bounce
policy (:mod:`digest.services.readers.bouncing`, the same one a relay's refusal
during sending meets) decides what it does: only an unknown user, an unknown host or
an address that moved suppresses at once; a suspended account after a repeat; a full
mailbox and the other soft reasons after ``soft_bounce_limit`` within
``soft_bounce_days``; a complaint unsubscribes and suppresses at once; reasons that
blame our sending (blocked, rejected, spam, policy, authentication) never count
against the reader and feed the dashboard's sender-health alert; a delay warning and
an automatic reply are stored and change nothing. Authentication-failure reports
(DMARC) are stored too, about no reader.

A pending subscriber (never confirmed) keeps that status, so that the purge of
unconfirmed addresses still forgets them; their address is suppressed all the same.
A bounce is dated by the report's own Date (never later than when it arrived), so
that importing an old mailbox does not crowd a year of soft bounces into one window.
A report read twice is stored once and acted on once (a fingerprint of the message
and the recipient, unique in the table).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from email.parser import BytesHeaderParser
from email.utils import parsedate_to_datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from digest.bounces.bounce import Bounce
from digest.bounces.parse import parse_message
from digest.config import Settings
from digest.db.bulk import upsert_insert
from digest.db.models import BounceEvent, Subscriber, table_of
from digest.domain.bounce_policy import SENDER_SIDE
from digest.services.bounces.matching import TIED, UNMATCHED, Match, find, mailed_recently
from digest.services.readers.bouncing import apply_policy
from digest.services.sending import breaker

SOURCES = ("smtp", "lmtp", "mailbox", "import")
ACTED_ON = ("hard", "soft", "complaint")
# A delivery's bounce_kind keeps the gravest report about it.
GRAVITY = {"soft": 1, "hard": 2, "complaint": 3}


@dataclass(frozen=True)
class Taken:
    """One recipient of one report, as taken in."""

    kind: str
    recipient: str | None
    matched_by: str
    subscriber_id: int | None
    delivery_id: int | None
    outcome: str
    duplicate: bool = False


@dataclass
class IntakeReport:
    """What a run of intake (one message, a file, a mailbox poll) took in."""

    messages: int = 0
    events: int = 0
    duplicates: int = 0
    not_bounces: int = 0
    unmatched: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    actions: Counter[str] = field(default_factory=Counter)  # suppressed, unsubscribed

    def add(self, taken: list[Taken], not_bounces: int) -> None:
        self.messages += 1
        self.not_bounces += not_bounces
        for item in taken:
            if item.duplicate:
                self.duplicates += 1
                continue
            self.events += 1
            self.kinds[item.kind] += 1
            if item.matched_by == UNMATCHED:
                self.unmatched += 1
            action = item.outcome.split(":", 1)[0]
            if action in ("suppressed", "unsubscribed"):
                self.actions[action] += 1

    def merge(self, other: IntakeReport) -> None:
        """Count ``other`` in this report too."""
        self.messages += other.messages
        self.events += other.events
        self.duplicates += other.duplicates
        self.not_bounces += other.not_bounces
        self.unmatched += other.unmatched
        self.kinds.update(other.kinds)
        self.actions.update(other.actions)

    def summary(self) -> str:
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(self.kinds.items())) or "nothing new"
        acted = ", ".join(f"{n} {a}" for a, n in sorted(self.actions.items())) or "no action"
        return (
            f"{self.messages} messages: {kinds}; {acted}; {self.unmatched} unmatched, "
            f"{self.duplicates} already taken in, {self.not_bounces} not bounces"
        )


def verp_prefix(settings: Settings) -> str:
    """The local part VERP addresses start with (``bounces`` of ``bounces+TOKEN@…``)."""
    if settings.bounce_address is None:
        return "bounces"
    return settings.bounce_address.rpartition("@")[0]


def take_in(
    session: Session,
    settings: Settings,
    data: bytes,
    *,
    source: str,
    now: datetime,
    envelope_to: str | None = None,
    report: IntakeReport | None = None,
) -> list[Taken]:
    """Read one raw message, store what it reports and apply the policy; returns one
    :class:`Taken` per recipient it names (none when it is not a bounce). Adds to
    ``report`` when one is given. Never raises for what the message holds."""
    if source not in SOURCES:
        raise ValueError(f"unknown bounce source {source!r} (known: {', '.join(SOURCES)})")
    found = parse_message(data, verp_prefix=verp_prefix(settings), envelope_to=envelope_to)
    # Authentication-failure reports are about our sending, not a reader: stored all the
    # same, for the dashboard's sender-health alert.
    reports = [b for b in found if b.kind != "not-bounce" or b.reason == "auth_failure"]
    digest_of_message = hashlib.sha256(data).hexdigest()
    dated = reported_at(data, now) if reports else now
    taken = [
        _record(session, settings, b, _fingerprint(digest_of_message, b), source, dated, now)
        for b in reports
    ]
    if any(b.reason in SENDER_SIDE for b in reports):
        breaker.check_reports(session, settings, now)
    if report is not None:
        report.add(taken, len(found) - len(reports))
    return taken


def reported_at(data: bytes, now: datetime) -> datetime:
    """When the report was written (its Date field), never later than ``now``."""
    try:
        value = BytesHeaderParser().parsebytes(data).get("Date")
        moment = parsedate_to_datetime(str(value)) if value else None
    except (TypeError, ValueError, IndexError):
        moment = None
    if moment is None or moment.tzinfo is None or moment > now:
        return now
    return moment


def _fingerprint(digest_of_message: str, bounce: Bounce) -> str:
    # One event per recipient per message: a report about two recipients is two, and
    # so is one message delivered to two VERP addresses (a relay that batched them).
    parts = (digest_of_message, bounce.verp_token or "", bounce.recipient or "", bounce.kind)
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


def _record(
    session: Session,
    settings: Settings,
    bounce: Bounce,
    fingerprint: str,
    source: str,
    at: datetime,
    now: datetime,
) -> Taken:
    """Store one event dated ``at`` (as its report says) and arrived at ``now``."""
    match = find(session, settings, bounce)
    subscriber = match.subscriber
    if subscriber is not None:
        # Reports about one subscriber are counted one at a time (PostgreSQL).
        session.execute(
            select(Subscriber.id).where(Subscriber.id == subscriber.id).with_for_update()
        )
    event_id = _insert_event(session, fingerprint, bounce, source, at, match)
    if event_id is None:  # taken in before, perhaps at this moment by another process
        return Taken(bounce.kind, bounce.recipient, "", None, None, "", duplicate=True)
    delivery = match.delivery
    if delivery is not None and _graver(bounce, delivery.bounce_kind):
        delivery.bounce_kind, delivery.bounce_reason = bounce.kind, bounce.reason
        delivery.bounced_at = at
    if subscriber is None:
        outcome = "no subscriber matched"
    elif match.how not in TIED and not mailed_recently(session, subscriber, now):
        outcome = "no action: names the address only, and nothing was mailed to it lately"
    else:
        address = delivery.email if delivery is not None else subscriber.email
        outcome = apply_policy(session, settings, subscriber, address, bounce, at)
    session.execute(update(BounceEvent).where(BounceEvent.id == event_id).values(outcome=outcome))
    return Taken(
        bounce.kind,
        bounce.recipient,
        match.how,
        subscriber.id if subscriber else None,
        delivery.id if delivery else None,
        outcome,
    )


def _graver(bounce: Bounce, known: str | None) -> bool:
    """Whether ``bounce`` says more about its delivery than the ``known`` kind."""
    if bounce.kind not in ACTED_ON or bounce.action == "delayed":
        return False
    return GRAVITY[bounce.kind] >= GRAVITY.get(known or "", 0)


def _insert_event(
    session: Session, fingerprint: str, bounce: Bounce, source: str, at: datetime, match: Match
) -> int | None:
    """Store the event; None when its fingerprint is already stored."""
    statement = (
        upsert_insert(session)(table_of(BounceEvent))
        .values(
            fingerprint=fingerprint,
            received_at=at,
            source=source,
            kind=bounce.kind,
            reason=bounce.reason,
            how=bounce.how,
            recipient=_cut(bounce.recipient, 320),
            status=_cut(bounce.status, 16),
            action=_cut(bounce.action, 40),
            diagnostic=bounce.diagnostic,
            reporter=_cut(bounce.reporter, 300),
            message_id=_cut(bounce.message_id, 300),
            matched_by=match.how,
            delivery_id=match.delivery.id if match.delivery else None,
            subscriber_id=match.subscriber.id if match.subscriber else None,
            outcome="",
        )
        .on_conflict_do_nothing(index_elements=["fingerprint"])
        .returning(BounceEvent.id)
    )
    return session.scalar(statement)


def _cut(value: str | None, size: int) -> str | None:
    return value[:size] if value else value
