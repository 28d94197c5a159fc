"""Run-time switches kept in the database, read by every process: pausing all
sending is honoured by the planner and by the sender.

Sending is paused by an operator, or by the circuit breaker (digest/services/sending/breaker.py)
with its reason. Resuming clears the reason and marks where the breaker starts
counting again, so the attempts that tripped it cannot trip it a second time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Integer, cast, func, select
from sqlalchemy.orm import Session

from digest.db.bulk import upsert_insert
from digest.db.models import Control, DeliveryAttempt

SENDING_PAUSED = "sending_paused"
PAUSE_REASON = "sending_paused_reason"  # why it paused by itself; empty otherwise
# The id of the last delivery attempt made before sending was last resumed.
BREAKER_AFTER = "breaker_after_attempt"
# How many times in a row the breaker's probes failed since it tripped.
BREAKER_TRIPS = "breaker_failed_probes"
REASON_LENGTH = 200  # what controls.value holds


@dataclass(frozen=True)
class PauseState:
    """Whether sending is paused, and by whom, when and why (``reason``: set when it
    paused by itself)."""

    paused: bool
    by: str | None = None
    at: datetime | None = None
    reason: str | None = None


def sending_paused(session: Session) -> bool:
    value = session.scalar(select(Control.value).where(Control.key == SENDING_PAUSED))
    return value == "1"


def pause_state(session: Session) -> PauseState:
    """The pause switch as the dashboard shows it."""
    rows = {
        row.key: row
        for row in session.scalars(
            select(Control).where(Control.key.in_([SENDING_PAUSED, PAUSE_REASON]))
        )
    }
    switch = rows.get(SENDING_PAUSED)
    if switch is None or switch.value != "1":
        return PauseState(False)
    reason = rows[PAUSE_REASON].value if PAUSE_REASON in rows else ""
    return PauseState(True, switch.updated_by, switch.updated_at, reason or None)


def set_sending_paused(
    session: Session, paused: bool, by: str | None, now: datetime, reason: str | None = None
) -> None:
    """Pause or resume all sending; ``reason`` says why it paused when no operator
    did. Resuming clears the reason and starts the circuit breaker's count afresh."""
    row = _row(session, SENDING_PAUSED, "0", now)
    row.value = "1" if paused else "0"
    row.updated_at = now
    row.updated_by = by
    _set(session, PAUSE_REASON, (reason or "")[:REASON_LENGTH] if paused else "", by, now)
    if not paused:
        last = session.scalar(select(func.max(DeliveryAttempt.id)))
        _set(session, BREAKER_AFTER, str(last or 0), by, now)
        _set(session, BREAKER_TRIPS, "0", by, now)
    session.flush()


def switch_locked(session: Session, now: datetime) -> None:
    """Lock the pause switch for this transaction: whoever changes it next waits."""
    _row(session, SENDING_PAUSED, "0", now, lock=True)


def breaker_trips(session: Session) -> int:
    """How many tries in a row the open breaker's probes failed."""
    value = session.scalar(select(Control.value).where(Control.key == BREAKER_TRIPS))
    return int(value) if value and value.isdigit() else 0


def set_breaker_trips(session: Session, trips: int, now: datetime) -> None:
    _set(session, BREAKER_TRIPS, str(trips), None, now)


def pause_unless_paused(session: Session, reason: str, by: str, now: datetime) -> bool:
    """Pause sending with ``reason`` unless it is paused already (the first reason
    stays); whether this call paused it. Workers tripping at once pause it once."""
    row = _row(session, SENDING_PAUSED, "0", now, lock=True)
    if row.value == "1":
        return False
    set_sending_paused(session, True, by, now, reason)
    return True


def breaker_after() -> ColumnElement[int]:
    """The id of the last attempt made before sending was last resumed (0: never), as
    an expression, so that the breaker reads it in the same query as the attempts."""
    value = select(Control.value).where(Control.key == BREAKER_AFTER).scalar_subquery()
    return func.coalesce(cast(value, Integer), 0)


def _row(session: Session, key: str, value: str, now: datetime, lock: bool = False) -> Control:
    """The control ``key``, created with ``value`` if missing; a worker and the web
    process may both create it at once, so the insert skips a row already there."""
    session.execute(
        upsert_insert(session)(Control)
        .values(key=key, value=value, updated_at=now)
        .on_conflict_do_nothing(index_elements=["key"])
    )
    query = select(Control).where(Control.key == key).execution_options(populate_existing=True)
    row = session.scalar(query.with_for_update() if lock else query)
    assert row is not None
    return row


def _set(session: Session, key: str, value: str, by: str | None, now: datetime) -> None:
    row = _row(session, key, value, now)
    row.value, row.updated_at, row.updated_by = value, now, by
