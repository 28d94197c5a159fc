"""One-click unsubscribe (RFC 8058) from the List-Unsubscribe URL of a sent digest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from digest.db.engine import unit_of_work
from digest.db.models import Subscriber
from digest.mail.sender import SMTPSender
from digest.services.sending import pipeline
from digest.web.app import create_app

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SLOT1 = datetime(2026, 6, 2, 7, 0, tzinfo=UTC)


def send_first_digest(world, mail_settings, smtp_server) -> str:  # type: ignore[no-untyped-def]
    world.topics("tech")
    world.article("a1", T0 + timedelta(hours=1), ["tech"])
    world.subscriber("reader@example.org", "tech", T0)
    sender = SMTPSender.from_url(mail_settings.smtp_url)
    assert pipeline.run(mail_settings.database_url, mail_settings, sender, lambda: SLOT1).sent == 1
    header = smtp_server.received[0].message["List-Unsubscribe"]
    url = header.strip("<>")
    assert url.startswith(mail_settings.base_url + "/unsubscribe/")
    return url[len(mail_settings.base_url) :]


def status(db_url: str) -> str:
    with unit_of_work(db_url) as s:
        return s.scalars(select(Subscriber.status)).one()


def test_get_shows_a_button_and_post_unsubscribes(
    world,
    mail_settings,
    smtp_server,
    db_url,  # type: ignore[no-untyped-def]
) -> None:
    path = send_first_digest(world, mail_settings, smtp_server)
    client = TestClient(create_app(mail_settings))

    page = client.get(path)
    assert page.status_code == 200
    # The address is shown masked: enough to recognise, not to learn it.
    assert "r•••@example.org" in page.text and "<button" in page.text
    assert "reader@example.org" not in page.text
    assert status(db_url) == "active", "a GET (link scanner, prefetch) never unsubscribes"

    # What a mail client's one-click button sends: no cookie, no CSRF token.
    answer = client.post(
        path,
        content="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    assert answer.status_code == 200
    assert "unsubscribed" in answer.text.lower()
    assert status(db_url) == "unsubscribed"
    assert client.post(path, follow_redirects=False).status_code == 200  # harmless twice

    world.article("a2", SLOT1 + timedelta(hours=2), ["tech"])
    sender = SMTPSender.from_url(mail_settings.smtp_url)
    report = pipeline.run(db_url, mail_settings, sender, lambda: SLOT1 + timedelta(days=1))
    assert report.planned == 0
    assert len(smtp_server.received) == 1


def test_tampered_and_foreign_tokens_get_a_clear_page(
    world,
    mail_settings,
    smtp_server,
    db_url,  # type: ignore[no-untyped-def]
) -> None:
    path = send_first_digest(world, mail_settings, smtp_server)
    client = TestClient(create_app(mail_settings), raise_server_exceptions=False)
    tampered = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    for bad in (tampered, "/unsubscribe/not-a-token"):
        for method in ("GET", "POST"):
            answer = client.request(method, bad)
            assert answer.status_code == 404
            assert "link" in answer.text.lower() and "Traceback" not in answer.text
    assert status(db_url) == "active"
