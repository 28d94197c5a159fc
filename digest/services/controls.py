"""Run-time switches kept in the database, read by every process: pausing all
sending is honoured by the planner and by the sender."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from digest.db.models import Control

SENDING_PAUSED = "sending_paused"


def sending_paused(session: Session) -> bool:
    value = session.scalar(select(Control.value).where(Control.key == SENDING_PAUSED))
    return value == "1"


def set_sending_paused(session: Session, paused: bool, by: str | None, now: datetime) -> None:
    row = session.get(Control, SENDING_PAUSED)
    if row is None:
        row = Control(key=SENDING_PAUSED, value="0")
        session.add(row)
    row.value = "1" if paused else "0"
    row.updated_at = now
    row.updated_by = by
    session.flush()
