"""Subscriber CSV import and export that stream: memory stays flat whatever the
file's length.

The import reads the file row by row and stores it in batches, each in its own
transaction, so a 100,000-row file never holds more than one batch of rows and
objects. Re-importing the same file changes nothing: a row only writes what
differs from what is stored. An address on the suppression list is never added
back, and an import never re-activates someone who left (it may update their
profile, not their status). Every refused row is reported by its row number, the
column at fault and the reason.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

from sqlalchemy import insert, select, true
from sqlalchemy.orm import Session, selectinload

from digest.db import audit
from digest.db.engine import unit_of_work
from digest.db.models import (
    ImportJob,
    ImportProblem,
    Subscriber,
    Subscription,
    Topic,
    id_in,
    table_of,
)
from digest.domain.schedule import WEEKDAYS
from digest.services.console.base import MAX_ID
from digest.services.console.csvfiles import (
    EXPORT_COLUMNS,
    ImportRefused,
    Problem,
    Row,
    csv_lines,
    read_rows,
    topics_cell,
)
from digest.services.readers.choices import reschedule
from digest.services.readers.suppressing import suppressed_among

BATCH_SIZE = 1000


@dataclass
class Totals:
    rows: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    read_bytes: int = 0


def _store(
    session: Session, rows: list[Row], *, confirmed: bool, now: datetime, totals: Totals
) -> list[Problem]:
    """Store one batch: new rows inserted in bulk, existing ones changed only where
    they differ. Returns the rows refused because the address is suppressed."""
    refused = suppressed_among(session, [r.email for r in rows])
    problems = [
        Problem(r.line, "email", f"{r.email} is on the suppression list; not imported")
        for r in rows
        if r.email in refused
    ]
    rows = [r for r in rows if r.email not in refused]
    existing = {
        s.email: s
        for s in session.scalars(
            select(Subscriber)
            .where(Subscriber.email.in_([r.email for r in rows]))
            .options(selectinload(Subscriber.subscriptions))
        )
    }
    fresh = [r for r in rows if r.email not in existing]
    if fresh:
        status = "active" if confirmed else "pending"
        ids = session.execute(
            insert(table_of(Subscriber)).returning(
                table_of(Subscriber).c.id, table_of(Subscriber).c.email
            ),
            [
                {
                    "email": r.email,
                    "name": r.name,
                    "status": status,
                    "timezone": r.timezone,
                    "hour": r.hour,
                    "weekday": r.weekday,
                    "language": r.language,
                    "created_at": now,
                    "confirmed_at": now if confirmed else None,
                }
                for r in fresh
            ],
        ).all()
        id_of = {email: id_ for id_, email in ids}
        session.execute(
            insert(table_of(Subscription)),
            [
                {"subscriber_id": id_of[r.email], "topic_id": t, "frequency": f}
                for r in fresh
                for t, f in sorted(r.topics.items())
            ],
        )
        totals.added += len(fresh)
    for row in rows:
        sub = existing.get(row.email)
        if sub is None:
            continue
        if _update(session, sub, row, confirmed=confirmed, now=now):
            totals.updated += 1
        else:
            totals.unchanged += 1
    session.flush()
    return problems


def _update(session: Session, sub: Subscriber, row: Row, *, confirmed: bool, now: datetime) -> bool:
    """Bring ``sub`` in line with ``row``; True if anything changed."""
    changed = False
    schedule_changed = False
    if row.name and row.name != sub.name:
        sub.name = row.name
        changed = True
    if row.language and row.language != sub.language:
        sub.language = row.language
        changed = True
    for attr, value in (("timezone", row.timezone), ("hour", row.hour), ("weekday", row.weekday)):
        if getattr(sub, attr) != value:
            setattr(sub, attr, value)
            changed = schedule_changed = True
    held = {s.topic_id: s for s in sub.subscriptions}
    for topic_id, subscription in held.items():
        if topic_id not in row.topics:
            sub.subscriptions.remove(subscription)
            changed = schedule_changed = True
        elif subscription.frequency != row.topics[topic_id]:
            subscription.frequency = row.topics[topic_id]
            changed = schedule_changed = True
    for topic_id in sorted(row.topics.keys() - held.keys()):
        sub.subscriptions.append(Subscription(topic_id=topic_id, frequency=row.topics[topic_id]))
        changed = schedule_changed = True
    if confirmed and sub.status == "pending":
        # Only a pending address is activated; one that unsubscribed or bounced
        # stays as it is, whatever the file says.
        sub.status = "active"
        sub.confirmed_at = now
        sub.next_slot_at = None  # the next planning tick schedules them
        changed = True
    elif schedule_changed and sub.status == "active":
        reschedule(sub, now)  # from the next slot, never one already due
    return changed


ProgressHook = Callable[[Totals], None]
ProblemHook = Callable[[Problem], None]


def import_subscribers(
    database_url: str,
    source: IO[bytes],
    *,
    confirmed: bool,
    now: datetime,
    job_id: int | None = None,
    on_progress: ProgressHook | None = None,
    on_problem: ProblemHook | None = None,
    batch_size: int = BATCH_SIZE,
) -> Totals:
    """Import the CSV in the binary stream ``source`` (UTF-8, a BOM allowed).

    Each batch is stored and committed on its own: if the process stops half-way,
    what was stored stays, and running the import again finishes the job without
    duplicating anything. With ``job_id``, the job's row shows the progress and
    keeps the problems for download.
    """
    with unit_of_work(database_url) as session:
        topic_ids = {slug: id_ for slug, id_ in session.execute(select(Topic.slug, Topic.id))}
    totals = Totals()
    text = io.TextIOWrapper(source, encoding="utf-8-sig", newline="", errors="strict")
    try:
        for batch in read_rows(text, topic_ids, batch_size):
            with unit_of_work(database_url) as session:
                problems = batch.problems + _store(
                    session, batch.rows, confirmed=confirmed, now=now, totals=totals
                )
                totals.rows += len(batch.rows) + len({p.row for p in batch.problems})
                totals.rejected += len({p.row for p in problems})
                totals.read_bytes = _position(source)
                if job_id is not None:
                    _record_progress(session, job_id, totals, problems)
            for problem in problems:
                if on_problem:
                    on_problem(problem)
            if on_progress:
                on_progress(totals)
    except UnicodeDecodeError as exc:
        raise ImportRefused(
            f"the file is not UTF-8 text (byte {exc.start} of a chunk cannot be read); "
            "save it as CSV UTF-8"
        ) from None
    finally:
        text.detach()
    return totals


def _position(source: IO[bytes]) -> int:
    try:
        return source.tell()
    except (OSError, ValueError):
        return 0


def _record_progress(
    session: Session, job_id: int, totals: Totals, problems: list[Problem]
) -> None:
    job = session.get(ImportJob, job_id)
    if job is None:
        return
    for name in ("rows", "added", "updated", "unchanged", "rejected", "read_bytes"):
        setattr(job, name, getattr(totals, name))
    if problems:
        session.execute(
            insert(table_of(ImportProblem)),
            [
                {"job_id": job_id, "row": p.row, "column_name": p.column, "reason": p.reason[:1000]}
                for p in problems
            ],
        )


def job_of(session: Session, job_id: int) -> ImportJob | None:
    """One import job, detached from ``session`` so it can be shown after it closes."""
    job = session.get(ImportJob, job_id) if 0 < job_id <= MAX_ID else None
    if job is not None:
        session.expunge(job)
    return job


def latest_jobs(session: Session, limit: int = 20) -> list[ImportJob]:
    """The latest imports, newest first, detached so a page can show them."""
    jobs = list(session.scalars(select(ImportJob).order_by(ImportJob.id.desc()).limit(limit)))
    for job in jobs:
        session.expunge(job)
    return jobs


def start_job(
    session: Session, filename: str, size: int, *, confirmed: bool, by: str | None, now: datetime
) -> ImportJob:
    job = ImportJob(
        filename=filename[:300],
        size_bytes=size,
        confirmed=confirmed,
        started_by=by,
        status="running",
        created_at=now,
    )
    session.add(job)
    session.flush()
    return job


def finish_job(database_url: str, job_id: int, now: datetime, error: str | None = None) -> None:
    with unit_of_work(database_url) as session:
        job = session.get(ImportJob, job_id)
        if job is None:
            return
        job.status = "failed" if error else "done"
        job.error = error
        job.finished_at = now
        if not error:
            job.read_bytes = job.size_bytes
        # One entry for the whole file in the audit log, as for any bulk action.
        by_command = job.started_by == "command line"
        audit.act_as(session, job.started_by or "unknown", "cli" if by_command else "console")
        audit.note(
            session,
            "bulk import",
            "subscriber",
            None,
            f"import of {job.filename}: {job.added} added, {job.updated} updated, "
            f"{job.rejected} refused" + (f" (stopped: {error})" if error else ""),
            after={
                "rows": job.rows,
                "added": job.added,
                "updated": job.updated,
                "refused": job.rejected,
                "job": job.id,
            },
        )


def run_job(database_url: str, job_id: int, path: str, now: datetime) -> None:
    """Import the file at ``path`` for the job ``job_id``, then mark it done or
    failed with the reason (used by the web page, which runs it in the background)."""
    with unit_of_work(database_url) as session:
        job = session.get(ImportJob, job_id)
        confirmed = bool(job and job.confirmed)
    try:
        with open(path, "rb") as source:
            import_subscribers(database_url, source, confirmed=confirmed, now=now, job_id=job_id)
    except ImportRefused as exc:
        finish_job(database_url, job_id, now, str(exc))
        return
    except Exception as exc:  # the job's page must say it stopped, whatever the cause
        finish_job(database_url, job_id, now, f"the import stopped: {type(exc).__name__}: {exc}")
        raise
    finish_job(database_url, job_id, now)


def problems_of(database_url: str, job_id: int, limit: int | None = None) -> Iterator[Problem]:
    """A job's refused rows in file order, read a page at a time, each page in its
    own short transaction: a slow download never holds the database."""
    after, given = 0, 0
    while limit is None or given < limit:
        with unit_of_work(database_url) as session:
            page = session.execute(
                select(
                    ImportProblem.id,
                    ImportProblem.row,
                    ImportProblem.column_name,
                    ImportProblem.reason,
                )
                .where(ImportProblem.job_id == job_id, ImportProblem.id > after)
                .order_by(ImportProblem.id)
                .limit(1000 if limit is None else min(1000, limit - given))
            ).all()
        if not page:
            return
        for _, row, column, reason in page:
            yield Problem(row, column, reason)
        given += len(page)
        after = page[-1][0]


def export_lines(
    database_url: str, batch_size: int = BATCH_SIZE, ids: list[int] | None = None
) -> Iterator[str]:
    """Every subscriber (or those with ``ids``) as CSV, header first, read in keyset
    pages of ``batch_size`` so that memory stays flat; the import reads it back."""
    yield from csv_lines([EXPORT_COLUMNS])
    after = 0
    while True:
        with unit_of_work(database_url) as session:
            subs = session.execute(
                select(
                    Subscriber.id,
                    Subscriber.email,
                    Subscriber.name,
                    Subscriber.timezone,
                    Subscriber.hour,
                    Subscriber.weekday,
                    Subscriber.language,
                    Subscriber.status,
                    Subscriber.created_at,
                    Subscriber.confirmed_at,
                )
                .where(Subscriber.id > after)
                .where(id_in(Subscriber.id, ids) if ids is not None else true())
                .order_by(Subscriber.id)
                .limit(batch_size)
            ).all()
            if not subs:
                return
            follows: dict[int, list[tuple[str, str]]] = {}
            for sub_id, slug, frequency in session.execute(
                select(Subscription.subscriber_id, Topic.slug, Subscription.frequency)
                .join(Topic, Topic.id == Subscription.topic_id)
                .where(id_in(Subscription.subscriber_id, [s.id for s in subs]))
            ):
                follows.setdefault(sub_id, []).append((slug, frequency))
        yield from csv_lines(_export_row(s, follows.get(s.id, [])) for s in subs)
        after = subs[-1].id


def _export_row(sub: Any, follows: list[tuple[str, str]]) -> tuple[str, ...]:
    topics, frequency = topics_cell(follows)
    return (
        sub.email,
        sub.name or "",
        topics,
        frequency,
        sub.timezone,
        str(sub.hour),
        WEEKDAYS[sub.weekday],
        sub.language or "",
        sub.status,
        sub.created_at.isoformat(),
        sub.confirmed_at.isoformat() if sub.confirmed_at else "",
    )
