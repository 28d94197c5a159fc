"""Prometheus metrics that every process contributes to and the web app serves.

Workers run in other processes, often on other machines, so counters kept in memory
would never reach the process that answers ``/metrics``. Each batch instead adds its
counts to rows of ``metric_values`` inside its own transaction (one upsert statement,
run once per key it changes), and the web app turns those rows into the exposition
when scraped, together with a few gauges counted there and then.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator, Mapping
from functools import lru_cache
from typing import Any

import redis
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from digest.db.engine import unit_of_work
from digest.db.models import Delivery, Feed, MetricValue, table_of
from digest.domain import delivery as rules

DIGESTS = "digest_digests_total"
SMTP_SECONDS = "digest_smtp_attempt_seconds"
FEED_FETCH_ERRORS = "digest_feed_fetch_errors_total"
OUTCOMES = ("planned", "skipped", "sent", "deferred", "failed")
# Upper bounds of the SMTP latency buckets, in seconds: a local relay answers in
# milliseconds, a remote one with TLS in tenths, a struggling one in seconds.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Sending and housekeeping go to Celery's default queue; feed polls to their own
# (workers/app.py). The sweep's idle check looks at sending's queue only.
BROKER_QUEUES = ("celery",)
SHOWN_QUEUES = ("celery", "feeds")
REDIS_SCHEMES = ("redis://", "rediss://", "redis+socket://")
# A scrape waits no longer than this for the broker before leaving its figures out.
BROKER_TIMEOUT = 0.5

Key = tuple[str, str]  # (metric name, labels as in the exposition: 'outcome="sent"')
FEED_FETCH_ERROR: Key = (FEED_FETCH_ERRORS, "")
SMTP_SUM: Key = (f"{SMTP_SECONDS}_sum", "")
SMTP_COUNT: Key = (f"{SMTP_SECONDS}_count", "")


def digests(outcome: str) -> Key:
    """The counter key of digests that reached ``outcome``."""
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown digest outcome {outcome!r} (known: {', '.join(OUTCOMES)})")
    return DIGESTS, f'outcome="{outcome}"'


def in_bucket(bound: float) -> Key:
    """The stored count of observations in the bucket ending at ``bound`` alone,
    above the bound before it. Prometheus's buckets are cumulative; they are summed
    up when scraped, so that a batch of fast replies writes one bucket, not all."""
    return f"{SMTP_SECONDS}_in_bucket", f'le="{floatToGoString(bound)}"'


def latencies(seconds: Iterable[float]) -> dict[Key, float]:
    """What observing each of ``seconds`` adds to the latency histogram, ready for
    :func:`add`: counts per bucket (see :func:`in_bucket`), the sum and the count."""
    amounts: dict[Key, float] = {SMTP_SUM: 0.0, SMTP_COUNT: 0}
    for value in seconds:
        index = bisect_left(BUCKETS, value)
        if index < len(BUCKETS):  # past the last bound only +Inf, that is the count, has it
            key = in_bucket(BUCKETS[index])
            amounts[key] = amounts.get(key, 0) + 1
        amounts[SMTP_SUM] += value
        amounts[SMTP_COUNT] += 1
    return amounts


def add(session: Session, amounts: Mapping[Key, float]) -> None:
    """Add ``amounts`` to the running totals with one upsert statement (run once per
    key) in the caller's transaction, so they count only if the work they describe
    is committed.

    Rows are written in a fixed order, so two transactions adding to the same totals
    wait for each other instead of deadlocking. Zero amounts write nothing.
    """
    rows = [
        {"name": name, "labels": labels, "value": float(value)}
        for (name, labels), value in sorted(amounts.items())
        if value
    ]
    if rows:
        session.execute(_upsert(session.get_bind().dialect.name), rows)


@lru_cache(maxsize=2)
def _upsert(dialect: str) -> Any:
    """INSERT … ON CONFLICT DO UPDATE adding to the stored value, run with a list of
    rows (one compiled statement, cached, whatever the number of keys)."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = table_of(MetricValue)
    stmt = insert(table)
    return stmt.on_conflict_do_update(
        index_elements=[table.c.name, table.c.labels],
        set_={"value": table.c.value + stmt.excluded.value},
    )


def observe_latencies(session: Session, seconds: Iterable[float]) -> None:
    """Add SMTP attempt durations to the latency histogram (see :func:`add`)."""
    add(session, latencies(seconds))


def totals(session: Session) -> dict[Key, float]:
    """Every running total, by key."""
    rows = session.execute(select(MetricValue.name, MetricValue.labels, MetricValue.value))
    return {(name, labels): value for name, labels, value in rows}


def _broker_client(broker_url: str | None) -> redis.Redis | None:
    """A client of the broker's Redis that gives up fast; None when the broker is not
    a Redis server named by URL (the embedded one is left alone: asking must not start
    a server) or its URL is one redis-py cannot read (Celery would say so itself)."""
    if not broker_url or not broker_url.startswith(REDIS_SCHEMES):
        return None
    try:
        return redis.Redis.from_url(
            broker_url.replace("redis+socket://", "unix://", 1),
            socket_connect_timeout=BROKER_TIMEOUT,
            socket_timeout=BROKER_TIMEOUT,
            retry=Retry(NoBackoff(), 0),
        )
    except ValueError:
        return None


def broker_queue_lengths(broker_url: str | None) -> dict[str, int] | None:
    """Tasks waiting in each Celery queue on a Redis broker; None when the broker is
    not a Redis server named by URL or does not answer within BROKER_TIMEOUT.

    The embedded broker (no URL) is left alone: a scrape must not start a server.
    """
    client = _broker_client(broker_url)
    if client is None:
        return None
    try:
        pipe = client.pipeline(transaction=False)
        for queue in SHOWN_QUEUES:
            pipe.llen(queue)
        lengths = pipe.execute()
    except (redis.RedisError, OSError):
        return None
    finally:
        client.close()
    return {queue: int(n) for queue, n in zip(SHOWN_QUEUES, lengths, strict=True)}


# kombu's Redis transport keeps a queue's tasks in one list per priority step, and the
# tasks workers took but have not acknowledged in one hash.
_PRIORITY_LISTS = ("", "\x06\x163", "\x06\x166", "\x06\x169")
_UNACKED = "unacked"


def broker_is_idle(broker_url: str | None, running: int = 1) -> bool:
    """Whether the broker holds no task at all besides the ``running`` ones (the task
    asking, which a worker holds unacknowledged): nothing waits in a queue and no
    other worker holds a task. False when that cannot be told (not Redis, no answer)."""
    client = _broker_client(broker_url)
    if client is None:
        return False
    try:
        pipe = client.pipeline(transaction=False)
        for queue in BROKER_QUEUES:
            for suffix in _PRIORITY_LISTS:
                pipe.llen(queue + suffix)
        pipe.hlen(_UNACKED)
        *waiting, taken = pipe.execute()
    except (redis.RedisError, OSError):
        return False
    finally:
        client.close()
    return sum(int(n) for n in waiting) == 0 and int(taken) <= running


class DigestCollector(Collector):
    """The exposition, read from the database (and the broker) at each scrape."""

    def __init__(self, database_url: str, broker_url: str | None) -> None:
        self.database_url = database_url
        self.broker_url = broker_url

    def collect(self) -> Iterator[Metric]:
        with unit_of_work(self.database_url) as session:
            stored = totals(session)
            by_status = dict(
                session.execute(
                    select(Delivery.status, func.count()).group_by(Delivery.status)
                ).all()
            )
            feeds_in_error = session.scalar(
                select(func.count()).select_from(Feed).where(Feed.error_count > 0)
            )
        yield from counters(stored)
        yield histogram(stored)
        deliveries = GaugeMetricFamily(
            "digest_deliveries", "Deliveries by their current status.", labels=["status"]
        )
        for status in rules.STATES:
            deliveries.add_metric([status], int(by_status.get(status, 0)))
        yield deliveries
        yield GaugeMetricFamily(
            "digest_queue_depth",
            "Deliveries waiting to be sent or being sent now (queued or claimed).",
            value=int(by_status.get(rules.QUEUED, 0)) + int(by_status.get(rules.SENDING, 0)),
        )
        yield GaugeMetricFamily(
            "digest_feeds_in_error",
            "Feeds whose last poll failed.",
            value=int(feeds_in_error or 0),
        )
        yield from broker(self.broker_url)


def counters(stored: Mapping[Key, float]) -> Iterator[Metric]:
    """The counters, every outcome present even before it first happens."""
    family = CounterMetricFamily(
        DIGESTS,
        "Digests planned, skipped when built (nothing new, or not to be sent), and the "
        "outcome of each recorded delivery attempt (sent, deferred, failed).",
        labels=["outcome"],
    )
    for outcome in OUTCOMES:
        family.add_metric([outcome], stored.get(digests(outcome), 0.0))
    yield family
    yield CounterMetricFamily(
        FEED_FETCH_ERRORS,
        "Feed polls that failed: the fetch, the feed itself or storing it.",
        value=stored.get(FEED_FETCH_ERROR, 0.0),
    )


def histogram(stored: Mapping[Key, float]) -> Metric:
    """The latency histogram, its stored per-bucket counts made cumulative."""
    buckets: list[tuple[str, Any]] = []
    running = 0.0
    for bound in BUCKETS:
        running += stored.get(in_bucket(bound), 0.0)
        buckets.append((floatToGoString(bound), running))
    buckets.append(("+Inf", stored.get(SMTP_COUNT, 0.0)))
    return HistogramMetricFamily(
        SMTP_SECONDS,
        "Time of one delivery attempt over SMTP, connecting included when it opened "
        "the connection.",
        buckets=buckets,
        sum_value=stored.get(SMTP_SUM, 0.0),
    )


def broker(broker_url: str | None) -> Iterator[Metric]:
    """Whether the Redis broker answered, and its queue lengths when it did; nothing
    when the broker is not a Redis server named by URL."""
    if not broker_url or not broker_url.startswith(REDIS_SCHEMES):
        return
    lengths = broker_queue_lengths(broker_url)
    yield GaugeMetricFamily(
        "digest_broker_up",
        "1 if the Redis broker answered this scrape, else 0.",
        value=0 if lengths is None else 1,
    )
    if lengths is not None:
        family = GaugeMetricFamily(
            "digest_broker_queue_length",
            "Tasks waiting in each Celery queue on the broker.",
            labels=["queue"],
        )
        for queue, length in lengths.items():
            family.add_metric([queue], length)
        yield family
