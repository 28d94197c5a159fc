"""Sending limits shared by every worker on every machine, kept in Redis.

Each limit is a bucket of ``count`` tokens per period. A message takes one token from
every bucket that applies to it (its relay's, its recipient domain's), all of them or
none, in one Lua script, so no two workers can take the same token. A token comes back
one period after it was taken, which makes the promise the one relays and mailbox
providers count by: at most ``count`` messages in *any* window of the period, bursts
included. (A bucket refilled at a steady rate would let a full bucket's burst and the
refill of the following second through together: up to twice the limit in a second.)

Time is Redis's own (``TIME`` inside the script), so workers whose clocks disagree
still agree on the buckets. Each bucket is a list of the times its tokens were taken,
at most ``count`` long, and expires when left unused for a period.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import parse_qsl, urlencode

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from digest.config import DomainLimit, Rate
from digest.mail.sender import SMTPSender

KEY_PREFIX = "digest:rate:"
# Added to every period: a token is taken when Redis grants it, but the relay counts
# the message when it arrives, a few milliseconds later and not always as many.
GUARD = 0.05
# A worker waiting longer than this for Redis defers its batch (see services/sending/throttling.py).
REDIS_TIMEOUT = 2.0

# KEYS[i]: the times (µs) tokens of bucket i were taken, oldest first.
# ARGV[2i-1], ARGV[2i]: bucket i's token count and period (µs).
# Returns {0, 0} when every bucket gave a token, else {µs until there is room, i}.
_TAKE = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local wait, which = 0, 0
for i, key in ipairs(KEYS) do
    local count, period = tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i])
    local oldest = redis.call('LINDEX', key, 0)
    while oldest and tonumber(oldest) <= now - period do
        redis.call('LPOP', key)
        oldest = redis.call('LINDEX', key, 0)
    end
    local taken = redis.call('LLEN', key)
    if taken >= count then
        local free_at = tonumber(redis.call('LINDEX', key, taken - count)) + period
        if free_at - now > wait then
            wait, which = free_at - now, i
        end
    end
end
if wait > 0 then
    return {wait, which}
end
for i, key in ipairs(KEYS) do
    redis.call('RPUSH', key, now)
    redis.call('PEXPIRE', key, math.ceil(tonumber(ARGV[2 * i]) / 1000))
end
return {0, 0}
"""


@dataclass(frozen=True)
class Bucket:
    """One limit: its Redis key, its rate, and how people call it
    (``gmail.com 20/s``, ``relay 127.0.0.1:25 10/s``)."""

    key: str
    rate: Rate
    label: str


@dataclass(frozen=True)
class Verdict:
    """Granted (``wait`` 0), or how long until ``bucket`` has a token again."""

    wait: float
    bucket: Bucket | None = None

    @property
    def granted(self) -> bool:
        return self.bucket is None


GRANTED = Verdict(0.0)


class RateLimiter:
    """Takes tokens from buckets in one Redis server."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self._take = client.register_script(_TAKE)

    def acquire(self, buckets: Sequence[Bucket]) -> Verdict:
        """One token from each of ``buckets``, or none and the wait until all of them
        could give one (the longest wait among them). Raises ``redis.RedisError``
        when Redis cannot be asked."""
        if not buckets:
            return GRANTED
        args: list[int] = []
        for bucket in buckets:
            args += [bucket.rate.count, round((bucket.rate.seconds + GUARD) * 1_000_000)]
        wait, which = self._take(keys=[b.key for b in buckets], args=args)
        if not wait:
            return GRANTED
        return Verdict(int(wait) / 1_000_000, buckets[int(which) - 1])


def relay_buckets(relay: SMTPSender) -> list[Bucket]:
    """The buckets of a relay's own limits (``per_second``, ``per_hour`` in its URL)."""
    rates = [Rate(n, s) for n, s in ((relay.per_second, 1), (relay.per_hour, 3600)) if n]
    return [
        Bucket(f"{KEY_PREFIX}relay:{relay.address}:{r.seconds}s", r, f"relay {relay.address} {r}")
        for r in rates
    ]


def domain_buckets(domain: str, limits: Iterable[DomainLimit]) -> list[Bucket]:
    """The buckets of the limits set for recipients at ``domain`` (exactly that domain)."""
    domain = domain.lower()
    return [
        Bucket(f"{KEY_PREFIX}domain:{domain}:{limit.rate.seconds}s", limit.rate, str(limit))
        for limit in limits
        if limit.domain == domain
    ]


def redis_py_url(broker_url: str) -> str:
    """The broker's URL as redis-py reads it: kombu's ``redis+socket:///path`` (with
    ``?virtual_host=N`` for the database) is redis-py's ``unix:///path?db=N``."""
    scheme = "redis+socket://"
    if not broker_url.startswith(scheme):
        return broker_url
    path, _, query = broker_url[len(scheme) :].partition("?")
    pairs = [("db" if k == "virtual_host" else k, v) for k, v in parse_qsl(query)]
    return f"unix://{path}" + (f"?{urlencode(pairs)}" if pairs else "")


@lru_cache(maxsize=4)
def limiter_for(broker_url: str) -> RateLimiter:
    """The limiter on the broker's Redis, one per process (its connection pool is
    shared by the process's threads and renewed after a fork)."""
    client = redis.Redis.from_url(
        redis_py_url(broker_url),
        socket_connect_timeout=REDIS_TIMEOUT,
        socket_timeout=REDIS_TIMEOUT,
        retry=Retry(NoBackoff(), 1),
    )
    return RateLimiter(client)
