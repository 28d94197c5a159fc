"""Several relays tried in order, against real SMTP servers: a relay that is down or
turns mail away hands the message to the next; a refused recipient does not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from digest.config import Settings
from digest.db.engine import unit_of_work
from digest.db.models import Delivery
from digest.domain import delivery as rules
from digest.embedded import sender_for
from digest.mail.relays import RelaySender
from digest.services.sending import pipeline
from tests.conftest import World
from tests.integration.services.relay_servers import closed_port, settings_for, timed_servers

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SLOT = datetime(2026, 6, 2, 7, 0, tzinfo=UTC)
FROM = "digest@news.example.org"
MESSAGE = b"Subject: hi\r\nFrom: digest@news.example.org\r\n\r\nbody\r\n"


def subscribers(world: World, emails: list[str]) -> None:
    world.topics("tech")
    world.article("t1", SLOT - timedelta(hours=1), ["tech"])
    for email in emails:
        world.subscriber(email, "tech", T0)


def run(settings: Settings) -> pipeline.RunReport:
    return pipeline.run(settings.database_url, settings, sender_for(settings), lambda: SLOT)


def outcomes(db_url: str) -> dict[str, tuple[str, str | None]]:
    with unit_of_work(db_url) as s:
        return {d.email: (d.status, d.last_text) for d in s.scalars(select(Delivery))}


def test_a_relay_that_cannot_be_reached_hands_every_message_to_the_next(
    world: World, settings: Settings, broker: str, db_url: str
) -> None:
    emails = ["a@example.org", "b@example.org", "c@example.org"]
    subscribers(world, emails)
    with timed_servers() as (second,):
        urls = f"smtp://127.0.0.1:{closed_port()}, {second.url}"
        report = run(settings_for(settings, broker, DIGEST_SMTP_URL=urls))
    assert (report.sent, report.deferred, report.failed) == (3, 0, 0)
    assert sorted(second.recipients()) == emails
    for status, text in outcomes(db_url).values():
        assert status == rules.SENT
        assert text == f"2.0.0 queued (via {second.address})"


def test_a_relay_answering_421_to_mail_from_hands_the_messages_over(
    world: World, settings: Settings, broker: str, db_url: str
) -> None:
    subscribers(world, ["a@example.org", "b@example.org"])
    with timed_servers(2) as (first, second):
        first.handler.mail_reply = "421 4.7.0 Too many messages, try again later"
        urls = f"{first.url} {second.url}"
        report = run(settings_for(settings, broker, DIGEST_SMTP_URL=urls))
    assert report.sent == 2
    assert first.handler.mails == 1 and first.handler.received == []
    assert sorted(second.recipients()) == ["a@example.org", "b@example.org"]


def test_a_refused_recipient_is_the_messages_answer_not_a_failover(
    world: World, settings: Settings, broker: str, db_url: str
) -> None:
    subscribers(world, ["a@example.org", "gone@example.org"])
    with timed_servers(2) as (first, second):
        first.handler.rcpt_replies["gone@example.org"] = "550 5.1.1 No such mailbox"
        urls = f"{first.url},{second.url}"
        report = run(settings_for(settings, broker, DIGEST_SMTP_URL=urls))
    assert (report.sent, report.failed) == (1, 1)
    assert first.recipients() == ["a@example.org"] and second.handler.rcpts == 0
    status, text = outcomes(db_url)["gone@example.org"]
    assert status == rules.FAILED
    assert text == f"5.1.1 No such mailbox (via {first.address})"


def test_each_relay_keeps_its_own_limit(
    world: World, settings: Settings, broker: str, db_url: str
) -> None:
    subscribers(world, [f"r{i}@example.org" for i in range(5)])
    with timed_servers() as (second,):
        urls = f"smtp://127.0.0.1:{closed_port()}?per_hour=100, {second.url}?per_hour=2"
        report = run(settings_for(settings, broker, DIGEST_SMTP_URL=urls))
    assert (report.sent, report.deferred) == (2, 3)
    assert len(second.handler.received) == 2
    kept = [text for status, text in outcomes(db_url).values() if status == rules.DEFERRED]
    assert kept == [f"rate limit: relay {second.address} 2/h"] * 3


def test_when_every_relay_is_down_the_message_is_deferred_with_the_last_reason() -> None:
    down = [f"smtp://127.0.0.1:{closed_port()}" for _ in range(2)]
    with RelaySender.from_urls(down, timeout=2).session() as conn:
        reply = conn.send(FROM, "a@example.org", MESSAGE)
    assert reply.code is None and rules.outcome(reply) == rules.DEFERRED
    assert reply.text.startswith(f"cannot connect to {down[1].removeprefix('smtp://')}")


def test_a_relay_left_out_stays_out_for_the_rest_of_the_session() -> None:
    with timed_servers(2) as (first, second):
        first.handler.mail_reply = "451 4.3.2 System not accepting network messages"
        sender = RelaySender.from_urls([first.url, second.url])
        with sender.session() as conn:
            replies = [conn.send(FROM, f"r{i}@example.org", MESSAGE) for i in range(3)]
            assert conn.relay.address == second.address
    assert [r.code for r in replies] == [250, 250, 250]
    assert len(second.handler.received) == 3
    assert first.handler.mails == 1  # asked for the first message only
