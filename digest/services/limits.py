"""Rate limits kept in the database, so every web process counts the same attempts.

An attempt is one row under a hashed key (the raw client address or email address
is never stored here); old rows are deleted by the housekeeping task.

Counting and checking are one step (:func:`take`): callers of the same key take turns
until their transaction ends, so requests arriving together cannot all see room under
the limit. On PostgreSQL the turn is a transaction-scoped advisory lock on the key; on
SQLite every transaction begins IMMEDIATE (see ``digest.db.engine``), holding the
database's write lock from its first read to its commit.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from digest.db.models import RateEvent


def limit_key(kind: str, value: str) -> str:
    """``kind:`` and a hash of ``value``: short, fixed length, and not the value."""
    digest = hashlib.sha256(f"{kind}\x1f{value}".encode()).hexdigest()[:40]
    return f"{kind}:{digest}"


def client_key(address: str) -> str:
    """The client a per-client limit counts ``address`` under: an IPv4 address as it
    is; an IPv6 address as its /64 network (one home or server is given a whole /64 and
    may pick any address in it); an IPv4-mapped IPv6 address as its IPv4 address.
    Anything that is not an address is left as it is."""
    try:
        ip = ipaddress.ip_address(address.strip().split("%", 1)[0])
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def recent(session: Session, key: str, now: datetime, window: timedelta) -> int:
    """How many attempts ``key`` made in the ``window`` before ``now``."""
    return int(
        session.scalar(
            select(func.count()).where(RateEvent.key == key, RateEvent.at > now - window)
        )
        or 0
    )


def _lock_id(key: str) -> int:
    """A stable signed 64-bit number for ``key``, as PostgreSQL's advisory locks take."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)


def _wait_turn(session: Session, keys: Sequence[str]) -> None:
    """Hold ``keys`` until the session's transaction ends (PostgreSQL; SQLite's
    transactions hold the write lock already). Taken in one order, so two callers
    with overlapping keys cannot each wait for the other."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for lock_id in sorted({_lock_id(k) for k in keys}):
        session.execute(select(func.pg_advisory_xact_lock(lock_id)))


def take_all(
    session: Session, limits: Mapping[str, int], now: datetime, window: timedelta
) -> list[int] | None:
    """Count one attempt under each key of ``limits`` unless one of them already made
    its limit in the ``window``: the ids of the attempts counted, or None when over a
    limit (and nothing counted). Other callers of these keys wait until this
    transaction ends, so the check and the count are one step."""
    _wait_turn(session, list(limits))
    if any(recent(session, key, now, window) >= limit for key, limit in limits.items()):
        return None
    events = [RateEvent(key=key, at=now) for key in limits]
    session.add_all(events)
    session.flush()
    return [event.id for event in events]


def take(session: Session, key: str, limit: int, now: datetime, window: timedelta) -> bool:
    """Count one attempt for ``key`` unless it already made ``limit`` in the window;
    False (and nothing counted) when it is over the limit. See :func:`take_all`."""
    return take_all(session, {key: limit}, now, window) is not None


def give_back(session: Session, taken: Sequence[int]) -> None:
    """Uncount attempts :func:`take_all` counted in this transaction (an attempt that
    turned out not to be one the limit is about)."""
    session.execute(delete(RateEvent).where(RateEvent.id.in_(list(taken))))


def forget_before(session: Session, moment: datetime) -> int:
    """Delete attempts older than ``moment``; returns how many."""
    result = session.execute(delete(RateEvent).where(RateEvent.at < moment))
    return int(getattr(result, "rowcount", 0) or 0)
