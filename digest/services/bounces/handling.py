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

The policy (settings ``hard_bounce_limit``, ``soft_bounce_limit``,
``soft_bounce_days``):

- hard bounces (the address does not exist) mark the subscriber bounced and
  suppress the address once they had ``hard_bounce_limit`` of them;
- soft bounces (mailbox full, message refused) do the same once
  ``soft_bounce_limit`` digests bounced soft within ``soft_bounce_days``; a warning
  that a message is only delayed is stored and not counted;
- a complaint (the reader marked a digest as spam) unsubscribes and suppresses at
  once, also a subscriber already bounced: mailing someone who complained is what
  gets a sender blocked;
- an automatic reply is stored and changes nothing.

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

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from digest.bounces.arf import UNSUBSCRIBE_REQUEST
from digest.bounces.bounce import Bounce
from digest.bounces.parse import parse_message
from digest.config import Settings
from digest.db.bulk import upsert_insert
from digest.db.models import BounceEvent, Subscriber, table_of
from digest.services.bounces.matching import TIED, UNMATCHED, Match, find, mailed_recently
from digest.services.readers.suppressing import suppress

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
    reports = [b for b in found if b.kind != "not-bounce"]
    digest_of_message = hashlib.sha256(data).hexdigest()
    dated = reported_at(data, now) if reports else now
    taken = [
        _record(session, settings, b, _fingerprint(digest_of_message, b), source, dated, now)
        for b in reports
    ]
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
        delivery.bounce_kind, delivery.bounced_at = bounce.kind, at
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


def apply_policy(
    session: Session,
    settings: Settings,
    subscriber: Subscriber,
    address: str,
    bounce: Bounce,
    at: datetime,
) -> str:
    """Act on one stored event of ``subscriber`` about a message sent to ``address``;
    returns what was done, in words (``suppressed: …``, ``unsubscribed: …``,
    ``counted: …`` or ``no action: …``)."""
    if bounce.kind == "complaint" and bounce.reporter == UNSUBSCRIBE_REQUEST:
        # The reader's own mail client asking on their behalf: an unsubscribe, which
        # they may undo from their links, not a spam report.
        changed = _move(session, subscriber, address, "unsubscribed", at)
        if changed:
            return "unsubscribed: request from the mail client"
        return "no action: already unsubscribed or pending"
    if bounce.kind == "complaint":
        detail = f"complaint ({bounce.reporter or 'feedback report'})"
        suppress(session, address, "complaint", detail, at, graver=True)
        changed = _move(session, subscriber, address, "unsubscribed", at)
        return "unsubscribed: complaint" if changed else "suppressed: complaint"
    if bounce.kind == "auto-reply":
        return "no action: automatic reply"
    if bounce.action == "delayed":
        return "no action: a delay warning, the message may still arrive"
    hard = bounce.kind == "hard"
    limit = settings.hard_bounce_limit if hard else settings.soft_bounce_limit
    since = None if hard else at - settings.soft_bounce_days
    what = f"{'hard bounce' if hard else 'soft'} {bounce.status or ''}".strip()
    within = "" if hard else f" within {settings.soft_bounce_days.days} days"
    if limit == 0:
        return f"no action: {what} (the policy does not act on them)"
    count = _count(session, subscriber.id, bounce.kind, since)
    if count < limit:
        return f"counted: {what}, {count} of {limit}{within}"
    detail = bounce.diagnostic or what
    if not hard:
        detail = f"{count} digests bounced soft{within}; last: {detail}"
    suppress(session, address, "hard_bounce" if hard else "soft_bounce", detail, at)
    _move(session, subscriber, address, "bounced", at)
    return f"suppressed: {what}" if hard else f"suppressed: {count} soft bounces{within}"


def _move(
    session: Session, subscriber: Subscriber, address: str, status: str, at: datetime
) -> bool:
    """Move the subscriber to ``status`` if the bounced address is still theirs and
    their status allows it (see the module docstring); whether it moved."""
    if address.lower() != subscriber.email.lower():
        return False  # an operator changed the address since: the new one is untested
    allowed = ("active",) if status == "bounced" else ("active", "bounced")
    changes: dict[str, object] = {"status": status}
    if status == "unsubscribed":
        changes["unsubscribed_at"] = at
    moved = session.execute(
        update(Subscriber)
        .where(Subscriber.id == subscriber.id, Subscriber.status.in_(allowed))
        .values(**changes)
    )
    session.refresh(subscriber)
    return bool(getattr(moved, "rowcount", 0))


def _count(session: Session, subscriber_id: int, kind: str, since: datetime | None) -> int:
    """Bounced digests of one kind (a digest reported on twice counts once; a
    report tied to no digest counts on its own)."""
    per_digest = func.coalesce(BounceEvent.delivery_id, -BounceEvent.id)
    query = select(func.count(func.distinct(per_digest))).where(
        BounceEvent.subscriber_id == subscriber_id,
        BounceEvent.kind == kind,
        (BounceEvent.action.is_(None)) | (BounceEvent.action != "delayed"),
        # Reports the policy did not act on (not tied to a message of ours) never count.
        ~BounceEvent.outcome.startswith("no action"),
    )
    if since is not None:
        query = query.where(BounceEvent.received_at > since)
    return int(session.scalar(query) or 0)
