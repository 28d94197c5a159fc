"""A beat that is safe to start twice: only the holder of a lock in Redis sends tasks.

Every beat process ticks; at each tick it takes or renews a lock in the broker's Redis
(``SET NX PX``, renewed only while the value is still its own token). A beat that
does not hold the lock sends nothing and tries again a little later; when the holder
stops (or dies and its lock expires after ``DIGEST_BEAT_LOCK_TTL``), another takes
over and runs every entry at once, not knowing when the previous holder last did.

Planning is safe without the lock too (a digest is unique per subscriber and slot);
the lock keeps a second beat from doubling the work queued each minute.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import uuid
from datetime import timedelta
from typing import Any

import redis
from celery.beat import PersistentScheduler

from digest.config import get_settings

logger = logging.getLogger(__name__)

LOCK_KEY = "digest:beat:lock"
# Extend the lock's life only while it is still ours.
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('del', KEYS[1])
end
return 0
"""


class LockedScheduler(PersistentScheduler):
    """Celery's persistent scheduler, sending only while it holds the beat lock."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.lock_ttl = get_settings().beat_lock_ttl.total_seconds()
        self.token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex}"
        self.holding = False
        self.waiting_logged = False
        self._client: redis.Redis | None = None
        super().__init__(*args, **kwargs)
        # A tick never sleeps longer than a third of the lock's life, so the holder
        # renews it well before it could expire.
        self.max_interval: float = min(float(self.max_interval), self.lock_ttl / 3)

    def _redis(self) -> redis.Redis:
        if self._client is None:
            url = str(self.app.conf.broker_url)
            self._client = redis.Redis.from_url(url.replace("redis+socket://", "unix://"))
        return self._client

    def acquire(self) -> bool:
        """Take or renew the lock; whether this beat holds it now."""
        ttl_ms = int(self.lock_ttl * 1000)
        client = self._redis()
        if self.holding and client.eval(_RENEW, 1, LOCK_KEY, self.token, ttl_ms):
            return True
        if self.holding:
            logger.warning("beat lock lost; this beat stops sending until it takes it again")
            self.holding = False
        if client.set(LOCK_KEY, self.token, nx=True, px=ttl_ms):
            logger.info("beat lock taken (%s); this beat sends the schedule", self.token)
            self.holding = True
            self.waiting_logged = False
            self._everything_due()
        elif not self.waiting_logged:
            holder = client.get(LOCK_KEY)
            logger.info(
                "beat lock held by %r; this beat waits and sends nothing",
                holder or "another beat",
            )
            self.waiting_logged = True
        return self.holding

    def _everything_due(self) -> None:
        """Whoever held the lock before may have stopped just before the next run of
        anything: run each entry now rather than a whole interval from now (all of
        them are safe to run again)."""
        long_ago = self.app.now() - timedelta(days=1)
        for entry in self.schedule.values():
            entry.last_run_at = long_ago
        self._heap = None

    def tick(self, *args: Any, **kwargs: Any) -> float:
        try:
            held = self.acquire()
        except redis.RedisError as exc:
            # Without Redis no beat can tell who leads: send nothing until it is back.
            logger.warning("beat lock unavailable (%s); sending nothing", exc)
            self.holding = held = False
        if not held:
            return self.max_interval
        return float(super().tick(*args, **kwargs))

    def close(self) -> None:
        if self.holding:
            # Should Redis be gone, the lock expires by itself.
            with contextlib.suppress(redis.RedisError):
                self._redis().eval(_RELEASE, 1, LOCK_KEY, self.token)
            self.holding = False
        super().close()
