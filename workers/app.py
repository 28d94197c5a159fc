"""The Celery app, configured from the same DIGEST_* settings as everything else.

The broker URL is resolved when Celery first reads its configuration, not at import,
so importing this module starts nothing.
"""

from __future__ import annotations

from typing import Any

from celery import Celery

from digest.config import ConfigError, get_settings, load_settings
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
        # Safe to run twice: only the holder of a Redis lock sends (workers/beat.py).
        beat_scheduler="workers.beat:LockedScheduler",
        beat_schedule_filename=str(runtime_dir(settings) / "celerybeat-schedule"),
        timezone="UTC",
        enable_utc=True,
        worker_hijack_root_logger=False,
    )
