"""The suppression list: addresses never to be mailed, matched by their hash."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from digest.db.bulk import upsert_insert
from digest.db.models import Suppression
from digest.domain.consent import address_hash


def suppressed_among(session: Session, emails: Iterable[str]) -> set[str]:
    """Those of ``emails`` that are suppressed (one query)."""
    by_hash = {address_hash(e): e for e in emails}
    if not by_hash:
        return set()
    found = session.scalars(
        select(Suppression.email_hash).where(Suppression.email_hash.in_(list(by_hash)))
    )
    return {by_hash[h] for h in found}


def suppression_of(session: Session, email: str) -> Suppression | None:
    return session.scalar(select(Suppression).where(Suppression.email_hash == address_hash(email)))


def suppress(
    session: Session, email: str, reason: str, detail: str, now: datetime, *, graver: bool = False
) -> None:
    """Add ``email`` to the list. An address already on it keeps its first reason,
    unless ``graver``: then the new reason replaces any but an erasure or another of
    the same (a complaint outranks a bounce an operator might lift)."""
    statement = upsert_insert(session)(Suppression).values(
        email_hash=address_hash(email),
        email=email,
        reason=reason,
        detail=detail,
        created_at=now,
    )
    if graver:
        session.execute(
            statement.on_conflict_do_update(
                index_elements=["email_hash"],
                set_={"reason": reason, "detail": detail},
                where=Suppression.reason.not_in(("erased", reason)),
            )
        )
    else:
        session.execute(statement.on_conflict_do_nothing(index_elements=["email_hash"]))


def suppress_erased(session: Session, email: str, now: datetime) -> None:
    """Keep only the hash of an erased reader's address, so that an import or a new
    form cannot add them back without an operator noticing."""
    entry = suppression_of(session, email)
    if entry is None:
        session.add(
            Suppression(
                email_hash=address_hash(email),
                email=None,
                reason="erased",
                detail="the reader asked for their data to be deleted",
                created_at=now,
            )
        )
    else:
        entry.email = None
        entry.detail = (entry.detail or "") + " (address erased at the reader's request)"
