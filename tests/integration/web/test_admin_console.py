"""The operator console: finding subscribers, one subscriber's history, retrying a
failed delivery to a real SMTP server."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from digest.db.engine import unit_of_work
from digest.db.models import Delivery, Subscriber
from digest.mail.sender import SMTPSender
from digest.services.sending import pipeline
from tests.integration.web.helpers import browser, csrf_of, subscribe
from tests.integration.web.test_admin_access import admin, sign_in

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SLOT1 = datetime(2026, 6, 2, 7, 0, tzinfo=UTC)


def listed(html: str) -> list[str]:
    return re.findall(r'<a href="/admin/subscribers/\d+">([^<]+)</a>', html)


def test_find_subscribers_by_fragment_status_and_topic_page_by_page(
    world, mail_settings, db_url
) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech", "world")
    for i in range(120):
        world.subscriber(f"reader{i:03d}@{'north' if i % 2 else 'south'}.example", "tech", T0)
    world.subscriber("lone@world.example", "world", T0)
    with unit_of_work(db_url) as s:
        s.scalars(
            select(Subscriber).where(Subscriber.email == "reader007@north.example")
        ).one().status = "unsubscribed"
    admin(db_url, "ops@example.org", "operator")
    client = browser(mail_settings)
    assert client.get("/admin/subscribers", follow_redirects=False).status_code == 303
    sign_in(client, "ops@example.org")

    seen: list[str] = []
    url = "/admin/subscribers"
    while url:
        page = client.get(url)
        assert page.status_code == 200
        seen += listed(page.text)
        found = re.search(r'id="next-page" href="([^"]+)"', page.text)
        url = "/admin/subscribers" + found.group(1).replace("&amp;", "&") if found else ""
    assert len(seen) == len(set(seen)) == 121

    assert listed(client.get("/admin/subscribers?q=007").text) == ["reader007@north.example"]
    north = listed(client.get("/admin/subscribers?q=NORTH.example").text)
    assert len(north) == 50 and all("north" in e for e in north)
    assert listed(client.get("/admin/subscribers?status=unsubscribed").text) == [
        "reader007@north.example"
    ]
    assert listed(client.get("/admin/subscribers?topic=world").text) == ["lone@world.example"]
    assert listed(client.get("/admin/subscribers?q=%25").text) == []  # a LIKE wildcard is literal


def test_a_subscriber_page_shows_consent_and_attempts_and_an_operator_retries(
    world, mail_settings, smtp_server, db_url
) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech")
    subscribe(browser(mail_settings), "ana@example.org", {"tech": "daily"})  # a consent record
    with unit_of_work(db_url) as s:
        sub = s.scalars(select(Subscriber)).one()
        sub.status, sub.confirmed_at, sub_id = "active", T0, sub.id
    world.article("a1", SLOT1 - timedelta(hours=1), ["tech"])
    smtp_server.handler.rcpt_replies["ana@example.org"] = "554 5.7.1 message refused by policy"
    sender = SMTPSender.from_url(mail_settings.smtp_url)
    assert pipeline.run(db_url, mail_settings, sender, lambda: SLOT1).failed == 1
    smtp_server.handler.rcpt_replies.clear()
    received = len(smtp_server.received)

    admin(db_url, "ed@example.org", "editor")
    admin(db_url, "ops@example.org", "operator")
    editor = browser(mail_settings)
    sign_in(editor, "ed@example.org")
    # A reader's page is personal data: an operator's alone.
    page = editor.get(f"/admin/subscribers/{sub_id}")
    assert page.status_code == 403 and "ReaderBrowser/1.0" not in page.text
    with unit_of_work(db_url) as s:
        delivery_id = s.scalars(select(Delivery.id)).one()
    refused = editor.post(
        f"/admin/deliveries/{delivery_id}/retry",
        data={"csrf_token": csrf_of(editor.get("/admin").text)},
    )
    assert refused.status_code == 403 and len(smtp_server.received) == received

    operator = browser(mail_settings)
    sign_in(operator, "ops@example.org")
    page = operator.get(f"/admin/subscribers/{sub_id}")
    assert page.status_code == 200
    assert "ReaderBrowser/1.0" in page.text and "testclient" in page.text  # consent
    assert "554" in page.text and "message refused by policy" in page.text  # the attempt
    action = re.search(r'action="(/admin/deliveries/\d+/retry)"', page.text)
    assert action is not None
    done = operator.post(action.group(1), data={"csrf_token": csrf_of(page.text)})
    assert done.status_code == 200 and "Sent again" in done.text
    assert smtp_server.received[-1].rcpt_tos == ["ana@example.org"]
    with unit_of_work(db_url) as s:
        assert s.get(Delivery, delivery_id).status == "sent"  # type: ignore[union-attr]
    assert operator.get("/admin/subscribers/999999").status_code == 404
