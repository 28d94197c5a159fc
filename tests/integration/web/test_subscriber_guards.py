"""The edges of the public pages: repeated and refused sign-ups, CSRF on every form,
one-click unsubscribe without a cookie, the chosen slot, erasure of the sent-ledger
and the branding of the reader's pages."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from digest.config import Branding
from digest.db.engine import unit_of_work
from digest.db.models import (
    Consent,
    Delivery,
    DeliveryAttempt,
    Digest,
    DigestArticle,
    SentArticle,
    Subscriber,
)
from digest.services.readers.preferences import pause
from digest.services.readers.suppressing import suppress
from digest.services.readers.unsubscribing import unsubscribe
from digest.services.sending.composing import link_for
from tests.integration.web.helpers import browser, confirm_link, csrf_of, path_of, subscribe
from tests.integration.web.test_subscriber_pages import (
    confirmed_reader,
    next_slot,
    run_slot,
    subscriber,
    topics_of,
)
from tests.integration.web.test_unsubscribe import send_first_digest


def mails_to(smtp_server, email: str) -> list:  # type: ignore[no-untyped-def]
    return [r for r in smtp_server.received if r.rcpt_tos == [email]]


def rows_for(db_url: str, email: str) -> int:
    with unit_of_work(db_url) as s:
        return s.scalar(select(func.count()).where(Subscriber.email == email)) or 0


def consents_for(db_url: str, email: str) -> int:
    with unit_of_work(db_url) as s:
        return (
            s.scalar(
                select(func.count(Consent.id))
                .join(Subscriber, Subscriber.id == Consent.subscriber_id)
                .where(Subscriber.email == email)
            )
            or 0
        )


def same_answer(answer, email: str, reference, reference_email: str) -> None:  # type: ignore[no-untyped-def]
    assert answer.status_code == reference.status_code == 200
    assert answer.text.replace(email, "X") == reference.text.replace(reference_email, "X")


def link(settings, purpose: str, email: str) -> str:  # type: ignore[no-untyped-def]
    with unit_of_work(settings.database_url) as s:
        sub = s.scalars(select(Subscriber).where(Subscriber.email == email)).one()
        return path_of(settings, link_for(settings, purpose, sub))


def state(db_url: str, email: str) -> tuple | None:  # type: ignore[type-arg]
    sub = subscriber(db_url, email)
    if sub is None:
        return None
    topics = {s.topic.slug: s.frequency for s in sub.subscriptions}
    return (sub.status, topics, sub.hour, sub.timezone, sub.paused_until, sub.next_slot_at)


def test_a_pending_address_asking_twice_gets_one_email_and_the_new_address_answer(
    world, mail_settings, smtp_server, db_url
) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech")
    client = browser(mail_settings)
    first = subscribe(client, "pending@example.org", {"tech": "daily"})
    again = subscribe(client, "pending@example.org", {"tech": "daily"})
    new = subscribe(client, "brand-new@example.org", {"tech": "daily"})

    same_answer(first, "pending@example.org", new, "brand-new@example.org")
    same_answer(again, "pending@example.org", new, "brand-new@example.org")
    assert len(mails_to(smtp_server, "pending@example.org")) == 1
    assert len(mails_to(smtp_server, "brand-new@example.org")) == 1
    assert rows_for(db_url, "pending@example.org") == 1
    assert subscriber(db_url, "pending@example.org").status == "pending"  # type: ignore[union-attr]


def test_unsubscribed_and_suppressed_addresses_asking_again_get_the_new_address_answer(
    world, mail_settings, smtp_server, db_url
) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech")
    now = datetime.now(UTC)
    gone = world.subscriber("gone@example.org", "tech", now - timedelta(days=3))
    blocked = world.subscriber("blocked@example.org", "tech", now - timedelta(days=3))
    client = browser(mail_settings)
    # A request of the blocked reader from before their complaint, still unconfirmed.
    subscribe(client, "blocked@example.org", {"tech": "weekly"})
    early_link = path_of(
        mail_settings, confirm_link(mails_to(smtp_server, "blocked@example.org")[0].message)
    )
    with unit_of_work(db_url) as s:
        unsubscribe(s, gone, now)
        # What a complaint does: suppressed and unsubscribed.
        suppress(s, "blocked@example.org", "complaint", "complaint (test)", now, graver=True)
        unsubscribe(s, blocked, now)
    sent_before = len(smtp_server.received)
    blocked_consents = consents_for(db_url, "blocked@example.org")

    new = subscribe(client, "fresh@example.org", {"tech": "daily"})
    for email in ("gone@example.org", "blocked@example.org"):
        answer = subscribe(client, email, {"tech": "daily"})
        same_answer(answer, email, new, "fresh@example.org")
        assert rows_for(db_url, email) == 1
        assert subscriber(db_url, email).status == "unsubscribed"  # type: ignore[union-attr]

    # The unsubscribed address gets a confirmation (only confirming it brings them
    # back); the suppressed one gets nothing, and no request is even recorded.
    assert len(mails_to(smtp_server, "gone@example.org")) == 1
    assert len(mails_to(smtp_server, "blocked@example.org")) == 1
    assert len(smtp_server.received) == sent_before + 2
    assert consents_for(db_url, "blocked@example.org") == blocked_consents
    # The request made before the suppression cannot bring the address back either.
    page = client.get(early_link)
    assert page.status_code == 409
    done = client.post(early_link, data={"csrf_token": csrf_of(client.get("/subscribe").text)})
    assert done.status_code == 409
    assert subscriber(db_url, "blocked@example.org").status == "unsubscribed"  # type: ignore[union-attr]
    assert topics_of(db_url, "blocked@example.org") == {"tech": "daily"}


def test_every_other_form_refuses_a_missing_or_foreign_csrf_token(
    world, mail_settings, smtp_server, db_url
) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech", "world")
    now = datetime.now(UTC)
    ana = world.subscriber("ana@example.org", "tech", now)
    gone = world.subscriber("gone@example.org", "tech", now)
    with unit_of_work(db_url) as s:
        pause(s.get(Subscriber, ana), 2, now)
        unsubscribe(s, gone, now)
    subscribe(browser(mail_settings), "pending@example.org", {"tech": "daily"})
    confirm = path_of(mail_settings, confirm_link(smtp_server.received[-1].message))
    prefs = link(mail_settings, "preferences", "ana@example.org")
    gone_prefs = link(mail_settings, "preferences", "gone@example.org")
    undo = link(mail_settings, "unsubscribe", "gone@example.org") + "/undo"
    save = {"action": "save", "topics": ["world"], "hour": "9", "timezone": "Europe/Brussels"}
    forms = [
        (confirm, {}),
        (prefs, save),
        (prefs, {"action": "pause", "weeks": "1"}),
        (prefs, {"action": "resume"}),
        (gone_prefs, {"action": "resubscribe"}),
        (undo, {}),
        (prefs, {"action": "delete", "confirm_delete": "yes"}),
    ]
    emails = ("ana@example.org", "gone@example.org", "pending@example.org")
    before = {email: state(db_url, email) for email in emails}
    assert before["ana@example.org"][4] is not None  # type: ignore[index]

    victim = browser(mail_settings)
    own_token = csrf_of(victim.get("/subscribe").text)
    foreign_token = csrf_of(browser(mail_settings).get("/subscribe").text)
    assert foreign_token != own_token
    for path, data in forms:
        for token in (None, foreign_token):
            sent = data if token is None else {**data, "csrf_token": token}
            answer = victim.post(path, data=sent)
            assert answer.status_code == 403, (path, data, token)
            assert "This form has expired" in answer.text
    assert {email: state(db_url, email) for email in emails} == before

    # The same forms with the browser's own token do act: the requests were sound.
    for path, data in forms:
        answer = victim.post(path, data={**data, "csrf_token": own_token})
        assert answer.status_code == 200, (path, data, answer.text)
    assert subscriber(db_url, "pending@example.org").status == "active"  # type: ignore[union-attr]
    assert subscriber(db_url, "gone@example.org").status == "active"  # type: ignore[union-attr]
    assert subscriber(db_url, "ana@example.org") is None


def test_one_click_unsubscribe_works_from_a_client_without_any_cookie(
    world, mail_settings, smtp_server, db_url
) -> None:  # type: ignore[no-untyped-def]
    path = send_first_digest(world, mail_settings, smtp_server)
    client = browser(mail_settings)
    assert not client.cookies
    answer = client.post(
        path,
        content="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    assert answer.status_code == 200 and "location" not in answer.headers
    assert "You are unsubscribed" in answer.text
    assert subscriber(db_url, "reader@example.org").status == "unsubscribed"  # type: ignore[union-attr]


def test_the_weekday_hour_and_zone_from_the_form_set_the_slot(
    world, mail_settings, smtp_server, db_url
) -> None:  # type: ignore[no-untyped-def]
    world.topics("world")
    client = browser(mail_settings)
    answer = subscribe(
        client,
        "wed@example.org",
        {"world": "weekly"},
        weekday="wed",
        hour=7,
        timezone="Europe/Brussels",
    )
    assert answer.status_code == 200
    confirm = path_of(mail_settings, confirm_link(smtp_server.received[-1].message))
    page = client.get(confirm)
    done = client.post(confirm, data={"csrf_token": csrf_of(page.text)})
    assert done.status_code == 200 and "You are subscribed" in done.text

    sub = subscriber(db_url, "wed@example.org")
    assert sub is not None and sub.status == "active"
    assert (sub.weekday, sub.hour, sub.timezone) == (2, 7, "Europe/Brussels")
    assert topics_of(db_url, "wed@example.org") == {"world": "weekly"}
    local = next_slot(db_url, "wed@example.org").astimezone(ZoneInfo("Europe/Brussels"))
    assert local.strftime("%A %H:%M:%S") == "Wednesday 07:00:00"
    assert timedelta(0) < local - datetime.now(UTC) <= timedelta(days=7)


def test_an_invalid_address_is_refused_by_field_and_nothing_is_stored_or_sent(
    world, mail_settings, smtp_server, db_url
) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech")
    client = browser(mail_settings)
    for bad in ("not-an-address", "a@b@c"):
        answer = subscribe(client, bad, {"tech": "daily"})
        assert answer.status_code == 400
        assert re.findall(r'class="error" id="([^"]+)-error"', answer.text) == ["email"]
        assert re.search(r'id="email-error">[^<]*is not valid', answer.text)
        assert 'id="email" value="' + bad + '"' in answer.text
        assert 'aria-describedby="email-error"' in answer.text
    with unit_of_work(db_url) as s:
        assert s.scalar(select(func.count()).select_from(Subscriber)) == 0
        assert s.scalar(select(func.count()).select_from(Consent)) == 0
    assert smtp_server.received == []


def test_delete_me_erases_the_digests_and_the_sent_ledger(
    world, mail_settings, smtp_server, db_url
) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech")
    client = confirmed_reader(world, mail_settings, smtp_server)
    slot = next_slot(db_url, "ana@example.org")
    world.article("t1", slot - timedelta(hours=1), ["tech"])
    assert run_slot(mail_settings, slot) == 1
    sid = subscriber(db_url, "ana@example.org").id  # type: ignore[union-attr]

    def ledger() -> dict[str, int]:
        with unit_of_work(db_url) as s:
            digests = select(Digest.id).where(Digest.subscriber_id == sid)
            deliveries = select(Delivery.id).where(Delivery.subscriber_id == sid)
            counts = {
                "digests": select(func.count()).select_from(Digest).where(Digest.id.in_(digests)),
                "digest_articles": select(func.count())
                .select_from(DigestArticle)
                .where(DigestArticle.digest_id.in_(digests)),
                "sent_articles": select(func.count())
                .select_from(SentArticle)
                .where(SentArticle.subscriber_id == sid),
                "deliveries": select(func.count())
                .select_from(Delivery)
                .where(Delivery.subscriber_id == sid),
                "delivery_attempts": select(func.count())
                .select_from(DeliveryAttempt)
                .where(DeliveryAttempt.delivery_id.in_(deliveries)),
            }
            return {name: s.scalar(query) or 0 for name, query in counts.items()}

    with unit_of_work(db_url) as s:
        digest_ids = list(s.scalars(select(Digest.id).where(Digest.subscriber_id == sid)))
        delivery_ids = list(s.scalars(select(Delivery.id).where(Delivery.subscriber_id == sid)))
    assert all(ledger().values()), ledger()

    prefs = link(mail_settings, "preferences", "ana@example.org")
    page = client.get(prefs)
    gone = client.post(
        prefs,
        data={"csrf_token": csrf_of(page.text), "action": "delete", "confirm_delete": "yes"},
    )
    assert gone.status_code == 200 and "Your data is deleted" in gone.text
    assert set(ledger().values()) == {0}
    with unit_of_work(db_url) as s:
        orphans = [
            s.scalar(select(func.count()).where(DigestArticle.digest_id.in_(digest_ids))),
            s.scalar(select(func.count()).where(DeliveryAttempt.delivery_id.in_(delivery_ids))),
            s.scalar(select(func.count()).where(SentArticle.digest_id.in_(digest_ids))),
        ]
    assert orphans == [0, 0, 0]


def test_branding_reaches_the_confirm_preferences_and_unsubscribe_pages(
    world, mail_settings, smtp_server, db_url
) -> None:  # type: ignore[no-untyped-def]
    brand = Branding(
        site_name="Harbour Gazette",
        accent_color="#0f766e",
        postal_address="1 Quay Street, Portsmouth PO1 1AA",
    )
    settings = dataclasses.replace(mail_settings, brand=brand)
    world.topics("tech")
    world.subscriber("ana@example.org", "tech", datetime.now(UTC))
    client = browser(settings)
    subscribe(client, "new@example.org", {"tech": "daily"})
    confirm = path_of(settings, confirm_link(smtp_server.received[-1].message))
    unsubscribe_path = link(settings, "unsubscribe", "ana@example.org")

    pages = {
        "confirm": client.get(confirm),
        "preferences": client.get(link(settings, "preferences", "ana@example.org")),
        "unsubscribe": client.get(unsubscribe_path),
        "unsubscribed": client.post(unsubscribe_path),
    }
    for name, page in pages.items():
        assert page.status_code == 200, name
        for value in (brand.site_name, brand.postal_address, brand.accent_color):
            assert value in page.text, (name, value)
        assert "· digest</title>" not in page.text, name


def test_a_suppressed_reader_cannot_undo_or_resubscribe_from_their_links(
    world, mail_settings, smtp_server, db_url
) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech")
    now = datetime.now(UTC)
    reader = world.subscriber("blocked@example.org", "tech", now - timedelta(days=3))
    undo = link(mail_settings, "unsubscribe", "blocked@example.org") + "/undo"
    prefs = link(mail_settings, "preferences", "blocked@example.org")
    with unit_of_work(db_url) as s:
        # What a complaint does: suppressed and unsubscribed.
        suppress(s, "blocked@example.org", "complaint", "complaint (test)", now, graver=True)
        unsubscribe(s, reader, now)
    client = browser(mail_settings)
    token = csrf_of(client.get(prefs).text)
    for path, fields in ((undo, {}), (prefs, {"action": "resubscribe"})):
        answer = client.post(path, data={"csrf_token": token, **fields})
        assert answer.status_code == 200
        assert "cannot be subscribed again" in answer.text
        assert "Welcome back" not in answer.text
        assert subscriber(db_url, "blocked@example.org").status == "unsubscribed"  # type: ignore[union-attr]
    # An address that was only unsubscribed comes back with the same links.
    gone = world.subscriber("gone@example.org", "tech", now - timedelta(days=3))
    with unit_of_work(db_url) as s:
        unsubscribe(s, gone, now)
    answer = client.post(
        link(mail_settings, "unsubscribe", "gone@example.org") + "/undo",
        data={"csrf_token": token},
    )
    assert "Welcome back" in answer.text
    assert subscriber(db_url, "gone@example.org").status == "active"  # type: ignore[union-attr]


def test_the_configured_pending_age_decides_what_the_hourly_purge_forgets(
    world, mail_settings, smtp_server, db_url
) -> None:  # type: ignore[no-untyped-def]
    from digest.config import ConfigError, load_settings
    from digest.services.readers.signup import purge
    from workers.schedule import beat_schedule

    env = {
        "DIGEST_SECRET_KEY": "test-secret-key-of-32-bytes-or-more-0123456789",
        "DIGEST_PENDING_MAX_AGE": str(3 * 86400),
    }
    assert load_settings(env).pending_max_age == timedelta(days=3)
    with pytest.raises(ConfigError, match="DIGEST_PENDING_MAX_AGE"):
        load_settings({**env, "DIGEST_PENDING_MAX_AGE": "3600"})  # under the link's 2 days
    assert {"task": "digest.purge", "schedule": 3600.0} in beat_schedule().values()

    world.topics("tech")
    client = browser(mail_settings)
    subscribe(client, "late@example.org", {"tech": "daily"})
    four_days_on = datetime.now(UTC) + timedelta(days=4)
    week = dataclasses.replace(mail_settings, pending_max_age=timedelta(days=7))
    three_days = dataclasses.replace(mail_settings, pending_max_age=timedelta(days=3))
    with unit_of_work(db_url) as s:
        assert purge(s, week, four_days_on).pending == 0
    assert subscriber(db_url, "late@example.org") is not None
    with unit_of_work(db_url) as s:
        assert purge(s, three_days, four_days_on).pending == 1
    assert rows_for(db_url, "late@example.org") == 0
    assert consents_for(db_url, "late@example.org") == 0
