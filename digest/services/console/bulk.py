"""Actions on many subscribers at once: change topics, pause, resume, suppress,
delete, export. They apply to the ids an operator ticked or to every match of a
filter (:class:`RosterFilter`), run in the background in batches (each its own
transaction, so a sending worker never waits long on a lock), and keep their
progress in ``bulk_jobs`` for the job's page. Each is recorded in the audit log when
it ends: who, when, what and how many.

A filter is applied as it stands when the job starts: readers who join later are
not touched (the job stops at the highest id that existed then).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from time import sleep
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from digest.db import audit
from digest.db.engine import unit_of_work
from digest.db.models import BulkJob, Subscriber, Topic
from digest.services.console.base import ManagementError, NotFound, get_row
from digest.services.console.bulk_apply import apply_action
from digest.services.console.importing import export_lines
from digest.services.console.roster import RosterFilter, conditions

ACTIONS = {
    "topics": "change topics of",
    "pause": "pause digests of",
    "resume": "resume digests of",
    "suppress": "suppress",
    "delete": "delete, with all their data,",
    "export": "export",
}
BATCH = 500
MAX_IDS = 10_000  # ticked on pages; "every match" has no limit
MAX_PAUSE = timedelta(days=366)
SQLITE_BREATHER = 0.25  # seconds between two batches on SQLite
EXPORT_AGE = timedelta(days=7)  # how long an export's file stays for its download
# A batch takes seconds: a running job whose last batch ended this long ago lost its
# process (a restart).
STALE = timedelta(minutes=30)


@dataclass(frozen=True)
class Selection:
    """Ticked ids, or every match of a filter (up to the highest id at the start)."""

    ids: tuple[int, ...] = ()
    where: RosterFilter | None = None
    upto: int = 0

    def as_json(self) -> str:
        if self.where is not None:
            return json.dumps({"filter": self.where.as_dict(), "upto": self.upto})
        return json.dumps({"ids": list(self.ids)})

    @classmethod
    def from_json(cls, raw: str) -> Selection:
        value = json.loads(raw)
        if "filter" in value:
            return cls(where=RosterFilter(**value["filter"]), upto=int(value["upto"]))
        return cls(ids=tuple(int(i) for i in value["ids"]))

    def describe(self, *, search: bool = True) -> str:
        if self.where is not None:
            return f"every subscriber matching {self.where.describe(search=search)}"
        return "the ticked subscribers"


def check_params(
    session: Session, action: str, raw: dict[str, Any], now: datetime
) -> dict[str, Any]:
    """The action's options, checked; a bad one is refused naming its field."""
    if action not in ACTIONS:
        raise ManagementError("action", f"must be one of {', '.join(ACTIONS)}")
    if action == "topics":
        known = set(session.scalars(select(Topic.slug)))
        params = {}
        for name in ("add", "remove"):
            slugs = sorted({str(s).strip().lower() for s in raw.get(name) or [] if str(s).strip()})
            unknown = [s for s in slugs if s not in known]
            if unknown:
                raise ManagementError(name, f"no topic {unknown[0]!r}")
            params[name] = slugs
        if not params["add"] and not params["remove"]:
            raise ManagementError("add", "choose a topic to add or to remove")
        if set(params["add"]) & set(params["remove"]):
            raise ManagementError("remove", "a topic cannot be both added and removed")
        return params
    if action == "pause":
        raw_until = str(raw.get("until") or "")
        try:
            until = datetime.combine(datetime.fromisoformat(raw_until).date(), time.min, UTC)
        except ValueError:
            raise ManagementError(
                "until", "give the day digests start again (YYYY-MM-DD)"
            ) from None
        if not now < until <= now + MAX_PAUSE:
            raise ManagementError("until", "must be after today and within a year")
        return {"until": until.isoformat()}
    return {}


def count_of(session: Session, selection: Selection, now: datetime) -> int:
    if selection.where is None:
        return len(selection.ids)
    query = (
        select(func.count())
        .select_from(Subscriber)
        .where(*conditions(selection.where, now), Subscriber.id <= selection.upto)
    )
    return session.scalar(query) or 0


def select_for(
    session: Session, ids: list[int] | None, where: RosterFilter | None, upto: int | None = None
) -> Selection:
    """The ticked ``ids`` (checked), or every match of ``where`` among readers up to
    the id ``upto`` (the highest there is when None: a review takes it, and the
    confirmation passes it back, so that readers who join between the two are not
    touched)."""
    if where is not None:
        top = session.scalar(select(func.max(Subscriber.id))) or 0
        return Selection(where=where, upto=top if upto is None else min(upto, top))
    chosen = tuple(sorted(set(ids or ())))
    if not chosen:
        raise ManagementError("ids", "tick at least one subscriber, or choose every match")
    if len(chosen) > MAX_IDS:
        raise ManagementError("ids", f"at most {MAX_IDS} ticked; choose every match instead")
    return Selection(ids=chosen)


def start_bulk(
    session: Session,
    action: str,
    raw_params: dict[str, Any],
    selection: Selection,
    by: str,
    now: datetime,
) -> BulkJob:
    """Record a job for ``action`` on ``selection``; :func:`run_bulk` does it."""
    params = check_params(session, action, raw_params, now)
    job = BulkJob(
        action=action,
        params=json.dumps(params),
        selection=selection.as_json(),
        started_by=by,
        status="running",
        total=count_of(session, selection, now),
        done=0,
        changed=0,
        created_at=now,
    )
    session.add(job)
    session.flush()
    return job


def fail_stale(session: Session, now: datetime) -> int:
    """Mark jobs still "running" whose last batch ended long ago as stopped: their
    process ended (a restart). What they did is done; starting the action again
    finishes it."""
    result = session.execute(
        update(BulkJob)
        .where(
            BulkJob.status == "running",
            func.coalesce(BulkJob.heartbeat_at, BulkJob.created_at) < now - STALE,
        )
        .values(status="failed", error="the action stopped: its process ended", finished_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def forget_exports(data_dir: Path, before: datetime) -> int:
    """Delete export files written before ``before``: they hold readers' addresses,
    and an erased reader must not live on in one."""
    folder = data_dir / "exports"
    gone = 0
    for path in folder.glob("bulk-*.csv") if folder.is_dir() else ():
        if datetime.fromtimestamp(path.stat().st_mtime, UTC) < before:
            path.unlink(missing_ok=True)
            gone += 1
    return gone


def job_of(session: Session, job_id: int) -> BulkJob:
    return get_row(session, BulkJob, job_id, "bulk action")


def latest_jobs(session: Session, limit: int = 10) -> list[BulkJob]:
    return list(session.scalars(select(BulkJob).order_by(BulkJob.id.desc()).limit(limit)))


def describe(job: BulkJob, *, search: bool = True) -> str:
    """The job in words: "pause digests of every subscriber matching status 'active'"."""
    whom = Selection.from_json(job.selection).describe(search=search)
    what = f"{ACTIONS.get(job.action, job.action)} {whom}"
    params = json.loads(job.params)
    if job.action == "topics":
        if params.get("add"):
            what += f", adding {', '.join(params['add'])}"
        if params.get("remove"):
            what += f", removing {', '.join(params['remove'])}"
    elif job.action == "pause":
        what += f", until {params['until'][:10]}"
    return what


def export_path(data_dir: Path, job_id: int) -> Path:
    return data_dir / "exports" / f"bulk-{job_id}.csv"


def _batches(session: Session, selection: Selection, now: datetime, after: int) -> list[int]:
    if selection.where is None:
        return [i for i in selection.ids if i > after][:BATCH]
    query = (
        select(Subscriber.id)
        .where(*conditions(selection.where, now), Subscriber.id > after)
        .where(Subscriber.id <= selection.upto)
        .order_by(Subscriber.id)
        .limit(BATCH)
    )
    return list(session.scalars(query))


def run_bulk(database_url: str, job_id: int, now: datetime, data_dir: Path | None = None) -> None:
    """Do the job in batches, recording progress after each; record it in the audit
    log when it ends, as done by whoever started it."""
    with unit_of_work(database_url) as session:
        job = job_of(session, job_id)
        action, params = job.action, json.loads(job.params)
        selection, by = Selection.from_json(job.selection), job.started_by
    out = None
    if action == "export":
        if data_dir is None:
            raise ValueError("an export needs the data directory")
        target = export_path(data_dir, job_id)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".part")  # renamed into place once complete
        out = partial.open("w", encoding="utf-8", newline="")
    after, error = 0, None
    sqlite = database_url.startswith("sqlite")
    try:
        while True:
            with unit_of_work(database_url) as session:
                ids = _batches(session, selection, now, after)
                if not ids:
                    break
                changed = apply_action(session, action, params, ids, now)
                session.execute(
                    update(BulkJob)
                    .where(BulkJob.id == job_id)
                    .values(
                        done=BulkJob.done + len(ids),
                        changed=BulkJob.changed + changed,
                        heartbeat_at=datetime.now(UTC),
                    )
                )
            if out is not None:
                lines = export_lines(database_url, ids=ids)
                if after:
                    next(lines)  # the header, written once
                out.writelines(lines)
            after = ids[-1]
            if sqlite:
                # SQLite has one writer at a time and every transaction here takes the
                # write lock first: a pause lets the console's pages (this job's own
                # progress among them) in between two batches.
                sleep(SQLITE_BREATHER)
    except Exception as exc:  # recorded on the job's page, then raised for the log
        error = f"{type(exc).__name__}: {exc}"
        raise
    finally:
        if out is not None:
            out.close()
            if error is None:
                partial.replace(target)
            else:
                partial.unlink(missing_ok=True)
        _finish(database_url, job_id, by, error)


def _finish(database_url: str, job_id: int, by: str, error: str | None) -> None:
    with unit_of_work(database_url) as session:
        audit.act_as(session, by, "console")
        job = job_of(session, job_id)
        job.status = "failed" if error else "done"
        job.error = error
        job.finished_at = datetime.now(UTC)
        audit.note(
            session,
            f"bulk {job.action}",
            "subscriber",
            None,
            f"{describe(job, search=False)}: {job.changed} of {job.done} changed"
            + (f" (stopped: {error})" if error else ""),
            after={"matched": job.total, "done": job.done, "changed": job.changed, "job": job.id},
        )


__all__ = [
    "ACTIONS",
    "NotFound",
    "Selection",
    "describe",
    "fail_stale",
    "forget_exports",
    "export_path",
    "job_of",
    "latest_jobs",
    "run_bulk",
    "select_for",
    "start_bulk",
]
