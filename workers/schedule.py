"""Beat schedule: planning and the retry sweep every minute, feeds every ten, and
unconfirmed addresses purged every hour."""

from __future__ import annotations

from typing import Any


def beat_schedule() -> dict[str, dict[str, Any]]:
    return {
        "plan-every-minute": {"task": "digest.plan", "schedule": 60.0},
        "retry-sweep-every-minute": {"task": "digest.sweep", "schedule": 60.0},
        "poll-feeds-every-ten-minutes": {"task": "digest.poll_feeds", "schedule": 600.0},
        "purge-unconfirmed-every-hour": {"task": "digest.purge", "schedule": 3600.0},
    }
