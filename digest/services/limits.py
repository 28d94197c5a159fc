"""Rate limits kept in the database, so every web process counts the same attempts.

An attempt is one row under a hashed key (the raw client address or email address
is never stored here); old rows are deleted by the housekeeping task.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from digest.db.models import RateEvent


def limit_key(kind: str, value: str) -> str:
    """``kind:`` and a hash of ``value``: short, fixed length, and not the value."""
    digest = hashlib.sha256(f"{kind}\x1f{value}".encode()).hexdigest()[:40]
    return f"{kind}:{digest}"


def recent(session: Session, key: str, now: datetime, window: timedelta) -> int:
    """How many attempts ``key`` made in the ``window`` before ``now``."""
    return int(
        session.scalar(
            select(func.count()).where(RateEvent.key == key, RateEvent.at > now - window)
        )
        or 0
    )


def allow(session: Session, key: str, limit: int, now: datetime, window: timedelta) -> bool:
    """Count one attempt for ``key`` unless it already made ``limit`` in the window;
    False (and nothing counted) when it is over the limit."""
    if recent(session, key, now, window) >= limit:
        return False
    session.add(RateEvent(key=key, at=now))
    session.flush()
    return True


def count(session: Session, key: str, now: datetime) -> None:
    """Count one attempt for ``key``."""
    session.add(RateEvent(key=key, at=now))
    session.flush()


def forget_before(session: Session, moment: datetime) -> int:
    """Delete attempts older than ``moment``; returns how many."""
    result = session.execute(delete(RateEvent).where(RateEvent.at < moment))
    return int(getattr(result, "rowcount", 0) or 0)
