"""The shared token buckets against a real Redis server: bursts, tokens coming back,
hour-long periods, several buckets at once, and many processes taking tokens
together without ever getting more than the limit."""

from __future__ import annotations

import multiprocessing
import time
import uuid

import pytest
import redis

from digest.config import DomainLimit, Rate
from digest.mail.ratelimit import (
    GUARD,
    Bucket,
    RateLimiter,
    domain_buckets,
    limiter_for,
    redis_py_url,
    relay_buckets,
)
from digest.mail.sender import SMTPSender


@pytest.fixture
def limiter(broker: str) -> RateLimiter:
    return RateLimiter(redis.Redis.from_url(redis_py_url(broker)))


def bucket(count: int, seconds: int = 1) -> Bucket:
    """A bucket of its own, so tests never share tokens."""
    return Bucket(f"digest:rate:test:{uuid.uuid4().hex}", Rate(count, seconds), f"test {count}")


def test_a_burst_up_to_the_limit_then_the_wait_until_the_first_token_comes_back(
    limiter: RateLimiter,
) -> None:
    five = bucket(5)
    started = time.monotonic()
    assert all(limiter.acquire([five]).granted for _ in range(5))
    refused = limiter.acquire([five])
    assert not refused.granted and refused.bucket == five
    elapsed = time.monotonic() - started
    assert 1 + GUARD - elapsed - 0.01 <= refused.wait <= 1 + GUARD


def test_tokens_come_back_one_period_after_they_were_taken(limiter: RateLimiter) -> None:
    three = bucket(3)
    assert all(limiter.acquire([three]).granted for _ in range(3))
    time.sleep(0.5)
    assert not limiter.acquire([three]).granted  # half a period later: still none
    wait = limiter.acquire([three]).wait
    time.sleep(wait + 0.01)
    assert [limiter.acquire([three]).granted for _ in range(4)] == [True, True, True, False]


def test_tokens_taken_at_different_times_come_back_at_different_times(
    limiter: RateLimiter,
) -> None:
    two = bucket(2)
    assert limiter.acquire([two]).granted
    time.sleep(0.4)
    assert limiter.acquire([two]).granted
    time.sleep(0.7)  # the first token is back, the second is not
    assert limiter.acquire([two]).granted
    refused = limiter.acquire([two])
    assert not refused.granted and 0.2 < refused.wait < 0.4


def test_an_hourly_budget_once_spent_waits_for_the_hour(limiter: RateLimiter) -> None:
    hourly = bucket(4, 3600)
    assert all(limiter.acquire([hourly]).granted for _ in range(4))
    refused = limiter.acquire([hourly])
    assert 3590 < refused.wait <= 3600 + GUARD
    assert refused.bucket == hourly


def test_several_buckets_give_a_token_each_or_none(limiter: RateLimiter) -> None:
    roomy, tight = bucket(10), bucket(1)
    assert limiter.acquire([roomy, tight]).granted
    refused = limiter.acquire([roomy, tight])
    assert refused.bucket == tight
    # The roomy bucket gave nothing for the refused message: nine tokens are left.
    assert [limiter.acquire([roomy]).granted for _ in range(10)] == [True] * 9 + [False]


def test_the_longest_wait_among_the_full_buckets_is_the_answer(limiter: RateLimiter) -> None:
    second, hour = bucket(1), bucket(1, 3600)
    assert limiter.acquire([second, hour]).granted
    refused = limiter.acquire([second, hour])
    assert refused.bucket == hour and refused.wait > 3000


def test_buckets_are_forgotten_once_unused_for_a_period(limiter: RateLimiter) -> None:
    one = bucket(1)
    assert limiter.acquire([one]).granted
    ttl = limiter.client.pttl(one.key)
    assert 0 < ttl <= (1 + GUARD) * 1000 + 1


def test_limits_name_their_relay_and_domain() -> None:
    relay = SMTPSender.from_url("smtp://mx.example.org:2525?per_second=10&per_hour=20000")
    assert [(b.rate, b.label) for b in relay_buckets(relay)] == [
        (Rate(10, 1), "relay mx.example.org:2525 10/s"),
        (Rate(20000, 3600), "relay mx.example.org:2525 20000/h"),
    ]
    assert relay_buckets(SMTPSender.from_url("smtp://mx.example.org")) == []
    limits = [DomainLimit("gmail.com", Rate(20, 1)), DomainLimit("outlook.com", Rate(1000, 3600))]
    assert [b.label for b in domain_buckets("GMAIL.com", limits)] == ["gmail.com 20/s"]
    assert domain_buckets("example.org", limits) == []


def test_kombus_socket_url_is_read_as_redis_py_reads_it() -> None:
    assert redis_py_url("redis+socket:///run/redis.sock") == "unix:///run/redis.sock"
    assert redis_py_url("redis+socket:///run/r.sock?virtual_host=3") == "unix:///run/r.sock?db=3"
    assert redis_py_url("redis://127.0.0.1:6379/12") == "redis://127.0.0.1:6379/12"


# --- many takers at once ------------------------------------------------------------

LIMIT = 10
TAKERS = 6
DURATION = 2.6  # seconds of taking as fast as possible


def take_for(broker: str, key: str, until: float, grants: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    """In a process of its own: take tokens until ``until`` (wall clock), reporting
    the Redis server's time of each grant."""
    limiter = limiter_for(broker)
    client = limiter.client
    shared = Bucket(key, Rate(LIMIT, 1), "shared")
    times = []
    while time.time() < until:
        verdict = limiter.acquire([shared])
        if verdict.granted:
            seconds, micros = client.time()
            times.append(seconds + micros / 1_000_000)
        else:
            time.sleep(min(verdict.wait, 0.01))
    grants.put(times)


def test_processes_taking_at_once_never_get_more_than_the_limit(broker: str) -> None:
    context = multiprocessing.get_context("spawn")
    grants: multiprocessing.Queue = context.Queue()  # type: ignore[type-arg]
    key = f"digest:rate:test:{uuid.uuid4().hex}"
    until = time.time() + 1.5 + DURATION  # spawned processes take a moment to start
    takers = [
        context.Process(target=take_for, args=(broker, key, until, grants)) for _ in range(TAKERS)
    ]
    for taker in takers:
        taker.start()
    per_taker = [grants.get(timeout=60) for _ in takers]
    for taker in takers:
        taker.join(timeout=10)
    client = redis.Redis.from_url(redis_py_url(broker))
    granted = client.lrange(key, 0, -1)  # the bucket's own record of its last period
    assert len(granted) <= LIMIT
    times = sorted(t for taken in per_taker for t in taken)
    assert sum(1 for taken in per_taker if taken) >= 2, "the processes did not overlap"
    # Each grant is timed just after it, by the same server clock, so a window of one
    # period holds at most the limit (the guard covers the round trip).
    for index, start in enumerate(times):
        inside = [t for t in times[index:] if t < start + 1.0]
        assert len(inside) <= LIMIT, f"{len(inside)} grants within 1 s from {start}"
    assert len(times) >= LIMIT * 2  # the limit was reached again and again
