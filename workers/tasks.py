"""Tasks: each takes ids (and an optional clock reading), calls one service and
queues follow-up work only after that service committed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from celery import Task
from celery.exceptions import SoftTimeLimitExceeded
from sqlalchemy.exc import OperationalError

from digest.config import get_settings
from digest.embedded import broker_url, sender_for
from digest.services import ingesting
from digest.services.bounces import intake as bounce_intake
from digest.services.console import bulk
from digest.services.console.audit import purge_audit
from digest.services.database import unit_of_work
from digest.services.metrics import broker_is_idle
from digest.services.readers import signup
from digest.services.sending import healing, pipeline, planning
from workers.app import app
from workers.schedule import FEED_POLL_INTERVAL

TRANSIENT = (OperationalError, ConnectionError)


def clock(now: str | None) -> Callable[[], datetime]:
    """The real clock, or a fixed one when the command that queued us had ``--now``."""
    if now is None:
        return lambda: datetime.now(UTC)
    fixed = datetime.fromisoformat(now)
    return lambda: fixed


def queue_digests(digest_ids: list[int], now: str | None) -> int:
    size = get_settings().batch_size
    batches = list(pipeline.chunks(digest_ids, size))
    for batch in batches:
        deliver_digests.delay(batch, now)
    return len(batches)


@app.task(name="digest.plan", bind=True, max_retries=5)
def plan(self: Task, now: str | None = None) -> dict[str, Any]:
    settings = get_settings()
    try:
        report = planning.plan(settings.database_url, settings, clock(now)())
    except TRANSIENT as exc:
        raise self.retry(exc=exc, countdown=5) from exc
    queue_digests(report.digest_ids, now)
    return {"planned": len(report.digest_ids), "missed": report.missed}


@app.task(name="digest.deliver_digests", bind=True, max_retries=10)
def deliver_digests(self: Task, digest_ids: list[int], now: str | None = None) -> dict[str, int]:
    settings = get_settings()
    try:
        report = pipeline.build_and_send(
            settings.database_url, digest_ids, settings, sender_for(settings), clock(now)
        )
    except TRANSIENT as exc:
        raise self.retry(exc=exc, countdown=10) from exc
    return {"sent": report.sent, "deferred": report.deferred, "failed": report.failed}


@app.task(name="digest.send_deliveries", bind=True, max_retries=10)
def send_deliveries(self: Task, delivery_ids: list[int], now: str | None = None) -> dict[str, int]:
    settings = get_settings()
    try:
        report = pipeline.send_deliveries(
            settings.database_url, delivery_ids, settings, sender_for(settings), clock(now)
        )
    except TRANSIENT as exc:
        raise self.retry(exc=exc, countdown=10) from exc
    return {"sent": report.sent, "deferred": report.deferred, "failed": report.failed}


@app.task(name="digest.sweep")
def sweep(now: str | None = None) -> dict[str, int]:
    settings = get_settings()
    healing.heal(settings.database_url, settings, sender_for(settings), clock(now))
    idle = broker_is_idle(broker_url(settings))
    found = pipeline.sweep(settings.database_url, settings, clock(now)(), broker_idle=idle)
    queue_digests(found.digest_ids, now)
    for batch in pipeline.chunks(found.delivery_ids, settings.batch_size):
        send_deliveries.delay(batch, now)
    return {
        "digests": len(found.digest_ids),
        "deliveries": len(found.delivery_ids),
        "released": found.released,
        "reconciled": found.reconciled,
    }


@app.task(name="digest.poll_feeds")
def poll_feeds(now: str | None = None) -> dict[str, int]:
    """Queue one poll per feed, so a feed that takes its whole time limit holds up
    only itself; a poll not started by the next round is dropped."""
    settings = get_settings()
    ids = ingesting.feed_ids(settings.database_url)
    for feed_id in ids:
        poll_feed.apply_async((feed_id, now), expires=FEED_POLL_INTERVAL)
    return {"feeds": len(ids)}


@app.task(name="digest.poll_feed", bind=True)
def poll_feed(self: Task, feed_id: int, now: str | None = None) -> dict[str, Any]:
    """Fetch one feed and store what is new; a poll past its soft time limit stops,
    and the feed records why."""
    settings = get_settings()
    at = clock(now)()
    try:
        report = ingesting.poll_feed(settings.database_url, feed_id, settings, at)
    except SoftTimeLimitExceeded:
        message = f"polling took longer than {self.soft_time_limit:g} s and was stopped"
        ingesting.record_poll_failure(settings.database_url, feed_id, message, at)
        return {"feed": feed_id, "status": "error", "error": message}
    if report is None:
        return {"feed": feed_id, "status": "deleted"}
    return {"feed": feed_id, "status": report.status, "added": report.added, "error": report.error}


@app.task(name="digest.poll_bounces")
def poll_bounces() -> dict[str, Any]:
    """Read the bounce mailbox once; a mailbox that cannot be read is retried at the
    next poll (the error is logged by Celery)."""
    settings = get_settings()
    polled = bounce_intake.poll_mailbox(settings.database_url, settings, clock(None))
    if polled is None:
        return {"mailbox": "none configured"}
    return {
        "fetched": polled.fetched,
        "events": polled.intake.events,
        "failed": polled.failed,
        "left": polled.left,
    }


@app.task(name="digest.purge")
def purge(now: str | None = None) -> dict[str, int]:
    """Forget unconfirmed addresses and requests past their age, old rate counts,
    old import reports and audit entries past ``DIGEST_AUDIT_DAYS``."""
    settings = get_settings()
    moment = clock(now)()
    with unit_of_work(settings.database_url) as session:
        report = signup.purge(session, settings, moment)
    with unit_of_work(settings.database_url) as session:
        audit_entries = purge_audit(session, moment - settings.audit_retention)
        bulk.fail_stale(session, moment)
    bulk.forget_exports(settings.data_dir, moment - bulk.EXPORT_AGE)
    return {
        "pending": report.pending,
        "requests": report.requests,
        "rate_events": report.rate_events,
        "imports": report.imports,
        "audit_entries": audit_entries,
    }
