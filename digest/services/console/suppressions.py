"""The suppression list: addresses never to be mailed, whatever their subscriber
row says."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from digest.db.models import Subscriber, Suppression
from digest.domain.consent import address_hash
from digest.services.console.base import (
    MAX_DETAIL,
    PAGE_SIZE,
    Conflict,
    ManagementError,
    Page,
    cursor_of,
    email_of,
    get_row,
    limit_of,
    one_line,
    page_of,
)
from digest.services.readers.suppressing import suppression_of
from digest.services.readers.unsubscribing import unsubscribe

SUPPRESSION_REASONS = ("manual", "operator", "complaint", "hard_bounce", "soft_bounce")


@dataclass(frozen=True)
class SuppressionRow:
    id: int
    email: str | None  # None: the reader was erased and only a hash is kept
    reason: str
    detail: str | None
    created_at: datetime


def _suppression_row(entry: Suppression) -> SuppressionRow:
    return SuppressionRow(entry.id, entry.email, entry.reason, entry.detail, entry.created_at)


def list_suppressions(
    session: Session, *, after: int = 0, limit: int = PAGE_SIZE
) -> Page[SuppressionRow]:
    query = (
        select(Suppression)
        .where(Suppression.id > cursor_of("after", after))
        .order_by(Suppression.id)
        .limit(limit_of(limit) + 1)
    )
    rows = [_suppression_row(s) for s in session.scalars(query)]
    return page_of(rows, limit, lambda r: r.id)


def add_suppression(
    session: Session, email: str, now: datetime, reason: str = "manual", detail: str | None = None
) -> SuppressionRow:
    """Never mail ``email`` again. A subscriber with that address is marked
    unsubscribed, so no more digests are planned for them."""
    address = email_of(email)
    if reason not in SUPPRESSION_REASONS:
        raise ManagementError("reason", f"must be one of {', '.join(SUPPRESSION_REASONS)}")
    detail = one_line("detail", detail, MAX_DETAIL)
    if suppression_of(session, address) is not None:
        raise Conflict("email", f"{address} is on the suppression list already")
    entry = Suppression(
        email_hash=address_hash(address),
        email=address,
        reason=reason,
        detail=detail,
        created_at=now,
    )
    session.add(entry)
    sub = session.scalar(select(Subscriber).where(Subscriber.email == address))
    if sub is not None and sub.status in ("pending", "active"):
        unsubscribe(session, sub.id, now)
    session.flush()
    return _suppression_row(entry)


def remove_suppression(session: Session, suppression_id: int) -> None:
    """Take an entry off the list: the address may be added and mailed again (a
    subscriber it unsubscribed stays unsubscribed)."""
    session.delete(get_row(session, Suppression, suppression_id, "suppression"))
    session.flush()
