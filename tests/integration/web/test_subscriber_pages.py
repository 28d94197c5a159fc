"""Subscribe with double opt-in, preferences, pause, data export, erasure and undo,
through the real app, a real database and a real SMTP server."""

from __future__ import annotations

import dataclasses
import json
import re
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import String, Text, inspect, select, text

from digest.db.engine import unit_of_work
from digest.db.models import Base, Consent, Subscriber, Suppression
from digest.domain.consent import CONSENT_WORDING, CURRENT_WORDING, address_hash
from digest.domain.schedule import Cadence, next_slot_after
from digest.mail.sender import SMTPSender
from digest.services.readers.choices import cadence_of
from digest.services.readers.subscribers import SubscriberError, SubscriberInput, upsert_subscriber
from digest.services.sending import pipeline
from tests.conftest import Cli, process_env
from tests.integration.web.helpers import (
    browser,
    confirm_link,
    csrf_of,
    links_in,
    path_of,
    subscribe,
)

DAILY_AT_7_UTC = Cadence(timezone="UTC", hour=7, weekday=0, has_daily=True, has_weekly=False)


def run_slot(settings, moment: datetime) -> int:  # type: ignore[no-untyped-def]
    sender = SMTPSender.from_url(settings.smtp_url)
    return pipeline.run(settings.database_url, settings, sender, lambda: moment).sent


def subscriber(db_url: str, email: str) -> Subscriber | None:
    with unit_of_work(db_url) as s:
        sub = s.scalar(select(Subscriber).where(Subscriber.email == email))
        if sub is not None:
            sub.subscriptions  # noqa: B018 - load before the session closes
            s.expunge(sub)
        return sub


def topics_of(db_url: str, email: str) -> dict[str, str]:
    sub = subscriber(db_url, email)
    assert sub is not None
    return {s.topic.slug: s.frequency for s in sub.subscriptions}


def next_slot(db_url: str, email: str) -> datetime:
    sub = subscriber(db_url, email)
    assert sub is not None and sub.next_slot_at is not None
    return sub.next_slot_at


def confirmed_reader(world, mail_settings, smtp_server, email="ana@example.org", **topics):  # type: ignore[no-untyped-def]
    """Subscribe through the form and confirm through the emailed link."""
    client = browser(mail_settings)
    answer = subscribe(client, email, topics or {"tech": "daily"})
    assert answer.status_code == 200, answer.text
    mine = [r for r in smtp_server.received if r.rcpt_tos == [email]]
    link = confirm_link(mine[-1].message)
    page = client.get(path_of(mail_settings, link))
    answer = client.post(path_of(mail_settings, link), data={"csrf_token": csrf_of(page.text)})
    assert answer.status_code == 200 and "You are subscribed" in answer.text
    return client


def test_double_opt_in_from_form_to_first_digest(world, mail_settings, smtp_server, db_url) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech", "world")
    client = browser(mail_settings)
    answer = subscribe(
        client, " Ana@Example.ORG ", {"tech": "daily", "world": "weekly"}, weekday="wed", name="Ana"
    )
    assert answer.status_code == 200 and "Check your inbox" in answer.text

    # The normalised address is stored, pending, with the chosen topics.
    sub = subscriber(db_url, "ana@example.org")
    assert sub is not None and sub.status == "pending" and sub.name == "Ana"
    assert topics_of(db_url, "ana@example.org") == {"tech": "daily", "world": "weekly"}

    # The confirmation email: branded, CSS inlined, a signed link without the address.
    [mail] = smtp_server.received
    message = mail.message
    assert mail.rcpt_tos == ["ana@example.org"]
    assert message["Subject"] == "Confirm your subscription to Digest"
    assert message["List-Unsubscribe"] is None
    html = message.get_body(preferencelist=("html",)).get_content()
    assert 'style="' in html and "<style>" not in html.split("</head>")[1]
    link = confirm_link(message)
    assert "ana" not in link.lower().split("/confirm/")[1]
    assert link in html

    # A pending address gets no digest, even when its slot comes and articles wait.
    world.article("t1", datetime.now(UTC) + timedelta(hours=1), ["tech"])
    soon = next_slot_after(DAILY_AT_7_UTC, datetime.now(UTC) + timedelta(hours=2))
    assert run_slot(mail_settings, soon) == 0
    assert len(smtp_server.received) == 1

    # Opening the link shows a button; only pressing it confirms.
    page = client.get(path_of(mail_settings, link))
    assert page.status_code == 200 and "Confirm my subscription" in page.text
    assert subscriber(db_url, "ana@example.org").status == "pending"  # type: ignore[union-attr]
    done = client.post(path_of(mail_settings, link), data={"csrf_token": csrf_of(page.text)})
    assert done.status_code == 200 and "You are subscribed" in done.text
    sub = subscriber(db_url, "ana@example.org")
    assert sub is not None and sub.status == "active" and sub.confirmed_at is not None
    assert sub.next_slot_at is not None and sub.next_slot_at > datetime.now(UTC)
    assert sub.next_slot_at == next_slot_after(
        cadence_of(sub), datetime.now(UTC) - timedelta(minutes=5)
    )

    # Confirming again is harmless.
    again = client.post(path_of(mail_settings, link), data={"csrf_token": csrf_of(page.text)})
    assert again.status_code == 200 and "already confirmed" in again.text

    # The first slot sends the first digest.
    slot = sub.next_slot_at
    world.article("t2", slot - timedelta(hours=2), ["tech"])
    assert run_slot(mail_settings, slot + timedelta(minutes=1)) == 1
    assert smtp_server.received[-1].rcpt_tos == ["ana@example.org"]


def test_the_consent_record_holds_every_field_and_the_export_returns_it(
    world, mail_settings, smtp_server, db_url, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech")
    client = confirmed_reader(world, mail_settings, smtp_server)
    with unit_of_work(db_url) as s:
        consent = s.scalars(select(Consent)).one()
        assert consent.requested_at is not None
        assert consent.ip == "testclient"
        assert consent.user_agent == "ReaderBrowser/1.0"
        assert consent.page == "https://news.example.org/newsletters?from=footer"
        assert consent.wording_version == CURRENT_WORDING
        assert consent.confirmation_sent_at is not None
        assert consent.confirmed_at is not None and consent.confirmed_at >= consent.requested_at
        assert consent.confirmed_ip == "testclient"
        assert consent.choices["topics"] == {"tech": "daily"}

    digest_mail = None
    slot = next_slot(db_url, "ana@example.org")
    world.article("t1", slot - timedelta(hours=1), ["tech"])
    assert run_slot(mail_settings, slot) == 1
    digest_mail = smtp_server.received[-1].message
    preferences = path_of(mail_settings, links_in(digest_mail)["preferences"])

    data = client.get(preferences + "/data")
    assert data.status_code == 200
    assert "attachment" in data.headers["content-disposition"]
    export = json.loads(data.text)
    assert export["subscriber"]["email"] == "ana@example.org"
    [record] = export["consents"]
    assert record["ip"] == "testclient" and record["user_agent"] == "ReaderBrowser/1.0"
    assert record["page"] == "https://news.example.org/newsletters?from=footer"
    assert record["wording_version"] == CURRENT_WORDING
    assert record["wording"] == CONSENT_WORDING[CURRENT_WORDING]
    assert record["requested_at"] and record["confirmed_at"]
    assert export["subscriptions"] == [{"topic": "tech", "name": "Tech", "frequency": "daily"}]
    assert export["digests"][0]["articles"][0]["title"] == "Story t1"
    assert export["digests"][0]["delivery"]["status"] == "sent"

    # Operators see the same record from the command line.
    cli = Cli(
        process_env(
            DIGEST_DATABASE_URL=db_url,
            DIGEST_SECRET_KEY="test-secret-key-of-32-bytes-or-more-0123456789",
        ),
        tmp_path,
    )
    shown = json.loads(cli("subscribers", "show", "ANA@example.org"))
    assert shown["consents"] == export["consents"]
    assert "no subscriber" in cli("subscribers", "show", "nobody@example.org", ok=False)


def test_preference_changes_apply_from_the_next_slot(
    world, mail_settings, smtp_server, db_url
) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech", "world")
    client = confirmed_reader(world, mail_settings, smtp_server)
    first = next_slot(db_url, "ana@example.org")
    world.article("tech-1", first - timedelta(hours=1), ["tech"])
    assert run_slot(mail_settings, first) == 1
    links = links_in(smtp_server.received[-1].message)
    page = client.get(path_of(mail_settings, links["preferences"]))
    assert page.status_code == 200 and 'value="tech" id="topic-tech" checked' in page.text

    # Switch to world at 09:00 Brussels.
    changed = client.post(
        path_of(mail_settings, links["preferences"]),
        data={
            "csrf_token": csrf_of(page.text),
            "action": "save",
            "topics": ["world"],
            "frequency-world": "daily",
            "hour": "9",
            "timezone": "Europe/Brussels",
            "weekday": "mon",
        },
    )
    assert changed.status_code == 200 and "Saved" in changed.text
    assert topics_of(db_url, "ana@example.org") == {"world": "daily"}
    second = next_slot(db_url, "ana@example.org")
    assert second > datetime.now(UTC)
    assert second.astimezone(ZoneInfo("Europe/Brussels")).hour == 9

    # The pipeline runs on a simulated clock that already stands at the first
    # digest, while the page schedules from the real clock: when the real clock
    # lies between the two hours, the new slot comes before the first digest, so
    # the next 09:00 after it is the one the pipeline reaches (the reader is due,
    # their slot having passed). Keep the new articles after the first digest.
    at = second if second > first else second + timedelta(days=1)
    assert at > first and at.astimezone(ZoneInfo("Europe/Brussels")).hour == 9
    world.article("tech-2", at - timedelta(minutes=30), ["tech"])
    world.article("world-1", at - timedelta(minutes=30), ["world"])
    assert run_slot(mail_settings, at) == 1
    body = smtp_server.received[-1].message.get_body(preferencelist=("plain",)).get_content()
    assert "Story world-1" in body and "Story tech-2" not in body

    # A bad value is refused by name, and nothing stored changes.
    bad = client.post(
        path_of(mail_settings, links["preferences"]),
        data={"csrf_token": csrf_of(page.text), "action": "save", "topics": [], "hour": "25"},
    )
    assert bad.status_code == 400
    assert "pick at least one topic" in bad.text and "choose an hour from 0 to 23" in bad.text
    assert topics_of(db_url, "ana@example.org") == {"world": "daily"}


def test_pausing_skips_slots_until_the_pause_ends(
    world, mail_settings, smtp_server, db_url
) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech")
    client = confirmed_reader(world, mail_settings, smtp_server)
    first = next_slot(db_url, "ana@example.org")
    world.article("t1", first - timedelta(hours=1), ["tech"])
    assert run_slot(mail_settings, first) == 1
    prefs = path_of(mail_settings, links_in(smtp_server.received[-1].message)["preferences"])
    page = client.get(prefs)
    paused = client.post(
        prefs, data={"csrf_token": csrf_of(page.text), "action": "pause", "weeks": "2"}
    )
    assert paused.status_code == 200 and "Paused until" in paused.text
    sub = subscriber(db_url, "ana@example.org")
    assert sub is not None and sub.paused_until is not None
    assert timedelta(days=13) < sub.paused_until - datetime.now(UTC) <= timedelta(days=14)
    assert sub.next_slot_at is not None and sub.next_slot_at > sub.paused_until

    sent = len(smtp_server.received)
    for day in range(1, 14):
        moment = first + timedelta(days=day)
        world.article(f"p{day}", moment - timedelta(hours=1), ["tech"])
        assert run_slot(mail_settings, moment) == 0
    assert len(smtp_server.received) == sent
    assert run_slot(mail_settings, sub.next_slot_at) == 1

    too_long = client.post(
        prefs, data={"csrf_token": csrf_of(page.text), "action": "pause", "weeks": "9"}
    )
    assert too_long.status_code == 400 and "choose 1, 2, 3 or 4 weeks" in too_long.text


def test_unsubscribe_then_undo(world, mail_settings, smtp_server, db_url) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech")
    client = confirmed_reader(world, mail_settings, smtp_server)
    first = next_slot(db_url, "ana@example.org")
    world.article("t1", first - timedelta(hours=1), ["tech"])
    assert run_slot(mail_settings, first) == 1
    unsubscribe = path_of(mail_settings, links_in(smtp_server.received[-1].message)["unsubscribe"])

    for _ in range(2):  # repeating it is harmless
        done = client.post(unsubscribe, data={"List-Unsubscribe": "One-Click"})
        assert done.status_code == 200 and "You are unsubscribed" in done.text
    assert subscriber(db_url, "ana@example.org").status == "unsubscribed"  # type: ignore[union-attr]
    world.article("t2", first + timedelta(days=1) - timedelta(hours=1), ["tech"])
    assert run_slot(mail_settings, first + timedelta(days=1)) == 0

    undone = client.post(unsubscribe + "/undo", data={"csrf_token": csrf_of(done.text)})
    assert undone.status_code == 200 and "subscribed again" in undone.text
    sub = subscriber(db_url, "ana@example.org")
    assert sub is not None and sub.status == "active"
    assert sub.next_slot_at is not None and sub.next_slot_at > datetime.now(UTC)

    # The unsubscribe link opens no more than that: the answers name neither the
    # address nor the preferences page (its data, download and erase).
    preferences = links_in(smtp_server.received[-1].message)["preferences"]
    for answer in (done, undone):
        assert "ana@example.org" not in answer.text
        assert "/preferences/" not in answer.text and preferences not in answer.text
        assert not re.search(r'name="action" value="delete"', answer.text)


def test_delete_me_leaves_no_row_with_the_address(
    world, mail_settings, smtp_server, db_url
) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech")
    client = confirmed_reader(world, mail_settings, smtp_server)
    first = next_slot(db_url, "ana@example.org")
    world.article("t1", first - timedelta(hours=1), ["tech"])
    assert run_slot(mail_settings, first) == 1
    prefs = path_of(mail_settings, links_in(smtp_server.received[-1].message)["preferences"])
    page = client.get(prefs)

    unticked = client.post(prefs, data={"csrf_token": csrf_of(page.text), "action": "delete"})
    assert unticked.status_code == 400 and subscriber(db_url, "ana@example.org") is not None

    gone = client.post(
        prefs,
        data={"csrf_token": csrf_of(page.text), "action": "delete", "confirm_delete": "yes"},
    )
    assert gone.status_code == 200 and "Your data is deleted" in gone.text
    assert rows_mentioning(db_url, "ana@example.org") == []
    with unit_of_work(db_url) as s:
        entry = s.scalars(select(Suppression)).one()
        assert entry.email is None and entry.email_hash == address_hash("ana@example.org")

    # The old links no longer open anything, and the address cannot come back silently.
    assert client.get(prefs).status_code == 404
    with unit_of_work(db_url) as s:
        try:
            upsert_subscriber(
                s, SubscriberInput("ana@example.org", ["tech"]), confirmed=True, now=first
            )
            raise AssertionError("an erased address was imported again")
        except SubscriberError as exc:
            assert "suppression list" in str(exc)
    sent = len(smtp_server.received)
    assert (
        subscribe(browser(mail_settings), "ana@example.org", {"tech": "daily"}).status_code == 200
    )
    assert len(smtp_server.received) == sent


def rows_mentioning(db_url: str, needle: str) -> list[str]:
    """Every (table, column) whose stored text contains ``needle``."""
    found = []
    with unit_of_work(db_url) as s:
        for table in Base.metadata.sorted_tables:
            for column in table.columns:
                if isinstance(column.type, String | Text):
                    hits = s.execute(
                        select(column).where(text(f"lower({column.name}) LIKE :n")),
                        {"n": f"%{needle.lower()}%"},
                    ).all()
                    if hits:
                        found.append(f"{table.name}.{column.name}")
    assert inspect(s.get_bind()).get_table_names()  # the scan did look at real tables
    return found


def test_tampered_foreign_expired_and_stale_links_get_a_clear_page(
    world, mail_settings, smtp_server, db_url
) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech")
    client = confirmed_reader(world, mail_settings, smtp_server)
    link = path_of(mail_settings, confirm_link(smtp_server.received[0].message))
    token = link.rsplit("/", 1)[1]
    tampered = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    for path in (
        f"/confirm/{tampered}",
        "/confirm/not-a-token",
        f"/preferences/{token}",  # a confirmation token is not a preferences token
        f"/unsubscribe/{token}",
        "/preferences/WzEsMl0.abc",
    ):
        page = client.get(path)
        assert page.status_code in (400, 404), path
        assert "This link is not valid" in page.text and "Traceback" not in page.text

    # Signed with another key: refused the same way.
    foreign = browser(dataclasses.replace(mail_settings, secret_key="another-key"))
    assert foreign.get(link).status_code == 404

    # Genuine but older than the configured age.
    quick = dataclasses.replace(mail_settings, confirm_max_age=timedelta(seconds=1))
    time.sleep(2.1)
    expired = browser(quick).get(link)
    assert expired.status_code == 400 and "expired" in expired.text


def test_the_limits_answer_429_after_the_configured_attempts(
    world, mail_settings, smtp_server
) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech")
    per_ip = dataclasses.replace(mail_settings, subscribe_per_ip=3, subscribe_per_address=10)
    client = browser(per_ip)
    for i in range(3):
        assert subscribe(client, f"r{i}@example.org", {"tech": "daily"}).status_code == 200
    refused = subscribe(client, "r9@example.org", {"tech": "daily"})
    assert refused.status_code == 429
    assert "Too many attempts" in refused.text and int(refused.headers["Retry-After"]) > 0
    assert len(smtp_server.received) == 3

    per_address = dataclasses.replace(mail_settings, subscribe_per_ip=100, subscribe_per_address=2)
    client = browser(per_address)
    assert subscribe(client, "same@example.org", {"tech": "daily"}).status_code == 200
    assert subscribe(client, "same@example.org", {"tech": "daily"}).status_code == 200
    assert subscribe(client, "same@example.org", {"tech": "daily"}).status_code == 429
    assert subscribe(client, "other@example.org", {"tech": "daily"}).status_code == 200


def test_a_known_address_gets_the_same_answer_and_at_most_one_email(
    world, mail_settings, smtp_server, db_url
) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech", "world")
    world.subscriber("known@example.org", "tech", datetime.now(UTC) - timedelta(days=3))
    client = browser(mail_settings)

    known = subscribe(client, "known@example.org", {"world": "daily"})
    new = subscribe(client, "new@example.org", {"world": "daily"})
    assert known.status_code == new.status_code == 200
    assert known.text.replace("known@", "X@") == new.text.replace("new@", "X@")

    again = subscribe(client, "known@example.org", {"world": "daily"})
    assert again.text == known.text
    to_known = [r for r in smtp_server.received if r.rcpt_tos == ["known@example.org"]]
    assert len(to_known) == 1
    with unit_of_work(db_url) as s:
        rows = s.scalars(select(Subscriber).where(Subscriber.email == "known@example.org")).all()
        assert len(rows) == 1 and rows[0].status == "active"
    # Nothing changes for the known reader until they confirm that request.
    assert topics_of(db_url, "known@example.org") == {"tech": "daily"}


def test_the_honeypot_and_missing_csrf_token_store_and_send_nothing(
    world, mail_settings, smtp_server, db_url
) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech")
    client = browser(mail_settings)
    bot = subscribe(client, "bot@example.org", {"tech": "daily"}, website="http://spam.example")
    assert bot.status_code == 200 and "Check your inbox" in bot.text

    forged = client.post("/subscribe", data={"email": "forged@example.org", "topics": "tech"})
    assert forged.status_code == 403
    stranger = browser(mail_settings)  # another browser: its token does not fit our cookie
    token = csrf_of(stranger.get("/subscribe").text)
    client.cookies.clear()
    client.get("/")
    cross = client.post(
        "/subscribe", data={"csrf_token": token, "email": "x@example.org", "topics": "tech"}
    )
    assert cross.status_code in (403,)
    assert subscriber(db_url, "bot@example.org") is None
    assert subscriber(db_url, "forged@example.org") is None
    assert smtp_server.received == []


def test_odd_form_values_get_a_clear_answer_not_a_server_error(
    world, mail_settings, smtp_server, db_url
) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech")
    client = confirmed_reader(world, mail_settings, smtp_server)
    weird = subscribe(client, "w@example.org", {"tech": "daily"}, weekday="²", hour="²")
    assert weird.status_code == 400
    assert "choose a day of the week" in weird.text and "choose an hour" in weird.text
    forged = client.post("/subscribe", data={"csrf_token": "é", "email": "x@example.org"})
    assert forged.status_code == 403
    first = next_slot(db_url, "ana@example.org")
    world.article("t1", first - timedelta(hours=1), ["tech"])
    assert run_slot(mail_settings, first) == 1
    prefs = path_of(mail_settings, links_in(smtp_server.received[-1].message)["preferences"])
    page = client.get(prefs)
    odd = client.post(
        prefs, data={"csrf_token": csrf_of(page.text), "action": "pause", "weeks": "²"}
    )
    assert odd.status_code == 400 and "choose 1, 2, 3 or 4 weeks" in odd.text


def test_saving_while_a_slot_is_due_keeps_that_slot(
    world, mail_settings, smtp_server, db_url
) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech")
    client = confirmed_reader(world, mail_settings, smtp_server)
    due = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=30)
    with unit_of_work(db_url) as s:  # the slot came; the planner has not run yet
        s.scalars(select(Subscriber)).one().next_slot_at = due
    page = client.get("/subscribe")  # any page with a form, for the CSRF token
    with unit_of_work(db_url) as s:
        from digest.services.sending.composing import link_for

        prefs = path_of(
            mail_settings,
            link_for(mail_settings, "preferences", s.scalars(select(Subscriber)).one()),
        )
    saved = client.post(
        prefs,
        data={
            "csrf_token": csrf_of(page.text),
            "action": "save",
            "topics": ["tech"],
            "hour": "7",
            "timezone": "UTC",
            "weekday": "mon",
        },
    )
    assert saved.status_code == 200
    assert next_slot(db_url, "ana@example.org") == due


def test_unconfirmed_addresses_are_purged_after_the_configured_age(
    world, mail_settings, smtp_server, db_url
) -> None:  # type: ignore[no-untyped-def]
    from digest.services.readers.signup import purge

    world.topics("tech")
    client = browser(mail_settings)
    subscribe(client, "late@example.org", {"tech": "daily"})
    confirmed_reader(world, mail_settings, smtp_server, email="prompt@example.org")
    later = datetime.now(UTC) + mail_settings.pending_max_age + timedelta(minutes=1)
    with unit_of_work(db_url) as s:
        assert purge(s, mail_settings, datetime.now(UTC)).pending == 0
    assert subscriber(db_url, "late@example.org") is not None
    # Pending rows an operator imported have no request and are not the purge's.
    with unit_of_work(db_url) as s:
        upsert_subscriber(
            s,
            SubscriberInput("imported@example.org", ["tech"]),
            confirmed=False,
            now=datetime.now(UTC),
        )
    # An address that asked again recently keeps its fresh link working.
    with unit_of_work(db_url) as s:
        asked = s.scalars(
            select(Consent).join(Subscriber).where(Subscriber.email == "late@example.org")
        ).one()
        asked.requested_at = later - timedelta(hours=1)
    with unit_of_work(db_url) as s:
        assert purge(s, mail_settings, later).pending == 0
    with unit_of_work(db_url) as s:
        asked = s.scalars(
            select(Consent).join(Subscriber).where(Subscriber.email == "late@example.org")
        ).one()
        asked.requested_at = datetime.now(UTC)
    with unit_of_work(db_url) as s:
        report = purge(s, mail_settings, later)
    assert report.pending == 1
    assert subscriber(db_url, "late@example.org") is None
    assert subscriber(db_url, "imported@example.org") is not None
    assert subscriber(db_url, "prompt@example.org").status == "active"  # type: ignore[union-attr]


def test_branding_reaches_pages_and_emails(world, mail_settings, smtp_server, db_url) -> None:  # type: ignore[no-untyped-def]
    from digest.config import Branding

    brand = Branding(
        site_name="Harbour Gazette",
        logo_url="https://cdn.example.org/logo.png",
        accent_color="#0f766e",
        postal_address="1 Quay Street, Portsmouth PO1 1AA",
    )
    settings = dataclasses.replace(mail_settings, brand=brand)
    world.topics("tech")
    client = browser(settings)
    page = client.get("/subscribe")
    for value in (brand.site_name, brand.logo_url, brand.accent_color, brand.postal_address):
        assert value in page.text
    subscribe(client, "ana@example.org", {"tech": "daily"})
    message = smtp_server.received[-1].message
    assert message["Subject"] == "Confirm your subscription to Harbour Gazette"
    html = message.get_body(preferencelist=("html",)).get_content()
    for value in (brand.logo_url, brand.accent_color, brand.postal_address):
        assert value in html
    confirmed_link = confirm_link(message)
    confirm = client.get(path_of(settings, confirmed_link))
    client.post(path_of(settings, confirmed_link), data={"csrf_token": csrf_of(confirm.text)})
    slot = next_slot(db_url, "ana@example.org")
    world.article("t1", slot - timedelta(hours=1), ["tech"])
    assert run_slot(settings, slot) == 1
    digest = smtp_server.received[-1].message
    assert digest["Subject"].startswith("Harbour Gazette: ")
    html = digest.get_body(preferencelist=("html",)).get_content()
    text_part = digest.get_body(preferencelist=("plain",)).get_content()
    assert brand.logo_url in html and brand.postal_address in html and "#0f766e" in html
    assert brand.postal_address in text_part
