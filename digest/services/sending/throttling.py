"""Keeping the send loop within the sending limits (see digest/mail/ratelimit.py).

Before a message goes to a relay it takes a token from the relay's buckets and, once
per message, from its recipient domain's. When a bucket has room again within a
couple of seconds the worker sleeps until then; when room is further off (an hour's
budget spent, a domain far behind) the message is postponed instead, so the worker
is not held up: it goes back to deferred, due when the limit allows, without an SMTP
attempt. If Redis cannot be asked, nothing more of the batch is sent: sending without
the limits could cost the sending domain its reputation.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable

import redis

from digest.config import Settings
from digest.embedded import broker_url
from digest.mail.message import addr_spec
from digest.mail.ratelimit import (
    Bucket,
    RateLimiter,
    Verdict,
    domain_buckets,
    limiter_for,
    relay_buckets,
)
from digest.mail.sender import SMTPSender

# A worker sleeps for room under a limit that comes within this many seconds; a
# message whose room is further off is postponed.
SLEEP_AT_MOST = 2.0
# Nor does it sleep longer than this for one message in all (other workers may keep
# taking the tokens it wakes up for): the send loop renews its claims between messages,
# and one message must not hold that up for long (delivering.CLAIM_LEASE); nor for one
# batch, so that a worker does not spend its time sleeping on one relay's limits.
SLEEP_IN_ALL = 10.0
SLEEP_PER_BATCH = 120.0


class Postponed(Exception):
    """A message kept back, without an SMTP attempt, for ``wait`` seconds."""

    def __init__(self, reason: str, wait: float) -> None:
        super().__init__(reason)
        self.reason = reason
        self.wait = wait


class Throttle:
    """The sending limits as one send loop sees them; asks Redis only when a limit
    applies to the message at hand. ``unreachable`` once Redis could not be asked:
    the loop then sends nothing more."""

    def __init__(self, settings: Settings, sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self.sleep = sleep
        self.unreachable = False
        self.slept = 0.0  # in this batch
        self._limiter: RateLimiter | None = None

    def admission(self, to_addr: str) -> Admission:
        """The check to run before the message to ``to_addr`` goes to a relay."""
        domain = addr_spec(to_addr).rpartition("@")[2]
        return Admission(self, domain_buckets(domain, self.settings.domain_limits))

    def take(self, buckets: list[Bucket]) -> float:
        """A token from each of ``buckets``, sleeping for it when it comes soon;
        returns the seconds slept. Raises :class:`Postponed` when it does not."""
        slept = 0.0
        while buckets:
            verdict = self._acquire(buckets)
            if verdict.bucket is None:  # granted
                break
            if (
                verdict.wait > SLEEP_AT_MOST
                or slept + verdict.wait > SLEEP_IN_ALL
                or self.slept + verdict.wait > SLEEP_PER_BATCH
            ):
                raise Postponed(f"rate limit: {verdict.bucket.label}", verdict.wait)
            self.sleep(verdict.wait)
            slept += verdict.wait
            self.slept += verdict.wait
        return slept

    def _acquire(self, buckets: list[Bucket]) -> Verdict:
        try:
            if self._limiter is None:
                self._limiter = limiter_for(broker_url(self.settings))
            return self._limiter.acquire(buckets)
        except (redis.RedisError, OSError, RuntimeError, subprocess.SubprocessError) as exc:
            self.unreachable = True
            raise Postponed(
                f"rate limit: Redis cannot be reached to check the sending limits ({exc})",
                self.settings.retry_first_delay.total_seconds(),
            ) from exc


class Admission:
    """The limits of one message: each relay it is offered to takes a token from
    that relay's buckets; its recipient domain's are taken with the first relay only."""

    def __init__(self, throttle: Throttle, domain: list[Bucket]) -> None:
        self.throttle = throttle
        self.domain = domain
        self.slept = 0.0  # how long this message waited for its tokens

    def __call__(self, relay: SMTPSender) -> None:
        self.slept += self.throttle.take(relay_buckets(relay) + self.domain)
        self.domain = []
