"""The circuit breaker against a real SMTP relay that starts throttling: sending
stops by itself, the dashboard and the API say why, nothing is lost, and after an
operator resumes every held-back digest goes out once."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from digest.config import Settings
from digest.db.engine import unit_of_work
from digest.db.models import Delivery, DeliveryAttempt
from digest.domain import delivery as rules
from digest.embedded import sender_for
from digest.services.console.admins import create_admin, create_api_key
from digest.services.sending import breaker, pipeline
from digest.services.sending.controls import pause_state, set_sending_paused
from tests.conftest import World
from tests.integration.services.relay_servers import TimedServer, settings_for, timed_servers
from tests.integration.web.helpers import browser, csrf_of

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SLOT = datetime(2026, 6, 2, 7, 0, tzinfo=UTC)
LATER = SLOT + timedelta(days=1)
READERS = 120
PASSWORD = "correct horse battery staple"
REASON = re.compile(
    r"circuit breaker: (\d+) of the last (\d+) attempts were throttled \(421 / 4\.7\.x\)"
)


def throttling_after(accepted: int):  # type: ignore[no-untyped-def]
    """A relay that takes the first ``accepted`` recipients, then throttles nine in ten."""

    def rule(number: int) -> str | None:
        if number <= accepted or number % 10 == 0:
            return None
        return "421 4.7.0 Too many messages from your IP, try again later"

    return rule


def setup(world: World, settings: Settings, broker: str, relay: TimedServer) -> Settings:
    world.topics("tech")
    world.article("t1", SLOT - timedelta(hours=1), ["tech"])
    for i in range(READERS):
        world.subscriber(f"r{i}@example.org", "tech", T0)
    with unit_of_work(settings.database_url) as s:
        create_admin(s, "ops@example.org", PASSWORD, "operator", T0)
    return settings_for(
        settings,
        broker,
        DIGEST_SMTP_URL=relay.url,
        DIGEST_BREAKER_WINDOW="50",
        DIGEST_BREAKER_MIN_ATTEMPTS="20",
        DIGEST_BREAKER_THROTTLE_SHARE="0.5",
    )


def signed_in(settings: Settings) -> TestClient:
    client = browser(settings)
    form = client.get("/admin/sign-in")
    client.post(
        "/admin/sign-in",
        data={"csrf_token": csrf_of(form.text), "email": "ops@example.org", "password": PASSWORD},
    )
    return client


def by_status(db_url: str) -> Counter[str]:
    with unit_of_work(db_url) as s:
        rows = s.execute(select(Delivery.status, func.count()).group_by(Delivery.status))
        return Counter({status: int(n) for status, n in rows})


def attempts(db_url: str) -> int:
    with unit_of_work(db_url) as s:
        return int(s.scalar(select(func.count()).select_from(DeliveryAttempt)) or 0)


def test_a_throttling_relay_trips_the_breaker_and_resuming_sends_the_rest_once(
    world: World, settings: Settings, broker: str, db_url: str
) -> None:
    with timed_servers() as (relay,):
        limited = setup(world, settings, broker, relay)
        relay.handler.rcpt_rule = throttling_after(10)
        report = pipeline.run(db_url, limited, sender_for(limited), lambda: SLOT)

        # Sending stopped by itself, with its reason, after one group of attempts.
        with unit_of_work(db_url) as s:
            state = pause_state(s)
        assert state.paused and state.by == "circuit breaker"
        assert state.reason is not None
        found = REASON.fullmatch(state.reason)
        assert found and int(found[1]) >= int(found[2]) / 2
        tried = attempts(db_url)
        assert 20 <= tried < READERS
        # Every recipient the relay heard of has its attempt recorded: none after the trip.
        assert relay.handler.rcpts == tried
        assert report.sent + report.deferred == READERS and report.failed == 0

        # Nothing is lost: the held-back deliveries are deferred, unattempted.
        assert by_status(db_url) == Counter(
            {rules.DEFERRED: READERS - report.sent, rules.SENT: report.sent}
        )
        with unit_of_work(db_url) as s:
            held = list(s.scalars(select(Delivery).where(Delivery.attempts == 0)))
            assert len(held) == READERS - tried
            assert {d.status for d in held} == {rules.DEFERRED}
            assert {d.last_text for d in held} == {f"sending paused: {state.reason}"}

        # The dashboard and the API say why, and who paused it.
        client = signed_in(limited)
        page = client.get("/admin").text
        assert "Sending is paused" in page and "Paused by circuit breaker" in page
        assert state.reason in page
        with unit_of_work(db_url) as s:
            key = create_api_key(s, "monitor", "operator", T0)
        stats = client.get("/api/stats", headers={"Authorization": f"Bearer {key}"}).json()
        assert stats["sending_paused"] is True
        assert stats["sending_paused_reason"] == state.reason

        # While paused, within the breaker's cool-down, the retry sweep sends nothing.
        relay.handler.rcpt_rule = None
        cooling = SLOT + limited.breaker_cooldown / 2
        paused = pipeline.retry(db_url, limited, sender_for(limited), lambda: cooling)
        assert paused.sent == 0 and relay.handler.rcpts == tried

        # An operator resumes from the dashboard; the attempts that tripped the breaker
        # no longer count, so it does not trip again at once.
        client.post("/admin/sending", data={"csrf_token": csrf_of(page), "action": "resume"})
        with unit_of_work(db_url) as s:
            assert not pause_state(s).paused
            assert breaker.check(s, limited, LATER) is None
        assert "Sending is running" in client.get("/admin").text

        resumed = pipeline.retry(db_url, limited, sender_for(limited), lambda: LATER)
        assert resumed.sent == READERS - report.sent

    assert by_status(db_url) == Counter({rules.SENT: READERS})
    per_reader = Counter(relay.recipients())
    assert len(per_reader) == READERS and set(per_reader.values()) == {1}


def test_resuming_through_the_service_clears_the_reason(
    world: World, settings: Settings, broker: str, db_url: str
) -> None:
    with timed_servers() as (relay,):
        limited = setup(world, settings, broker, relay)
        relay.handler.rcpt_rule = throttling_after(0)
        pipeline.run(db_url, limited, sender_for(limited), lambda: SLOT)
    with unit_of_work(db_url) as s:
        assert pause_state(s).reason is not None
        set_sending_paused(s, False, "ops@example.org", LATER)
    with unit_of_work(db_url) as s:
        assert pause_state(s) == pause_state(s).__class__(False)
        set_sending_paused(s, True, "ops@example.org", LATER)
        state = pause_state(s)
    # An operator's pause has no reason of its own; the breaker's is gone.
    assert (state.paused, state.by, state.reason) == (True, "ops@example.org", None)


def test_many_permanent_failures_trip_it_too(
    world: World, settings: Settings, broker: str, db_url: str
) -> None:
    with timed_servers() as (relay,):
        limited = setup(world, settings, broker, relay)
        relay.handler.rcpt_rule = lambda n: "554 5.7.1 Service unavailable; client host blocked"
        pipeline.run(db_url, limited, sender_for(limited), lambda: SLOT)
    with unit_of_work(db_url) as s:
        state = pause_state(s)
    assert state.paused and state.reason is not None
    assert re.fullmatch(
        r"circuit breaker: (\d+) of the last \1 attempts failed permanently \(5xx\)", state.reason
    )
    assert by_status(db_url)[rules.DEFERRED] == READERS - attempts(db_url)
