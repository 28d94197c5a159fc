"""The pipeline in one process against a real database and a real SMTP server:
idempotent planning, the sent-ledger, skipped digests, retries and bounces."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from digest.db.engine import unit_of_work
from digest.db.models import (
    Article,
    BounceEvent,
    Delivery,
    DeliveryAttempt,
    Digest,
    Subscriber,
    Suppression,
)
from digest.domain.consent import address_hash
from digest.mail.sender import SMTPSender
from digest.services.sending import pipeline, planning

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)  # subscribers join at noon
SLOT1 = datetime(2026, 6, 2, 7, 0, tzinfo=UTC)  # their first 07:00 UTC slot
SLOT2 = SLOT1 + timedelta(days=1)


def clock_at(moment: datetime):  # type: ignore[no-untyped-def]
    return lambda: moment


def run(mail_settings, at: datetime) -> pipeline.RunReport:  # type: ignore[no-untyped-def]
    sender = SMTPSender.from_url(mail_settings.smtp_url)
    return pipeline.run(mail_settings.database_url, mail_settings, sender, clock_at(at))


def retry(mail_settings, at: datetime) -> pipeline.RunReport:  # type: ignore[no-untyped-def]
    sender = SMTPSender.from_url(mail_settings.smtp_url)
    return pipeline.retry(mail_settings.database_url, mail_settings, sender, clock_at(at))


def urls(received) -> list[str]:  # type: ignore[no-untyped-def]
    html = received.message.get_body(("html",)).get_content()
    return sorted(set(re.findall(r'href="https://news\.example\.org/([a-z0-9-]+)"', html)))


def count_rows(db_url: str, model) -> int:  # type: ignore[no-untyped-def]
    with unit_of_work(db_url) as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_planning_twice_makes_one_digest(world, mail_settings, db_url) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech")
    world.subscriber("a@example.org", "tech", T0)
    first = planning.plan(db_url, mail_settings, SLOT1)
    again = planning.plan(db_url, mail_settings, SLOT1)
    later = planning.plan(db_url, mail_settings, SLOT1 + timedelta(minutes=1))
    assert len(first.digest_ids) == 1
    assert again.digest_ids == [] and later.digest_ids == []
    assert count_rows(db_url, Digest) == 1


def test_concurrent_planners_make_one_digest_per_slot(world, mail_settings, db_url) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech")
    for i in range(30):
        world.subscriber(f"s{i}@example.org", "tech", T0)
    results: list[list[int]] = []

    def tick() -> None:
        results.append(planning.plan(db_url, mail_settings, SLOT1).digest_ids)

    threads = [threading.Thread(target=tick) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    planned = [i for r in results for i in r]
    assert len(planned) == len(set(planned)) == 30
    assert count_rows(db_url, Digest) == 30


def test_next_day_brings_only_new_articles_then_nothing_is_skipped(
    world,
    mail_settings,
    db_url,
    smtp_server,  # type: ignore[no-untyped-def]
) -> None:
    world.topics("tech", "trade")
    world.article("old-news", T0 - timedelta(hours=3), ["tech"])
    world.article("both", T0 + timedelta(hours=2), ["tech", "trade"])
    world.subscriber("a@example.org", "tech,trade", T0)

    assert run(mail_settings, SLOT1).sent == 1
    assert urls(smtp_server.received[0]) == ["both", "old-news"]

    world.article("fresh", SLOT1 + timedelta(hours=5), ["trade"])
    # An article already sent that is edited later is still not sent again.
    with unit_of_work(db_url) as s:
        both = s.scalars(select(Article).where(Article.url.endswith("/both"))).one()
        both.title, both.updated_at = "Story both, updated", SLOT1 + timedelta(hours=6)
    report = run(mail_settings, SLOT2)
    assert report.sent == 1
    assert urls(smtp_server.received[1]) == ["fresh"]

    report = run(mail_settings, SLOT2 + timedelta(days=1))
    assert (report.planned, report.skipped, report.sent) == (1, 1, 0)
    assert len(smtp_server.received) == 2
    with unit_of_work(db_url) as s:
        statuses = list(s.scalars(select(Digest.status).order_by(Digest.slot_at)))
        reasons = list(s.scalars(select(Digest.reason).order_by(Digest.slot_at)))
    assert statuses == ["sent", "sent", "skipped"]
    assert reasons[2] and "nothing new" in reasons[2]


def test_451_defers_with_back_off_and_retry_sends_once(
    world,
    mail_settings,
    db_url,
    smtp_server,  # type: ignore[no-untyped-def]
) -> None:
    world.topics("tech")
    world.article("a1", T0 + timedelta(hours=1), ["tech"])
    world.subscriber("a@example.org", "tech", T0)
    smtp_server.handler.data_replies.append("451 4.3.0 Mailbox temporarily unavailable")

    report = run(mail_settings, SLOT1)
    assert (report.sent, report.deferred) == (0, 1)
    with unit_of_work(db_url) as s:
        d = s.scalars(select(Delivery)).one()
        assert d.status == "deferred"
        assert d.next_attempt_at == SLOT1 + mail_settings.retry_first_delay
        assert (d.last_code, d.last_enhanced_code) == (451, "4.3.0")

    assert retry(mail_settings, SLOT1 + timedelta(minutes=1)).sent == 0  # not yet due
    assert retry(mail_settings, SLOT1 + timedelta(minutes=5)).sent == 1
    assert retry(mail_settings, SLOT1 + timedelta(hours=1)).sent == 0
    assert len(smtp_server.received) == 1
    with unit_of_work(db_url) as s:
        d = s.scalars(select(Delivery)).one()
        assert (d.status, d.attempts) == ("sent", 2)
        codes = list(s.scalars(select(DeliveryAttempt.code).order_by(DeliveryAttempt.id)))
    assert codes == [451, 250]


def test_550_5_1_1_fails_suppresses_and_never_retries(
    world,
    mail_settings,
    db_url,
    smtp_server,  # type: ignore[no-untyped-def]
) -> None:
    world.topics("tech")
    world.article("a1", T0 + timedelta(hours=1), ["tech"])
    world.subscriber("gone@example.org", "tech", T0)
    world.subscriber("here@example.org", "tech", T0)
    smtp_server.handler.rcpt_replies["gone@example.org"] = "550 5.1.1 No such user here"

    report = run(mail_settings, SLOT1)
    assert (report.sent, report.failed) == (1, 1)
    with unit_of_work(db_url) as s:
        failed = s.scalars(select(Delivery).where(Delivery.email == "gone@example.org")).one()
        assert failed.status == "failed" and failed.next_attempt_at is None
        assert (failed.last_code, failed.last_enhanced_code) == (550, "5.1.1")
        sub = s.scalars(select(Subscriber).where(Subscriber.email == "gone@example.org")).one()
        assert sub.status == "bounced"
        supp = s.scalars(select(Suppression)).one()
        assert (supp.email, supp.reason) == ("gone@example.org", "hard_bounce")

    assert retry(mail_settings, SLOT1 + timedelta(days=1)).sent == 0
    world.article("a2", SLOT1 + timedelta(hours=1), ["tech"])
    assert run(mail_settings, SLOT2).planned == 1  # only the one still active
    assert [r.rcpt_tos for r in smtp_server.received] == [["here@example.org"]] * 2


def test_a_relay_refusal_is_a_bounce_with_a_reason_and_the_same_policy(
    world,
    mail_settings,
    db_url,
    smtp_server,  # type: ignore[no-untyped-def]
) -> None:
    """A 5xx during the SMTP conversation goes through the reason rules and the bounce
    policy of reports: a 5.1.1 in a block-list refusal does not suppress, a user
    unknown said with another code does, a full mailbox is counted."""
    world.topics("tech")
    world.article("a1", T0 + timedelta(hours=1), ["tech"])
    replies = {
        "listed@example.org": "550 5.1.1 Service unavailable; client [192.0.2.1] blocked using"
        " zen.spamhaus.org",
        "gone@example.org": "550 5.5.0 <gone@example.org>: User unknown",
        "full@example.org": "552 5.2.2 Mailbox full",
        "policy@example.org": "554 5.7.1 Message rejected for policy reasons",
    }
    for email in replies:
        world.subscriber(email, "tech", T0)
    smtp_server.handler.rcpt_replies.update(replies)

    assert run(mail_settings, SLOT1).failed == 4
    with unit_of_work(db_url) as s:
        events = {
            e.recipient: e
            for e in s.scalars(select(BounceEvent).where(BounceEvent.source == "relay"))
        }
        statuses = {sub.email: sub.status for sub in s.scalars(select(Subscriber))}
        suppressed = {row.email for row in s.scalars(select(Suppression))}
        bounced = {d.email: (d.bounce_kind, d.bounce_reason) for d in s.scalars(select(Delivery))}
    assert {r: (e.reason, e.kind) for r, e in events.items()} == {
        "listed@example.org": ("blocked", "soft"),
        "gone@example.org": ("user_unknown", "hard"),
        "full@example.org": ("mailbox_full", "soft"),
        "policy@example.org": ("policy_violation", "soft"),
    }
    assert bounced["gone@example.org"] == ("hard", "user_unknown")
    assert bounced["listed@example.org"] == ("soft", "blocked")
    assert statuses == {
        "listed@example.org": "active",
        "gone@example.org": "bounced",
        "full@example.org": "active",
        "policy@example.org": "active",
    }
    assert suppressed == {"gone@example.org"}
    assert events["listed@example.org"].outcome.startswith("no action: blames our sending")
    assert events["policy@example.org"].outcome.startswith("no action: blames our sending")
    assert events["full@example.org"].outcome == (
        "counted: soft 5.2.2 (mailbox_full), 1 of 3 within 14 days"
    )
    assert events["gone@example.org"].outcome == "suppressed: hard bounce 5.5.0 (user_unknown)"


def test_a_dropped_connection_defers(world, mail_settings, db_url, smtp_server) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech")
    world.article("a1", T0 + timedelta(hours=1), ["tech"])
    world.subscriber("a@example.org", "tech", T0)
    smtp_server.handler.drop_next_data = True

    assert run(mail_settings, SLOT1).deferred == 1
    with unit_of_work(db_url) as s:
        d = s.scalars(select(Delivery)).one()
        attempt = s.scalars(select(DeliveryAttempt)).one()
    assert d.status == "deferred" and d.next_attempt_at is not None
    assert attempt.outcome == "deferred" and attempt.text
    assert retry(mail_settings, d.next_attempt_at).sent == 1
    assert len(smtp_server.received) == 1


def test_a_deferred_delivery_gives_up_after_the_maximum_age(
    world,
    mail_settings,
    db_url,
    smtp_server,  # type: ignore[no-untyped-def]
) -> None:
    world.topics("tech")
    world.article("a1", T0 + timedelta(hours=1), ["tech"])
    world.subscriber("a@example.org", "tech", T0)
    smtp_server.handler.data_replies.extend(["451 4.4.1 try later"] * 50)
    run(mail_settings, SLOT1)
    moment = SLOT1
    for _ in range(40):
        with unit_of_work(db_url) as s:
            d = s.scalars(select(Delivery)).one()
        if d.status != "deferred":
            break
        moment = d.next_attempt_at
        retry(mail_settings, moment)
    assert d.status == "failed"
    assert "gave up" in (d.last_text or "")
    assert moment - SLOT1 <= mail_settings.retry_max_age
    assert smtp_server.received == []


def test_weekly_topics_join_the_daily_email_on_their_weekday(
    world,
    mail_settings,
    db_url,
    smtp_server,  # type: ignore[no-untyped-def]
) -> None:
    from digest.db.models import Subscription, Topic

    world.topics("tech", "books")
    sub_id = world.subscriber("a@example.org", "tech,books", T0, weekday="wed")
    with unit_of_work(db_url) as s:
        books = s.scalars(select(Topic).where(Topic.slug == "books")).one()
        s.get(Subscription, (sub_id, books.id)).frequency = "weekly"
    world.article("tech-1", T0 + timedelta(hours=1), ["tech"])
    world.article("book-1", T0 + timedelta(hours=1), ["books"])

    # Tuesday: daily topics only.
    assert run(mail_settings, SLOT1).sent == 1
    assert urls(smtp_server.received[0]) == ["tech-1"]
    # Wednesday: the weekly topic joins, in the same single email.
    world.article("tech-2", SLOT1 + timedelta(hours=3), ["tech"])
    assert run(mail_settings, SLOT2).sent == 1
    assert urls(smtp_server.received[1]) == ["book-1", "tech-2"]
    # Thursday: nothing new in the daily topic, and books wait for next Wednesday.
    world.article("book-2", SLOT2 + timedelta(hours=3), ["books"])
    report = run(mail_settings, SLOT2 + timedelta(days=1))
    assert (report.planned, report.sent, report.skipped) == (1, 0, 1)
    assert len(smtp_server.received) == 2


def test_a_short_outage_is_caught_up_once_and_a_long_one_is_skipped(
    world,
    mail_settings,
    db_url,  # type: ignore[no-untyped-def]
) -> None:
    world.topics("tech")
    world.subscriber("a@example.org", "tech", T0)
    assert planning.plan(db_url, mail_settings, T0 + timedelta(minutes=1)).digest_ids == []
    # Beat was down from before 07:00 until 09:30: the 07:00 slot is still sent, once.
    late = planning.plan(db_url, mail_settings, SLOT1 + timedelta(hours=2, minutes=30))
    assert len(late.digest_ids) == 1
    assert planning.plan(db_url, mail_settings, SLOT1 + timedelta(hours=3)).digest_ids == []
    # Down for a whole day and back at 14:00, past the 6-hour bound: reported, not sent.
    missed = planning.plan(db_url, mail_settings, SLOT2 + timedelta(hours=7))
    assert (missed.digest_ids, missed.missed) == ([], 1)
    with unit_of_work(db_url) as s:
        slots = list(s.scalars(select(Digest.slot_at)))
        next_slot = s.scalars(select(Subscriber.next_slot_at)).one()
    assert slots == [SLOT1]
    assert next_slot == SLOT2 + timedelta(days=1)


def test_status_and_suppression_are_checked_again_at_send_time(
    world,
    mail_settings,
    db_url,
    smtp_server,  # type: ignore[no-untyped-def]
) -> None:
    from digest.services.readers.unsubscribing import unsubscribe
    from digest.services.sending import building, delivering

    world.topics("tech")
    world.article("a1", T0 + timedelta(hours=1), ["tech"])
    leaving = world.subscriber("leaving@example.org", "tech", T0)
    world.subscriber("suppressed@example.org", "tech", T0)
    world.subscriber("staying@example.org", "tech", T0)
    planned = planning.plan(db_url, mail_settings, SLOT1).digest_ids
    with unit_of_work(db_url) as s:
        built = building.build(s, planned, mail_settings, SLOT1)
    assert len(built.delivery_ids) == 3
    # Between queueing and sending: one unsubscribes, one address gets suppressed.
    with unit_of_work(db_url) as s:
        unsubscribe(s, leaving, SLOT1)
        s.add(
            Suppression(
                email_hash=address_hash("suppressed@example.org"),
                email="suppressed@example.org",
                reason="manual",
                detail="",
                created_at=SLOT1,
            )
        )
    sender = SMTPSender.from_url(mail_settings.smtp_url)
    report = delivering.send_deliveries(
        db_url, built.delivery_ids, mail_settings, sender, lambda: SLOT1
    )
    assert (report.sent, report.failed) == (1, 2)
    assert [r.rcpt_tos for r in smtp_server.received] == [["staying@example.org"]]
    with unit_of_work(db_url) as s:
        reasons = {d.email: d.last_text for d in s.scalars(select(Delivery))}
    assert reasons["leaving@example.org"] == "not sent: subscriber is unsubscribed"
    assert reasons["suppressed@example.org"] == "not sent: address is suppressed"


def test_changing_an_active_subscriber_applies_from_the_next_slot(  # type: ignore[no-untyped-def]
    world, mail_settings, smtp_server
) -> None:
    world.topics("tech")
    world.subscriber("reader@example.org", "tech", T0)
    world.article("a1", SLOT1 - timedelta(hours=1), ["tech"])
    sender = SMTPSender.from_url(mail_settings.smtp_url)
    assert pipeline.run(mail_settings.database_url, mail_settings, sender, lambda: SLOT1).sent == 1
    # At 10:00 the reader moves to 09:00: today's 09:00 has passed, so nothing until tomorrow.
    changed_at = SLOT1 + timedelta(hours=3)
    world.subscriber("reader@example.org", "tech", changed_at, hour=9)
    world.article("a2", changed_at - timedelta(hours=2), ["tech"])
    later = changed_at + timedelta(minutes=1)
    assert pipeline.run(mail_settings.database_url, mail_settings, sender, lambda: later).sent == 0
    tomorrow = SLOT1.replace(hour=9) + timedelta(days=1)
    assert (
        pipeline.run(mail_settings.database_url, mail_settings, sender, lambda: tomorrow).sent == 1
    )
