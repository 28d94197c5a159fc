"""Beat schedule: planning every minute and the sweep every half minute (due retries,
expired claims, lost tasks, replies left in the journal), feeds every ten,
unconfirmed addresses purged every hour, and the bounce mailbox read every few
minutes when there is one."""

from __future__ import annotations

from typing import Any

from digest.config import Settings

# Seconds between two polls of every feed; a poll still queued after that is dropped,
# the next one taking its place.
FEED_POLL_INTERVAL = 600.0


def beat_schedule(settings: Settings | None = None) -> dict[str, dict[str, Any]]:
    schedule: dict[str, dict[str, Any]] = {
        "plan-every-minute": {"task": "digest.plan", "schedule": 60.0},
        "sweep-every-half-minute": {"task": "digest.sweep", "schedule": 30.0},
        "poll-feeds-every-ten-minutes": {
            "task": "digest.poll_feeds",
            "schedule": FEED_POLL_INTERVAL,
        },
        "purge-unconfirmed-every-hour": {"task": "digest.purge", "schedule": 3600.0},
    }
    if settings is not None and settings.bounce_mailbox_url is not None:
        schedule["poll-bounce-mailbox"] = {
            "task": "digest.poll_bounces",
            "schedule": settings.bounce_poll_interval.total_seconds(),
        }
    return schedule
