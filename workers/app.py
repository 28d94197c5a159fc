"""The Celery app, configured from the same DIGEST_* settings as everything else.

The broker URL is resolved when Celery first reads its configuration, not at import,
so importing this module starts nothing.
"""

from __future__ import annotations

from typing import Any

from celery import Celery

from digest.config import ConfigError, Settings, get_settings, load_settings
from workers import transport
from workers.schedule import beat_schedule

transport.install()


def _check_settings() -> None:
    """A configuration that cannot work stops a worker or beat at once, with the
    variable named; Celery would otherwise log the error and wait for a broker."""
    try:
        load_settings()
    except ConfigError as exc:
        raise SystemExit(f"digest: {exc}") from None


_check_settings()

app = Celery("digest", include=["workers.tasks"])

# Feeds are polled on a queue of their own, by a worker of their own (`celery -A
# workers worker -Q feeds`), so sending never waits behind a slow feed.
FEEDS_QUEUE = "feeds"
FEED_TASKS = ("digest.poll_feeds", "digest.poll_feed")


def feed_task_options(settings: Settings) -> dict[str, dict[str, Any]]:
    """Time limits of the feed tasks, by name.

    One feed's fetch ends by DIGEST_FEED_TIMEOUT; parsing and storing it get a minute
    more. Past the soft limit the poll stops and records so on the feed; past the hard
    limit the worker's child process is ended. Feed tasks are acknowledged when they
    start: a poll lost with its worker is made good by the next one, and a task held
    unacknowledged would keep the sweep from seeing an idle broker.
    """
    soft = settings.feed_timeout + 60.0
    return {
        "digest.poll_feeds": {"soft_time_limit": 60.0, "time_limit": 90.0, "acks_late": False},
        "digest.poll_feed": {"soft_time_limit": soft, "time_limit": soft + 30, "acks_late": False},
    }


@app.on_configure.connect
def _configure(sender: Celery, **_: Any) -> None:
    from digest.embedded import broker_url, runtime_dir

    settings = get_settings()
    sender.conf.update(
        broker_url=broker_url(settings),
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        # A task is acknowledged after it ran, so a worker killed mid-batch leaves it
        # to be delivered again; the database's conditional updates make that safe.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": 3600},
        beat_schedule=beat_schedule(settings),
        task_routes={name: {"queue": FEEDS_QUEUE} for name in FEED_TASKS},
        task_annotations=feed_task_options(settings),
        # Safe to run twice: only the holder of a Redis lock sends (workers/beat.py).
        beat_scheduler="workers.beat:LockedScheduler",
        beat_schedule_filename=str(runtime_dir(settings) / "celerybeat-schedule"),
        timezone="UTC",
        enable_utc=True,
        worker_hijack_root_logger=False,
    )
