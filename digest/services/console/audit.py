"""The audit log as operators read it: every change made in the console, through the
API or with a management command, newest first, filtered by who, what, which row and
when; and its purge once entries pass the retention setting (``DIGEST_AUDIT_DAYS``).

Entries are written by :mod:`digest.db.audit` as the changes flush.
"""

from __future__ import annotations

import getpass
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from digest.db.audit import act_as, act_for_process, note
from digest.db.models import AuditEntry
from digest.services.console.base import Page, cursor_of, limit_of, page_of

__all__ = [
    "ACTIONS",
    "TARGETS",
    "AuditFilter",
    "AuditRow",
    "act_as",
    "act_for_process",
    "command_line",
    "actors",
    "list_entries",
    "note",
    "purge_audit",
]

ACTIONS = ("create", "update", "delete", "bulk", "retry")
TARGETS = (
    "subscriber",
    "topic",
    "feed",
    "article",
    "suppression",
    "admin",
    "api key",
    "sending",
    "delivery",
)
PURGE_BATCH = 1000


@dataclass(frozen=True)
class AuditFilter:
    actor: str = ""
    action: str = ""  # one of ACTIONS ("bulk" matches every bulk action)
    target: str = ""
    target_id: str = ""
    since: date | None = None  # days, in UTC, both included
    until: date | None = None

    @property
    def active(self) -> bool:
        return any((self.actor, self.action, self.target, self.target_id, self.since, self.until))


@dataclass
class AuditRow:
    id: int
    at: datetime
    actor: str
    via: str
    action: str
    target: str
    target_id: str | None
    summary: str
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)

    @property
    def changes(self) -> list[tuple[str, Any, Any]]:
        """(field, before, after) for each field the entry names, in name order."""
        keys = sorted({*self.before, *self.after})
        return [(k, self.before.get(k), self.after.get(k)) for k in keys]


def _loads(raw: str | None) -> dict[str, Any]:
    value = json.loads(raw) if raw else {}
    return value if isinstance(value, dict) else {}


def _row(entry: AuditEntry) -> AuditRow:
    return AuditRow(
        id=entry.id,
        at=entry.at,
        actor=entry.actor,
        via=entry.via,
        action=entry.action,
        target=entry.target,
        target_id=entry.target_id,
        summary=entry.summary,
        before=_loads(entry.before),
        after=_loads(entry.after),
    )


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def command_line() -> None:
    """Record this management command's changes as the system user's, via ``cli``."""
    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = "unknown user"
    act_for_process(f"{who} (command line)", "cli")


def list_entries(
    session: Session, where: AuditFilter, *, before: int | None = None, limit: int = 50
) -> Page[AuditRow]:
    """Entries matching every field of ``where``, newest first; ``before`` continues
    from an entry id."""
    limit = limit_of(limit)
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit + 1)
    if before is not None:
        query = query.where(AuditEntry.id < cursor_of("before", before))
    if where.actor:
        query = query.where(AuditEntry.actor == where.actor)
    if where.action == "bulk":
        query = query.where(AuditEntry.action.startswith("bulk"))
    elif where.action:
        query = query.where(AuditEntry.action == where.action)
    if where.target:
        query = query.where(AuditEntry.target == where.target)
    if where.target_id:
        query = query.where(AuditEntry.target_id == where.target_id)
    if where.since is not None:
        query = query.where(AuditEntry.at >= _start_of(where.since))
    if where.until is not None and where.until < date.max:
        query = query.where(AuditEntry.at < _start_of(where.until) + timedelta(days=1))
    rows = [_row(e) for e in session.scalars(query)]
    return page_of(rows, limit, lambda r: r.id)


def actors(session: Session, limit: int = 200) -> list[str]:
    """Everyone the log names, for the filter's list."""
    query = select(AuditEntry.actor).distinct().order_by(AuditEntry.actor).limit(limit)
    return list(session.scalars(query))


def purge_audit(session: Session, before: datetime, batch: int = PURGE_BATCH) -> int:
    """Delete entries older than ``before``, ``batch`` rows per statement, committing
    between batches so that no statement holds many rows locked; returns how many."""
    purged = 0
    while True:
        ids = list(
            session.scalars(
                select(AuditEntry.id)
                .where(AuditEntry.at < before)
                .order_by(AuditEntry.id)
                .limit(batch)
            )
        )
        if not ids:
            return purged
        session.execute(
            delete(AuditEntry)
            .where(AuditEntry.id.in_(ids))
            .execution_options(synchronize_session=False)
        )
        session.commit()
        purged += len(ids)
