"""What a bounce does to a reader: the bounce policy, applied to one stored event.

The same for every reply: a report taken in by :mod:`digest.services.bounces` and a
relay's refusal during sending (:mod:`digest.services.sending.recording`) each store
one ``bounce_events`` row with its reason, then ask :func:`apply_policy`. The action
for a reason comes from ``settings.bounce_policy`` (see
:mod:`digest.domain.bounce_policy`):

- ``complaint``: unsubscribe and suppress at once (an unsubscribe request from the
  reader's mail client unsubscribes only, which they may undo);
- ``suppress``: suppress and mark bounced once ``hard_bounce_limit`` digests bounced
  for such reasons;
- ``repeat``: the same once ``repeat_bounce_limit`` did within ``soft_bounce_days``;
- ``soft``: the same once ``soft_bounce_limit`` did within ``soft_bounce_days``;
- ``sender``: nothing for the reader (the reply blames our sending; the dashboard's
  sender-health alert shows it);
- ``ignore``, an automatic reply, a delay warning: stored, nothing more.

A digest reported on twice counts once; events the policy did not act on never count.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from digest.bounces.arf import UNSUBSCRIBE_REQUEST
from digest.config import Settings
from digest.db.models import BounceEvent, Subscriber
from digest.domain.bounce_policy import REASONS, Action
from digest.services.readers.suppressing import suppress

# The outcome of an event the policy did not count starts with this.
NO_ACTION = "no action"


class Report(Protocol):
    """What the policy reads of a bounce, a complaint or a refusal."""

    @property
    def kind(self) -> str: ...
    @property
    def reason(self) -> str | None: ...
    @property
    def status(self) -> str | None: ...
    @property
    def action(self) -> str | None: ...
    @property
    def diagnostic(self) -> str | None: ...
    @property
    def reporter(self) -> str | None: ...


def apply_policy(
    session: Session,
    settings: Settings,
    subscriber: Subscriber,
    address: str,
    report: Report,
    at: datetime,
) -> str:
    """Act on one stored event of ``subscriber`` about a message sent to ``address``;
    returns what was done, in words (``suppressed: …``, ``unsubscribed: …``,
    ``counted: …`` or ``no action: …``)."""
    action = settings.bounce_action(report.reason, report.kind)
    if report.kind == "complaint" and report.reporter == UNSUBSCRIBE_REQUEST:
        # The reader's own mail client asking on their behalf: an unsubscribe, which
        # they may undo from their links, not a spam report.
        changed = _move(session, subscriber, address, "unsubscribed", at)
        if changed:
            return "unsubscribed: request from the mail client"
        return f"{NO_ACTION}: already unsubscribed or pending"
    if report.kind == "complaint":
        detail = f"complaint ({report.reporter or 'feedback report'})"
        suppress(session, address, "complaint", detail, at, graver=True)
        changed = _move(session, subscriber, address, "unsubscribed", at)
        return "unsubscribed: complaint" if changed else "suppressed: complaint"
    if report.kind == "auto-reply":
        return f"{NO_ACTION}: automatic reply"
    if report.action == "delayed":
        return f"{NO_ACTION}: a delay warning, the message may still arrive"
    if action == "sender":
        return (
            f"{NO_ACTION}: blames our sending ({report.reason}), not counted against the "
            "reader; see the sender-health alert"
        )
    if action in ("ignore", "complaint"):
        return f"{NO_ACTION}: {report.reason} (the policy does not act on it)"
    return _count_and_act(session, settings, subscriber, address, report, action, at)


def _count_and_act(
    session: Session,
    settings: Settings,
    subscriber: Subscriber,
    address: str,
    report: Report,
    action: Action,
    at: datetime,
) -> str:
    limit = {
        "suppress": settings.hard_bounce_limit,
        "repeat": settings.repeat_bounce_limit,
        "soft": settings.soft_bounce_limit,
    }[action]
    since = None if action == "suppress" else at - settings.soft_bounce_days
    label = {"suppress": "hard bounce", "repeat": "bounce", "soft": "soft"}[action]
    what = " ".join(filter(None, [label, report.status]))
    if report.reason:
        what += f" ({report.reason})"
    within = "" if since is None else f" within {settings.soft_bounce_days.days} days"
    if limit == 0:
        return f"{NO_ACTION}: {what} (the policy does not act on {action} bounces)"
    count = _count(session, settings, subscriber.id, action, since)
    if count < limit:
        return f"counted: {what}, {count} of {limit}{within}"
    detail = report.diagnostic or what
    if action != "suppress":
        detail = f"{count} digests bounced {label}{within}; last: {detail}"
    suppress(session, address, "hard_bounce" if action == "suppress" else "soft_bounce", detail, at)
    _move(session, subscriber, address, "bounced", at)
    if action == "suppress":
        return f"suppressed: {what}"
    many = "soft bounces" if action == "soft" else f"bounces ({report.reason})"
    return f"suppressed: {count} {many}{within}"


def reasons_acting(settings: Settings, action: Action, kind: str) -> Sequence[str]:
    """The reasons the policy gives ``action`` in a bounce of ``kind``."""
    return [r for r in REASONS if settings.bounce_action(r, kind) == action]


def _count(
    session: Session,
    settings: Settings,
    subscriber_id: int,
    action: Action,
    since: datetime | None,
) -> int:
    """Bounced digests whose reason and kind the policy gives ``action`` (a digest
    reported on twice counts once; a report tied to no digest counts on its own).
    Events stored before reasons existed count by their kind."""
    per_digest = func.coalesce(BounceEvent.delivery_id, -BounceEvent.id)
    alike: list[ColumnElement[bool]] = [
        and_(
            BounceEvent.kind == kind,
            BounceEvent.reason.in_(reasons_acting(settings, action, kind)),
        )
        for kind in ("hard", "soft")
    ]
    legacy_kind = "hard" if action == "suppress" else "soft" if action == "soft" else None
    if legacy_kind is not None:
        alike.append(and_(BounceEvent.reason.is_(None), BounceEvent.kind == legacy_kind))
    query = select(func.count(func.distinct(per_digest))).where(
        BounceEvent.subscriber_id == subscriber_id,
        or_(*alike),
        (BounceEvent.action.is_(None)) | (BounceEvent.action != "delayed"),
        # Reports the policy did not act on (not tied to a message of ours) never count.
        ~BounceEvent.outcome.startswith(NO_ACTION),
    )
    if since is not None:
        query = query.where(BounceEvent.received_at > since)
    return int(session.scalar(query) or 0)


def _move(
    session: Session, subscriber: Subscriber, address: str, status: str, at: datetime
) -> bool:
    """Move the subscriber to ``status`` if the bounced address is still theirs and
    their status allows it; whether it moved. A pending subscriber keeps that status
    (the purge of unconfirmed addresses still forgets them)."""
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
