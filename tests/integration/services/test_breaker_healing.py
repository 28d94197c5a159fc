"""A breaker that heals: a relay that refuses a whole session counts once, not once per
message; an open breaker tries a few messages after its cool-down and resumes by
itself when they pass, stays open and says so while they fail, and never overrides
an operator."""

from __future__ import annotations

import dataclasses
import logging
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from digest.db.engine import unit_of_work
from digest.db.models import Delivery, DeliveryAttempt
from digest.mail.sender import SMTPSender
from digest.services.console.admins import create_api_key
from digest.services.sending import breaker, healing, pipeline
from digest.services.sending.controls import pause_state, pause_unless_paused, set_sending_paused
from digest.web.app import create_app

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SLOT = datetime(2026, 6, 2, 7, 0, tzinfo=UTC)
READERS = 60


@pytest.fixture
def refusing_relay() -> Iterator[str]:
    """A relay that answers every connection with a 421 greeting and hangs up."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.sendall(b"421 4.7.0 mx.example.net too busy, try again later\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"smtp://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        server.close()
        thread.join(timeout=5)


def seed(world) -> None:  # type: ignore[no-untyped-def]
    world.topics("news")
    world.article("story", SLOT - timedelta(hours=1), ["news"])
    for i in range(READERS):
        world.subscriber(f"r{i:02d}@example.org", "news", T0)


def attempts(db_url: str) -> int:
    with unit_of_work(db_url) as s:
        return int(s.scalar(select(func.count()).select_from(DeliveryAttempt)) or 0)


def statuses(db_url: str) -> Counter[str]:
    with unit_of_work(db_url) as s:
        rows = s.execute(select(Delivery.status, func.count()).group_by(Delivery.status))
        return Counter(dict(rows.all()))


def test_a_session_the_relay_refuses_counts_once_and_trips_nothing(  # type: ignore[no-untyped-def]
    world, db_url, settings, refusing_relay
) -> None:
    seed(world)
    refused = dataclasses.replace(settings, smtp_url=refusing_relay, breaker_min_attempts=20)
    report = pipeline.run(db_url, refused, SMTPSender.from_url(refusing_relay), lambda: SLOT)

    assert report.deferred == READERS and report.sent == 0
    assert attempts(db_url) == 1  # the greeting, once: the others never reached a relay
    with unit_of_work(db_url) as s:
        assert not pause_state(s).paused
        texts = set(s.scalars(select(Delivery.last_text).where(Delivery.attempts == 0)))
        due = set(s.scalars(select(Delivery.next_attempt_at)))
    # A refused session says nothing about the messages: all are tried again in a minute.
    assert due == {SLOT + timedelta(minutes=1)}
    assert len(texts) == 1 and next(iter(texts)).startswith(
        "not sent: no relay could take mail in this session (4.7.0 mx.example.net too busy"
    )


def trip(world, db_url, settings, refusing_relay) -> datetime:  # type: ignore[no-untyped-def]
    """Every digest held back and the breaker open since SLOT."""
    seed(world)
    refused = dataclasses.replace(settings, smtp_url=refusing_relay)
    pipeline.run(db_url, refused, SMTPSender.from_url(refusing_relay), lambda: SLOT)
    with unit_of_work(db_url) as s:
        reason = f"{breaker.BREAKER}: 40 of the last 50 attempts were throttled (421 / 4.7.x)"
        assert pause_unless_paused(s, reason, breaker.BREAKER, SLOT)
    return SLOT


def test_an_open_breaker_tries_a_few_after_its_cooldown_and_closes_when_they_pass(  # type: ignore[no-untyped-def]
    world, db_url, settings, refusing_relay, smtp_server
) -> None:
    opened = trip(world, db_url, settings, refusing_relay)
    good = dataclasses.replace(settings, smtp_url=smtp_server.url)
    sender = SMTPSender.from_url(smtp_server.url)
    cool = settings.breaker_cooldown

    assert healing.heal(db_url, good, sender, lambda: opened + cool / 2) is None
    assert smtp_server.received == []

    healed = healing.heal(db_url, good, sender, lambda: opened + cool)
    assert healed == healing.Healing(closed=True, probes=5, accepted=5)
    with unit_of_work(db_url) as s:
        assert not pause_state(s).paused
    later = opened + cool + timedelta(minutes=6)
    pipeline.retry(db_url, good, sender, lambda: later)
    copies = Counter(r.rcpt_tos[0] for r in smtp_server.received)
    assert len(copies) == READERS and set(copies.values()) == {1}
    assert statuses(db_url) == Counter({"sent": READERS})


def test_probes_that_fail_keep_it_open_for_longer_and_say_so(  # type: ignore[no-untyped-def]
    world, db_url, settings, refusing_relay, smtp_server, broker, caplog
) -> None:
    opened = trip(world, db_url, settings, refusing_relay)
    throttled = dataclasses.replace(settings, smtp_url=smtp_server.url)
    smtp_server.handler.data_replies = ["421 4.7.0 Too many messages, slow down"] * 10
    sender = SMTPSender.from_url(smtp_server.url)
    cool = settings.breaker_cooldown

    with caplog.at_level(logging.WARNING, logger="digest.services.sending.healing"):
        healed = healing.heal(db_url, throttled, sender, lambda: opened + cool)
    assert healed is not None and not healed.closed and healed.accepted == 0
    assert healed.next_try_at == opened + cool + 2 * cool
    assert any("sending stays paused" in r.getMessage() for r in caplog.records)
    with unit_of_work(db_url) as s:
        state = pause_state(s)
        assert state.paused and state.by == breaker.BREAKER
        assert "5 of 5 probes at 07:05 UTC were not accepted, next try at 07:15 UTC" in (
            state.reason or ""
        )
        key = create_api_key(s, "ops", "operator", T0)
    # Before the next try nothing is sent; the operator sees when it comes.
    assert healing.heal(db_url, throttled, sender, lambda: opened + 2 * cool) is None
    app = create_app(dataclasses.replace(throttled, broker_url=broker))
    with TestClient(app) as client:
        stats = client.get("/api/stats", headers={"Authorization": f"Bearer {key}"}).json()
    assert stats["sending_paused"] is True
    assert stats["breaker_next_probe_at"].startswith("2026-06-02T07:15:00")
    assert "were not accepted" in stats["sending_paused_reason"]


def test_an_operators_pause_is_never_lifted_by_the_breaker(  # type: ignore[no-untyped-def]
    world, db_url, settings, refusing_relay, smtp_server
) -> None:
    seed(world)
    with unit_of_work(db_url) as s:
        set_sending_paused(s, True, "ops@example.org", SLOT)
    good = dataclasses.replace(settings, smtp_url=smtp_server.url)
    sender = SMTPSender.from_url(smtp_server.url)
    assert healing.heal(db_url, good, sender, lambda: SLOT + timedelta(hours=3)) is None
    with unit_of_work(db_url) as s:
        assert pause_state(s).by == "ops@example.org"
    assert smtp_server.received == []
