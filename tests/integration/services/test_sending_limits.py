"""Sending limits in the send loop, against a real Redis and real SMTP relays:
per-domain pacing, an hourly budget that defers the rest, and no sending at all
while the limits cannot be checked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from digest.config import Rate, Settings
from digest.db.engine import unit_of_work
from digest.db.models import Delivery, DeliveryAttempt
from digest.domain import delivery as rules
from digest.embedded import sender_for
from digest.mail.ratelimit import Bucket
from digest.services.sending import pipeline
from digest.services.sending.throttling import SLEEP_IN_ALL, SLEEP_PER_BATCH, Postponed, Throttle
from tests.conftest import World
from tests.integration.services.relay_servers import (
    busiest_window,
    closed_port,
    settings_for,
    timed_servers,
)

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SLOT = datetime(2026, 6, 2, 7, 0, tzinfo=UTC)


def subscribers(world: World, emails: list[str]) -> None:
    world.topics("tech")
    world.article("t1", SLOT - timedelta(hours=1), ["tech"])
    for email in emails:
        world.subscriber(email, "tech", T0)


def run(settings: Settings, at: datetime = SLOT) -> pipeline.RunReport:
    return pipeline.run(settings.database_url, settings, sender_for(settings), lambda: at)


def retry(settings: Settings, at: datetime) -> pipeline.RunReport:
    return pipeline.retry(settings.database_url, settings, sender_for(settings), lambda: at)


def deliveries(db_url: str) -> dict[str, Delivery]:
    with unit_of_work(db_url) as s:
        rows = list(s.scalars(select(Delivery)))
        s.expunge_all()
    return {d.email: d for d in rows}


def attempts_of(db_url: str, delivery_id: int) -> int:
    with unit_of_work(db_url) as s:
        query = select(func.count()).where(DeliveryAttempt.delivery_id == delivery_id)
        return int(s.scalar(query) or 0)


def test_a_domain_limit_paces_that_domain_and_no_other(
    world: World, settings: Settings, broker: str, db_url: str
) -> None:
    others = [f"e{i}@example.org" for i in range(10)]
    gmail = [f"g{i}@gmail.com" for i in range(12)]
    subscribers(world, others + gmail)
    with timed_servers() as (relay,):
        limited = settings_for(
            settings, broker, DIGEST_SMTP_URL=relay.url, DIGEST_DOMAIN_LIMITS="gmail.com=4/s"
        )
        report = run(limited)
    assert (report.sent, report.deferred, report.failed) == (22, 0, 0)
    arrivals = relay.handler.arrivals
    to_gmail = [at for at, rcpt in arrivals if rcpt.endswith("@gmail.com")]
    to_others = [at for at, rcpt in arrivals if rcpt.endswith("@example.org")]
    assert len(to_gmail) == 12 and busiest_window(to_gmail) <= 4
    assert max(to_gmail) - min(to_gmail) >= 2.0  # 12 at 4 per second: three bursts
    assert busiest_window(to_others) > 4  # the limit is gmail.com's alone


def test_a_domain_far_behind_its_limit_postpones_without_holding_the_worker(
    world: World, settings: Settings, broker: str, db_url: str
) -> None:
    subscribers(world, [f"o{i}@outlook.com" for i in range(4)] + ["a@example.org"])
    with timed_servers() as (relay,):
        limited = settings_for(
            settings, broker, DIGEST_SMTP_URL=relay.url, DIGEST_DOMAIN_LIMITS="outlook.com=2/h"
        )
        report = run(limited)
    assert (report.sent, report.deferred) == (3, 2)
    assert sorted(relay.recipients()) == ["a@example.org", "o0@outlook.com", "o1@outlook.com"]
    for email in ("o2@outlook.com", "o3@outlook.com"):
        kept = deliveries(db_url)[email]
        assert kept.status == rules.DEFERRED and kept.attempts == 0
        assert kept.last_text == "rate limit: outlook.com 2/h"


def test_a_spent_hourly_budget_defers_the_rest_until_it_allows_and_sends_nothing_extra(
    world: World, settings: Settings, broker: str, db_url: str
) -> None:
    subscribers(world, [f"r{i}@example.org" for i in range(5)])
    with timed_servers() as (relay,):
        limited = settings_for(settings, broker, DIGEST_SMTP_URL=f"{relay.url}?per_hour=3")
        report = run(limited)
        assert (report.sent, report.deferred, report.failed) == (3, 2, 0)
        rows = deliveries(db_url)
        kept = [d for d in rows.values() if d.status == rules.DEFERRED]
        assert len(kept) == 2
        for delivery in kept:
            # Due when the first of the hour's three tokens comes back, not at a back-off.
            assert delivery.next_attempt_at is not None
            due_in = delivery.next_attempt_at - SLOT
            assert timedelta(minutes=59) < due_in <= timedelta(hours=1, seconds=1)
            assert delivery.last_text == f"rate limit: relay {relay.address} 3/h"
            assert delivery.attempts == 0 and delivery.last_code is None
            assert attempts_of(db_url, delivery.id) == 0  # postponed, not attempted
        # The database clock says they are due; the relay's hour is not over.
        later = retry(limited, SLOT + timedelta(hours=2))
        assert (later.sent, later.deferred) == (0, 2)
        assert len(relay.handler.received) == 3
    again = [d for d in deliveries(db_url).values() if d.status == rules.DEFERRED]
    assert all(
        d.next_attempt_at and d.next_attempt_at > SLOT + timedelta(hours=2, minutes=59)
        for d in again
    )


def test_while_the_limits_cannot_be_checked_the_batch_is_deferred_not_sent(
    world: World, settings: Settings, db_url: str
) -> None:
    subscribers(world, [f"r{i}@example.org" for i in range(3)])
    no_redis = f"redis://127.0.0.1:{closed_port()}/0"
    with timed_servers() as (relay,):
        limited = settings_for(settings, no_redis, DIGEST_SMTP_URL=f"{relay.url}?per_second=50")
        report = run(limited)
    assert (report.sent, report.deferred) == (0, 3)
    assert relay.handler.received == [] and relay.handler.rcpts == 0
    for delivery in deliveries(db_url).values():
        assert delivery.last_text is not None
        assert delivery.last_text.startswith("rate limit: Redis cannot be reached")
        assert delivery.next_attempt_at == SLOT + limited.retry_first_delay
        assert delivery.attempts == 0


def test_without_limits_redis_is_not_asked(world: World, settings: Settings, db_url: str) -> None:
    subscribers(world, ["a@example.org", "b@example.org"])
    no_redis = f"redis://127.0.0.1:{closed_port()}/0"
    with timed_servers() as (relay,):
        report = run(settings_for(settings, no_redis, DIGEST_SMTP_URL=relay.url))
    assert report.sent == 2


def test_a_worker_sleeps_for_a_near_token_but_never_past_its_budgets(
    settings: Settings, broker: str
) -> None:
    naps: list[float] = []
    throttle = Throttle(settings_for(settings, broker), sleep=naps.append)  # naps take no time
    one = Bucket("digest:rate:test:one", Rate(1, 1), "test 1/s")
    assert throttle.take([one]) == 0.0
    # The token does not come back while the worker "sleeps", so it keeps waiting
    # for it until one message's budget is spent, then postpones.
    with pytest.raises(Postponed, match="rate limit: test 1/s") as kept:
        throttle.take([one])
    assert 0 < kept.value.wait <= 1.05
    assert naps and sum(naps) <= SLEEP_IN_ALL < sum(naps) + naps[-1] + 0.1
    # A batch that has slept its fill postpones at once.
    throttle.slept = SLEEP_PER_BATCH - 0.5
    naps.clear()
    with pytest.raises(Postponed):
        throttle.take([one])
    assert naps == []
