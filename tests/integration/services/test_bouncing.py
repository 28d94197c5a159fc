"""Bounce intake on a real database, about digests a real SMTP server received: each
report is matched to its delivery and subscriber, stored once, and the policy acts."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from digest.config import Settings
from digest.db.engine import unit_of_work
from digest.db.models import BounceEvent, Delivery, Subscriber, Suppression
from digest.domain.bounce_policy import parse_policy
from digest.mail.sender import SMTPSender
from digest.services.bounces import handling as bouncing
from digest.services.readers.suppressing import suppression_of
from digest.services.sending import pipeline
from digest.services.sending.controls import pause_state
from tests.conftest import Received, SmtpServer
from tests.integration.services import bounce_mail

T0 = datetime(2026, 3, 16, 12, 0, tzinfo=UTC)
SLOT1 = datetime(2026, 3, 17, 7, 0, tzinfo=UTC)  # reports dated a little later: taken as now
BOUNCES = "bounces@bounce.example.org"


@pytest.fixture
def verp(mail_settings: Settings) -> Settings:
    return dataclasses.replace(mail_settings, bounce_address=BOUNCES)


def send_digests(
    settings: Settings, world, smtp_server: SmtpServer, *emails: str
) -> dict[str, Received]:  # type: ignore[no-untyped-def]
    """One digest to each of ``emails``, as the SMTP server received them."""
    world.topics("tech")
    for address in emails:
        world.subscriber(address, "tech", T0)
    world.article("chips", SLOT1 - timedelta(hours=3), ["tech"])
    sender = SMTPSender.from_url(settings.smtp_url or "")
    assert pipeline.run(settings.database_url, settings, sender, lambda: SLOT1).sent == len(emails)
    return {r.rcpt_tos[0]: r for r in smtp_server.received}


def next_digest(settings: Settings, world, smtp_server: SmtpServer, day: int) -> Received:  # type: ignore[no-untyped-def]
    """The digest of ``day`` days after the first slot, to the only reader."""
    slot = SLOT1 + timedelta(days=day)
    world.article(f"news{day}", slot - timedelta(hours=3), ["tech"])
    sender = SMTPSender.from_url(settings.smtp_url or "")
    assert pipeline.run(settings.database_url, settings, sender, lambda: slot).sent == 1
    return smtp_server.received[-1]


def take(
    settings: Settings, data: bytes, at: datetime = SLOT1, **options: str
) -> list[bouncing.Taken]:
    with unit_of_work(settings.database_url) as s:
        return bouncing.take_in(s, settings, data, source="import", now=at, **options)


def subscriber(settings: Settings, email: str) -> Subscriber:
    with unit_of_work(settings.database_url) as s:
        found = s.scalar(select(Subscriber).where(Subscriber.email == email))
        assert found is not None
        s.expunge(found)
        return found


def delivery_of(settings: Settings, email: str) -> Delivery:
    with unit_of_work(settings.database_url) as s:
        found = s.scalar(select(Delivery).where(Delivery.email == email))
        assert found is not None
        s.expunge(found)
        return found


def suppression(settings: Settings, email: str) -> str | None:
    with unit_of_work(settings.database_url) as s:
        entry = suppression_of(s, email)
        return None if entry is None else entry.reason


def test_a_hard_bounce_to_the_verp_address_marks_the_delivery_and_suppresses(  # type: ignore[no-untyped-def]
    world, verp, smtp_server
) -> None:
    sent = send_digests(verp, world, smtp_server, "ana@example.org", "ben@example.org")
    ana = sent["ana@example.org"]
    # No copy of the original: only the envelope address says which delivery it was.
    report = bounce_mail.dsn(None, to=ana.mail_from, recipient="ana@example.org")
    [taken] = take(verp, report, envelope_to=ana.mail_from)
    assert (taken.kind, taken.matched_by) == ("hard", "verp")
    assert taken.outcome == "suppressed: hard bounce 5.1.1 (user_unknown)"
    assert taken.delivery_id == delivery_of(verp, "ana@example.org").id
    assert delivery_of(verp, "ana@example.org").bounce_kind == "hard"
    assert delivery_of(verp, "ana@example.org").bounced_at == SLOT1
    assert subscriber(verp, "ana@example.org").status == "bounced"
    assert suppression(verp, "ana@example.org") == "hard_bounce"
    # The other reader is untouched.
    assert subscriber(verp, "ben@example.org").status == "active"
    assert delivery_of(verp, "ben@example.org").bounce_kind is None
    assert suppression(verp, "ben@example.org") is None


def test_a_forged_verp_token_matches_nothing_by_it(world, verp, smtp_server) -> None:  # type: ignore[no-untyped-def]
    send_digests(verp, world, smtp_server, "ana@example.org")
    forged = "bounces+aaaaaaaaaaaaaaaaaaaaaaaa@bounce.example.org"
    report = bounce_mail.dsn(None, to=forged, recipient="nobody@example.org")
    [taken] = take(verp, report, envelope_to=forged)
    assert (taken.matched_by, taken.subscriber_id, taken.delivery_id) == ("none", None, None)
    assert taken.outcome == "no subscriber matched"
    with unit_of_work(verp.database_url) as s:
        [event] = s.scalars(select(BounceEvent)).all()
        assert (event.recipient, event.kind, event.status) == (
            "nobody@example.org",
            "hard",
            "5.1.1",
        )
        assert s.scalars(select(Suppression)).all() == []


def test_a_bounce_found_by_the_quoted_header_or_message_id_or_address(  # type: ignore[no-untyped-def]
    world, verp, smtp_server
) -> None:
    sent = send_digests(
        verp, world, smtp_server, "ana@example.org", "ben@example.org", "cy@example.org"
    )
    # Sent back to the From address (no VERP), quoting our headers.
    quoted = bounce_mail.dsn(
        sent["ana@example.org"],
        to="digest@news.example.org",
        recipient="ana@example.org",
        status="5.2.2",
        diagnostic="552 5.2.2 mailbox full",
    )
    assert [t.matched_by for t in take(verp, quoted)] == ["header"]
    # Only the Message-ID survives (a report that quotes the id in its text).
    message_id = str(sent["ben@example.org"].message["Message-ID"])
    text_only = bounce_mail.dsn(
        None,
        to="digest@news.example.org",
        recipient="ben@example.org",
        status="5.2.2",
        diagnostic="552 5.2.2 mailbox full",
        text=f"Message-ID: {message_id}\r\n",
    )
    [by_id] = take(verp, text_only)
    assert by_id.matched_by == "message-id"
    assert by_id.delivery_id == delivery_of(verp, "ben@example.org").id
    # Nothing but the failed address.
    bare = bounce_mail.dsn(None, to="digest@news.example.org", recipient="CY@example.org")
    [by_address] = take(verp, bare)
    assert (by_address.matched_by, by_address.delivery_id) == ("recipient", None)
    assert by_address.subscriber_id == subscriber(verp, "cy@example.org").id
    assert subscriber(verp, "cy@example.org").status == "bounced"


def test_a_complaint_unsubscribes_and_suppresses(world, verp, smtp_server) -> None:  # type: ignore[no-untyped-def]
    sent = send_digests(verp, world, smtp_server, "ana@example.org")
    [taken] = take(verp, bounce_mail.arf(sent["ana@example.org"], recipient="ana@example.org"))
    assert (taken.kind, taken.matched_by) == ("complaint", "header")
    assert taken.outcome == "unsubscribed: complaint"
    ana = subscriber(verp, "ana@example.org")
    assert ana.status == "unsubscribed" and ana.unsubscribed_at == SLOT1
    assert suppression(verp, "ana@example.org") == "complaint"
    assert delivery_of(verp, "ana@example.org").bounce_kind == "complaint"
    # Nothing more is sent to them.
    assert (
        pipeline.run(
            verp.database_url,
            verp,
            SMTPSender.from_url(verp.smtp_url or ""),
            lambda: SLOT1 + timedelta(days=1),
        ).sent
        == 0
    )


def test_soft_bounces_suppress_at_the_threshold_within_the_window(  # type: ignore[no-untyped-def]
    world, verp, smtp_server
) -> None:
    policy = dataclasses.replace(verp, soft_bounce_limit=3, soft_bounce_days=timedelta(days=7))
    send_digests(policy, world, smtp_server, "ana@example.org")

    def full(day: int) -> list[str]:
        """Day ``day``'s digest, bounced soft an hour after it was sent."""
        to = (
            smtp_server.received[-1] if day == 0 else next_digest(policy, world, smtp_server, day)
        ).mail_from
        written = SLOT1 + timedelta(days=day, hours=1)
        report = bounce_mail.dsn(
            None,
            to=to,
            recipient="ana@example.org",
            status="5.2.2",
            diagnostic=f"552 5.2.2 mailbox full (day {day})",
            date=written,
        )
        return [t.outcome for t in take(policy, report, written, envelope_to=to)]

    # Two soft bounces, then a gap longer than the window: the count starts over.
    assert full(0) == ["counted: soft 5.2.2 (mailbox_full), 1 of 3 within 7 days"]
    assert full(1) == ["counted: soft 5.2.2 (mailbox_full), 2 of 3 within 7 days"]
    assert full(10) == ["counted: soft 5.2.2 (mailbox_full), 1 of 3 within 7 days"]
    assert subscriber(policy, "ana@example.org").status == "active"
    assert suppression(policy, "ana@example.org") is None
    assert full(11) == ["counted: soft 5.2.2 (mailbox_full), 2 of 3 within 7 days"]
    assert full(12) == ["suppressed: 3 soft bounces within 7 days"]
    assert subscriber(policy, "ana@example.org").status == "bounced"
    assert suppression(policy, "ana@example.org") == "soft_bounce"


def test_one_digest_bounced_soft_again_and_again_counts_once(world, verp, smtp_server) -> None:  # type: ignore[no-untyped-def]
    policy = dataclasses.replace(verp, soft_bounce_limit=2)
    sent = send_digests(policy, world, smtp_server, "ana@example.org")
    to = sent["ana@example.org"].mail_from
    outcomes = []
    for hours in (1, 5, 9):
        # A relay's delay warnings, then its final failure, all about one digest.
        action, status = ("delayed", "4.2.2") if hours < 9 else ("failed", "5.2.2")
        report = bounce_mail.dsn(
            None,
            to=to,
            recipient="ana@example.org",
            status=status,
            action=action,
            diagnostic=f"{status} mailbox full",
            date=SLOT1 + timedelta(hours=hours),
        )
        outcomes += [
            t.outcome for t in take(policy, report, SLOT1 + timedelta(days=1), envelope_to=to)
        ]
    assert outcomes == [
        "no action: a delay warning, the message may still arrive",
        "no action: a delay warning, the message may still arrive",
        "counted: soft 5.2.2 (mailbox_full), 1 of 2 within 14 days",
    ]
    report = bounce_mail.dsn(
        None,
        to=to,
        recipient="ana@example.org",
        status="5.2.2",
        diagnostic="552 5.2.2 still full",
        date=SLOT1 + timedelta(hours=10),
    )
    assert [t.outcome for t in take(policy, report, SLOT1 + timedelta(days=1), envelope_to=to)] == [
        "counted: soft 5.2.2 (mailbox_full), 1 of 2 within 14 days"
    ]
    assert suppression(policy, "ana@example.org") is None
    assert delivery_of(policy, "ana@example.org").bounce_kind == "soft"


def test_an_old_report_is_dated_when_it_was_written(world, verp, smtp_server) -> None:  # type: ignore[no-untyped-def]
    policy = dataclasses.replace(verp, soft_bounce_limit=2, soft_bounce_days=timedelta(days=7))
    send_digests(policy, world, smtp_server, "ana@example.org")
    old = smtp_server.received[-1].mail_from
    later = next_digest(policy, world, smtp_server, 30).mail_from
    imported_at = SLOT1 + timedelta(days=60)
    # Both imported today; the first was written a month before the second.
    for to, day in ((old, 0), (later, 30)):
        written = SLOT1 + timedelta(days=day, hours=2)
        report = bounce_mail.dsn(
            None,
            to=to,
            recipient="ana@example.org",
            status="5.2.2",
            diagnostic="552 5.2.2 full",
            date=written,
        )
        take(policy, report, imported_at, envelope_to=to)
    with unit_of_work(policy.database_url) as s:
        dates = s.scalars(select(BounceEvent.received_at).order_by(BounceEvent.id)).all()
    assert dates == [SLOT1 + timedelta(hours=2), SLOT1 + timedelta(days=30, hours=2)]
    assert suppression(policy, "ana@example.org") is None  # a month apart: not within 7 days


def test_a_complaint_after_a_bounce_unsubscribes_and_outranks_it(world, verp, smtp_server) -> None:  # type: ignore[no-untyped-def]
    sent = send_digests(verp, world, smtp_server, "ana@example.org")
    original = sent["ana@example.org"]
    take(
        verp,
        bounce_mail.dsn(None, to=original.mail_from, recipient="ana@example.org"),
        envelope_to=original.mail_from,
    )
    assert (subscriber(verp, "ana@example.org").status, suppression(verp, "ana@example.org")) == (
        "bounced",
        "hard_bounce",
    )
    [taken] = take(verp, bounce_mail.arf(original, recipient="ana@example.org"))
    assert taken.outcome == "unsubscribed: complaint"
    assert subscriber(verp, "ana@example.org").status == "unsubscribed"
    assert suppression(verp, "ana@example.org") == "complaint"
    assert delivery_of(verp, "ana@example.org").bounce_kind == "complaint"
    # A later soft bounce about the same digest changes neither.
    soft = bounce_mail.dsn(
        None,
        to=original.mail_from,
        recipient="ana@example.org",
        status="5.2.2",
        diagnostic="552 5.2.2 full",
    )
    take(verp, soft, envelope_to=original.mail_from)
    assert delivery_of(verp, "ana@example.org").bounce_kind == "complaint"
    assert suppression(verp, "ana@example.org") == "complaint"


def test_a_pending_address_that_bounces_is_suppressed_and_stays_pending(  # type: ignore[no-untyped-def]
    world, verp, smtp_server
) -> None:
    from digest.services.readers import signup
    from digest.services.readers.choices import Choices

    world.topics("tech")
    choices = Choices(topics={"tech": "daily"}, hour=7, timezone="UTC", weekday=0)
    origin = signup.Origin("203.0.113.9", "test", "/subscribe")
    with unit_of_work(verp.database_url) as s:
        request = signup.request_subscription(s, "typo@example.org", choices, origin, verp, T0)
    assert request.send_consent_id is not None
    sender = SMTPSender.from_url(verp.smtp_url or "")
    signup.send_confirmation(verp.database_url, request.send_consent_id, verp, sender, T0)
    [confirmation] = smtp_server.received
    # Confirmation emails go out from the From address: the report names the address.
    report = bounce_mail.dsn(None, to=confirmation.mail_from, recipient="typo@example.org")
    [taken] = take(verp, report, T0 + timedelta(minutes=5))
    assert (taken.matched_by, taken.outcome) == (
        "recipient",
        "suppressed: hard bounce 5.1.1 (user_unknown)",
    )
    assert subscriber(verp, "typo@example.org").status == "pending"  # still purged in time
    assert suppression(verp, "typo@example.org") == "hard_bounce"


def test_a_report_that_only_names_an_address_we_did_not_mail_lately_changes_nothing(  # type: ignore[no-untyped-def]
    world, verp, smtp_server
) -> None:
    send_digests(verp, world, smtp_server, "ana@example.org")
    # Anyone can send the bounce domain a report naming a reader.
    forged = bounce_mail.arf_about("ana@example.org")
    later = SLOT1 + timedelta(days=45)
    [taken] = take(verp, forged, later)
    assert (taken.kind, taken.matched_by) == ("complaint", "recipient")
    assert taken.outcome == "no action: names the address only, and nothing was mailed to it lately"
    assert subscriber(verp, "ana@example.org").status == "active"
    assert suppression(verp, "ana@example.org") is None
    # Within a month of their last digest the same report is believed.
    [believed] = take(
        verp, bounce_mail.arf_about("ana@example.org", note="again"), SLOT1 + timedelta(days=3)
    )
    assert believed.outcome == "unsubscribed: complaint"


def test_the_policy_is_configurable(world, verp, smtp_server) -> None:  # type: ignore[no-untyped-def]
    lenient = dataclasses.replace(verp, hard_bounce_limit=2, soft_bounce_limit=0)
    sent = send_digests(lenient, world, smtp_server, "ana@example.org")
    to = sent["ana@example.org"].mail_from
    soft = bounce_mail.dsn(
        None, to=to, recipient="ana@example.org", status="5.2.2", diagnostic="552 5.2.2 over quota"
    )
    assert take(lenient, soft, envelope_to=to)[0].outcome.startswith("no action: soft 5.2.2")
    first = bounce_mail.dsn(None, to=to, recipient="ana@example.org")
    assert (
        take(lenient, first, envelope_to=to)[0].outcome
        == "counted: hard bounce 5.1.1 (user_unknown), 1 of 2"
    )
    assert subscriber(lenient, "ana@example.org").status == "active"
    # The same digest reported on again still counts once; the next digest's counts.
    again = bounce_mail.dsn(None, to=to, recipient="ana@example.org", diagnostic="550 5.1.1 gone")
    assert (
        take(lenient, again, envelope_to=to)[0].outcome
        == "counted: hard bounce 5.1.1 (user_unknown), 1 of 2"
    )
    to = next_digest(lenient, world, smtp_server, 1).mail_from
    second = bounce_mail.dsn(
        None, to=to, recipient="ana@example.org", diagnostic="550 5.1.1 no such user {r}"
    )
    later = SLOT1 + timedelta(days=1, minutes=10)
    assert (
        take(lenient, second, later, envelope_to=to)[0].outcome
        == "suppressed: hard bounce 5.1.1 (user_unknown)"
    )
    assert subscriber(lenient, "ana@example.org").status == "bounced"


def test_an_auto_reply_is_stored_and_changes_nothing(world, verp, smtp_server) -> None:  # type: ignore[no-untyped-def]
    sent = send_digests(verp, world, smtp_server, "ana@example.org")
    original = sent["ana@example.org"]
    [taken] = take(
        verp,
        bounce_mail.auto_reply(original, sender="ana@example.org"),
        envelope_to=original.mail_from,
    )
    assert (taken.kind, taken.outcome) == ("auto-reply", "no action: automatic reply")
    assert taken.subscriber_id == subscriber(verp, "ana@example.org").id
    assert subscriber(verp, "ana@example.org").status == "active"
    assert suppression(verp, "ana@example.org") is None
    assert delivery_of(verp, "ana@example.org").bounce_kind is None


def test_a_report_taken_in_twice_is_stored_and_counted_once(world, verp, smtp_server) -> None:  # type: ignore[no-untyped-def]
    policy = dataclasses.replace(verp, soft_bounce_limit=2)
    sent = send_digests(policy, world, smtp_server, "ana@example.org")
    to = sent["ana@example.org"].mail_from
    report = bounce_mail.dsn(
        None,
        to=to,
        recipient="ana@example.org",
        status="5.2.2",
        diagnostic="552 5.2.2 mailbox full",
    )
    assert not take(policy, report, envelope_to=to)[0].duplicate
    assert take(policy, report, envelope_to=to)[0].duplicate
    with unit_of_work(policy.database_url) as s:
        assert len(s.scalars(select(BounceEvent)).all()) == 1
    assert suppression(policy, "ana@example.org") is None  # one soft bounce, not two


def test_a_message_that_is_no_bounce_stores_nothing(world, verp, smtp_server) -> None:  # type: ignore[no-untyped-def]
    send_digests(verp, world, smtp_server, "ana@example.org")
    letter = (
        b"From: ana@example.org\r\nTo: digest@news.example.org\r\nSubject: thanks\r\n\r\n"
        b"Loved today's digest.\r\n"
    )
    report = bouncing.IntakeReport()
    with unit_of_work(verp.database_url) as s:
        assert bouncing.take_in(s, verp, letter, source="smtp", now=SLOT1, report=report) == []
    assert (report.messages, report.not_bounces, report.events) == (1, 1, 0)
    with unit_of_work(verp.database_url) as s:
        assert s.scalars(select(BounceEvent)).all() == []


def test_events_show_on_the_subscriber_page_in_the_api_and_go_when_erased(  # type: ignore[no-untyped-def]
    world, verp, smtp_server
) -> None:
    from digest.services.readers import preferences
    from tests.integration.web.helpers import browser
    from tests.integration.web.test_admin_access import admin, api_key, sign_in

    # A report about the address from before it subscribed: it matched nobody then.
    stray = bounce_mail.dsn(
        None,
        to="postmaster@news.example.org",
        recipient="Ana@Example.org",
        status="5.7.1",
        diagnostic="554 5.7.1 spam",
        date=T0 - timedelta(days=1),
    )
    [unmatched] = take(verp, stray, T0 - timedelta(days=1))
    assert (unmatched.matched_by, unmatched.subscriber_id) == ("none", None)
    sent = send_digests(verp, world, smtp_server, "ana@example.org")
    to = sent["ana@example.org"].mail_from
    full = bounce_mail.dsn(
        None,
        to=to,
        recipient="ana@example.org",
        status="5.2.2",
        diagnostic="552 5.2.2 Mailbox full, try later",
    )
    take(verp, full, envelope_to=to)
    ana_id = subscriber(verp, "ana@example.org").id

    admin(verp.database_url, "ops@example.org", "operator")
    client = browser(verp)
    sign_in(client, "ops@example.org")
    page = client.get(f"/admin/subscribers/{ana_id}").text
    assert 'id="bounce-events"' in page
    assert "552 5.2.2 Mailbox full, try later" in page
    assert "counted: soft 5.2.2 (mailbox_full), 1 of 3 within 14 days" in page
    assert "verp · import" in page
    assert re.search(r"soft bounce <time datetime=\"2026-03-17T", page)  # on its digest

    key = api_key(verp.database_url, "operator")
    detail = client.get(
        f"/api/subscribers/{ana_id}", headers={"Authorization": f"Bearer {key}"}
    ).json()
    assert [(b["kind"], b["status"], b["matched_by"]) for b in detail["bounces"]] == [
        ("soft", "5.7.1", "none"),
        ("soft", "5.2.2", "verp"),
    ]
    [digest] = detail["digests"]
    assert digest["delivery"]["bounce_kind"] == "soft"

    with unit_of_work(verp.database_url) as s:
        sub = s.get(Subscriber, ana_id)
        assert sub is not None
        preferences.erase(s, sub, SLOT1)
    with unit_of_work(verp.database_url) as s:
        assert s.scalars(select(BounceEvent)).all() == []


def test_a_mail_clients_unsubscribe_request_unsubscribes_without_suppressing(  # type: ignore[no-untyped-def]
    world, verp, smtp_server
) -> None:
    from digest.services.readers.unsubscribing import resubscribe

    send_digests(verp, world, smtp_server, "ana@example.org")
    # What Apple Mail sends for the reader when they tap "Unsubscribe".
    request = (
        b"From: Ana <ana@example.org>\r\n"
        b"To: digest@news.example.org\r\n"
        b"Subject: Unsubscribe\r\n"
        b"Date: Tue, 17 Mar 2026 07:30:00 +0000\r\n"
        b"Message-ID: <unsub-1@example.org>\r\n"
        b"X-Apple-Unsubscribe: true\r\n"
        b"\r\n"
        b"This message was automatically generated by Mail.\r\n"
    )
    [taken] = take(verp, request)
    assert (taken.kind, taken.matched_by) == ("complaint", "recipient")
    assert taken.outcome == "unsubscribed: request from the mail client"
    assert subscriber(verp, "ana@example.org").status == "unsubscribed"
    assert suppression(verp, "ana@example.org") is None
    # Unlike after a spam report, the reader's own link brings them back.
    with unit_of_work(verp.database_url) as s:
        ana = s.scalars(select(Subscriber).where(Subscriber.email == "ana@example.org")).one()
        assert resubscribe(s, ana, SLOT1 + timedelta(hours=1))
    assert subscriber(verp, "ana@example.org").status == "active"


# Replies that blame our sending, in the words of real ones (docs/bounces.md).
SENDER_SIDE_REPLIES = {
    "ana@example.org": ("5.0.0", "501 5.0.0 Invalid domain name", "rejected"),
    "ben@example.org": (
        "5.5.0",
        "550 domain [example.com] mismatches client ip 192.0.2.225.",
        "blocked",
    ),
    "cy@example.org": (
        "5.7.1",
        "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org",
        "blocked",
    ),
    "dee@example.org": (
        "5.7.26",
        "550 5.7.26 Unauthenticated email is not accepted due to domain's DMARC policy",
        "auth_failure",
    ),
}


def test_reports_that_blame_our_sending_never_count_against_readers_and_trip_the_breaker(
    verp: Settings, world, smtp_server: SmtpServer
) -> None:  # type: ignore[no-untyped-def]
    settings = dataclasses.replace(verp, breaker_min_attempts=4, soft_bounce_limit=1)
    sent = send_digests(settings, world, smtp_server, *SENDER_SIDE_REPLIES)
    for email, (status, diagnostic, _) in SENDER_SIDE_REPLIES.items():
        report = bounce_mail.dsn(
            None, to=sent[email].mail_from, recipient=email, status=status, diagnostic=diagnostic
        )
        [taken] = take(settings, report, SLOT1 + timedelta(minutes=10))
        assert taken.outcome.startswith("no action: blames our sending"), (email, taken.outcome)
    with unit_of_work(settings.database_url) as s:
        events = {e.recipient: e.reason for e in s.scalars(select(BounceEvent))}
        state = pause_state(s)
    assert events == {email: reason for email, (_, _, reason) in SENDER_SIDE_REPLIES.items()}
    for email in SENDER_SIDE_REPLIES:
        assert subscriber(settings, email).status == "active"
        assert suppression(settings, email) is None
    # Four reports blaming us against four digests sent: the breaker pauses sending.
    assert state.paused and state.by == "circuit breaker"
    assert "blamed our sending for 4 of the 4 digests sent in the last day" in (state.reason or "")


def test_forged_reports_naming_no_digest_of_ours_do_not_pause(
    verp: Settings, world, smtp_server: SmtpServer
) -> None:  # type: ignore[no-untyped-def]
    settings = dataclasses.replace(verp, breaker_min_attempts=4)
    send_digests(settings, world, smtp_server, "ana@example.org")
    status, diagnostic, _ = SENDER_SIDE_REPLIES["cy@example.org"]
    # One report to the bare bounce address naming 25 recipients, none of ours.
    blocks = "".join(
        f"\r\nFinal-Recipient: rfc822; r{n}@example.net\r\nAction: failed\r\n"
        f"Status: {status}\r\nDiagnostic-Code: smtp; {diagnostic}\r\n"
        for n in range(25)
    )
    report = (
        "From: MAILER-DAEMON@mx.example.net\r\nTo: bounces@bounce.example.org\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain\r\n\r\nfailed\r\n"
        "--b\r\nContent-Type: message/delivery-status\r\n\r\n"
        f"Reporting-MTA: dns; mx.example.net\r\n{blocks}\r\n--b--\r\n"
    ).encode()
    taken = take(settings, report, SLOT1 + timedelta(minutes=10))
    assert len(taken) == 25 and all(t.matched_by == "none" for t in taken)
    with unit_of_work(settings.database_url) as s:
        assert not pause_state(s).paused


def test_a_few_reports_that_blame_our_sending_do_not_pause(
    verp: Settings, world, smtp_server: SmtpServer
) -> None:  # type: ignore[no-untyped-def]
    settings = dataclasses.replace(verp, breaker_min_attempts=4)
    sent = send_digests(settings, world, smtp_server, *SENDER_SIDE_REPLIES)
    status, diagnostic, _ = SENDER_SIDE_REPLIES["cy@example.org"]
    report = bounce_mail.dsn(
        None,
        to=sent["ana@example.org"].mail_from,
        recipient="ana@example.org",
        status=status,
        diagnostic=diagnostic,
    )
    take(settings, report, SLOT1 + timedelta(minutes=10))
    with unit_of_work(settings.database_url) as s:
        assert not pause_state(s).paused


def test_a_suspended_account_is_suppressed_after_a_repeat(
    verp: Settings, world, smtp_server: SmtpServer
) -> None:  # type: ignore[no-untyped-def]
    to = send_digests(verp, world, smtp_server, "ana@example.org")["ana@example.org"].mail_from
    disabled = "550 5.2.1 The email account that you tried to reach is disabled."
    first = bounce_mail.dsn(
        None, to=to, recipient="ana@example.org", status="5.2.1", diagnostic=disabled
    )
    [taken] = take(verp, first, SLOT1 + timedelta(minutes=10))
    assert taken.outcome == "counted: bounce 5.2.1 (suspended), 1 of 2 within 14 days"
    assert subscriber(verp, "ana@example.org").status == "active"
    to = next_digest(verp, world, smtp_server, 1).mail_from
    second = bounce_mail.dsn(
        None, to=to, recipient="ana@example.org", status="5.2.1", diagnostic=disabled
    )
    [taken] = take(verp, second, SLOT1 + timedelta(days=1, minutes=10))
    assert taken.outcome == "suppressed: 2 bounces (suspended) within 14 days"
    assert subscriber(verp, "ana@example.org").status == "bounced"
    assert suppression(verp, "ana@example.org") == "soft_bounce"


def test_the_policy_table_is_configurable(verp: Settings, world, smtp_server: SmtpServer) -> None:  # type: ignore[no-untyped-def]
    strict = dataclasses.replace(
        verp, bounce_policy=tuple(parse_policy("mailbox_full=suppress").items())
    )
    to = send_digests(strict, world, smtp_server, "ana@example.org")["ana@example.org"].mail_from
    full = bounce_mail.dsn(
        None,
        to=to,
        recipient="ana@example.org",
        status="5.2.2",
        diagnostic="552 5.2.2 Mailbox full",
    )
    [taken] = take(strict, full, SLOT1 + timedelta(minutes=10))
    assert taken.outcome == "suppressed: hard bounce 5.2.2 (mailbox_full)"
    assert suppression(strict, "ana@example.org") == "hard_bounce"


def test_an_unknown_user_said_with_a_4xx_counts_as_soft(
    verp: Settings, world, smtp_server: SmtpServer
) -> None:  # type: ignore[no-untyped-def]
    to = send_digests(verp, world, smtp_server, "ana@example.org")["ana@example.org"].mail_from
    report = bounce_mail.dsn(
        None,
        to=to,
        recipient="ana@example.org",
        status="4.1.1",
        diagnostic="450 4.1.1 <ana@example.org>",  # the code alone says it
    )
    [taken] = take(verp, report, SLOT1 + timedelta(minutes=10))
    assert (taken.kind, taken.outcome) == (
        "soft",
        "counted: soft 4.1.1 (user_unknown), 1 of 3 within 14 days",
    )
    assert subscriber(verp, "ana@example.org").status == "active"
