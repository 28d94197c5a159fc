"""``/admin/preview`` over HTTP: who may use it, the email served to its frame (the
bytes the slot sends), the .eml, the reasons and checks, and the test send."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy

from sqlalchemy import func, select

from digest.db.engine import unit_of_work
from digest.db.models import Delivery, Digest, SentArticle
from digest.mail.sender import SMTPSender
from digest.services.sending import pipeline
from tests.conftest import as_previewed
from tests.integration.web.helpers import browser, csrf_of
from tests.integration.web.test_admin_access import admin, sign_in

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SLOT1 = datetime(2026, 6, 2, 7, 0, tzinfo=UTC)
AT = "2026-06-01T12:00"


def editor_client(settings, db_url):  # type: ignore[no-untyped-def]
    admin(db_url, "ed@example.org", "editor")
    client = browser(settings)
    assert sign_in(client, "ed@example.org").status_code == 303
    return client


def reader(world) -> int:  # type: ignore[no-untyped-def]
    world.topics("tech", "trade")
    sub = world.subscriber("ana@example.org", "tech,trade", T0)
    world.article("chips", SLOT1 - timedelta(hours=3), ["tech"])
    world.article("ports", SLOT1 - timedelta(hours=4), ["trade", "tech"])
    world.article("old", SLOT1 - timedelta(hours=30), ["tech"])
    return int(sub)


def test_anonymous_callers_are_sent_to_sign_in(world, mail_settings, db_url) -> None:  # type: ignore[no-untyped-def]
    sub = reader(world)
    client = browser(mail_settings)
    for path in (
        "/admin/preview",
        f"/admin/preview/email.html?subscriber={sub}",
        f"/admin/preview/message.eml?subscriber={sub}",
    ):
        reply = client.get(path, follow_redirects=False)
        assert reply.status_code == 303 and reply.headers["location"] == "/admin/sign-in"
    reply = client.post(
        "/admin/preview/test", data={"subscriber": str(sub)}, follow_redirects=False
    )
    assert reply.status_code == 303 and reply.headers["location"] == "/admin/sign-in"


def test_an_editor_sees_the_email_its_reasons_and_checks(  # type: ignore[no-untyped-def]
    world, mail_settings, db_url, smtp_server
) -> None:
    sub = reader(world)
    client = editor_client(mail_settings, db_url)
    # An operator reaches it from the subscriber's page; an editor, who does not see
    # that page, by searching on the preview page.
    admin(db_url, "ops@example.org", "operator")
    ops = browser(mail_settings)
    sign_in(ops, "ops@example.org")
    profile = ops.get(f"/admin/subscribers/{sub}")
    assert f'href="/admin/preview?subscriber={sub}"' in profile.text
    # Operators search by a piece of the address; an editor names the whole address,
    # so the search lists no one else.
    assert f'href="/admin/preview?subscriber={sub}"' in ops.get("/admin/preview?q=ana@").text
    piece = client.get("/admin/preview", params={"q": "ana@"})
    assert "ana@example.org" not in piece.text and "No subscriber matches" in piece.text
    found = client.get("/admin/preview", params={"q": "Ana@Example.org"})
    assert f'href="/admin/preview?subscriber={sub}"' in found.text

    page = client.get("/admin/preview", params={"subscriber": sub, "at": AT})
    assert page.status_code == 200
    assert "frame-src 'self'" in page.headers["content-security-policy"]
    text = page.text
    assert "Tue 02 Jun 2026 07:00 UTC" in text
    assert "Included, #1 in the email." in text
    assert "Duplicate: this article is shown under Tech." in text
    assert "Outside the window: published Mon 01 Jun 2026 01:00 UTC" in text
    # The hidden preheader's max-height, which Outlook on Windows ignores.
    assert re.search(
        r"WARNING</strong> .*Outlook \(Windows\) does not render max-height", text, re.I
    )
    assert "Outlook (Windows): not supported" in text
    assert "List-Unsubscribe-Post" in text  # the headers table
    frame = re.search(r'<iframe id="email-frame"[^>]*src="([^"]+)"', text)
    assert frame is not None and 'sandbox="allow-popups' in frame.group(0)
    src = frame.group(1).replace("&amp;", "&")
    assert "at=2026-06-02T07%3A00" in src  # the slot, fixed

    served = client.get(src)
    assert served.headers["content-security-policy"].endswith(
        "sandbox allow-popups allow-popups-to-escape-sandbox"
    )
    assert "script-src" not in served.headers["content-security-policy"]
    eml = client.get(f"/admin/preview/message.eml?subscriber={sub}&at=2026-06-02T07:00")
    assert eml.headers["content-type"] == "message/rfc822"
    assert 'filename="digest-20260602T0700Z.eml"' in eml.headers["content-disposition"]
    assert b"List-Unsubscribe-Post: List-Unsubscribe=One-Click" in eml.content

    # What the frame shows is the HTML part the slot then sends, byte for byte, but
    # for the reader's signed links: staff see links that lead nowhere.
    sender = SMTPSender.from_url(mail_settings.smtp_url)
    assert pipeline.run(db_url, mail_settings, sender, lambda: SLOT1).sent == 1
    [sent] = smtp_server.received
    sent_html = sent.message.get_body(("html",)).get_payload(decode=True)
    assert as_previewed(sent_html) == served.content
    assert sent_html != served.content and b"/preferences/preview" not in sent_html
    previewed = message_from_bytes(eml.content, policy=policy.default)
    assert previewed.get_body(("html",)).get_payload(decode=True) == served.content
    # Nor does the .eml carry the reader's one-click unsubscribe link.
    reader_link = str(sent.message["List-Unsubscribe"]).strip("<>")
    assert "/unsubscribe/preview" not in reader_link
    assert reader_link.encode() not in eml.content
    assert str(previewed["List-Unsubscribe"]).endswith("/unsubscribe/preview>")


def test_the_dark_view_turns_on_the_emails_own_dark_rules(world, mail_settings, db_url) -> None:  # type: ignore[no-untyped-def]
    sub = reader(world)
    client = editor_client(mail_settings, db_url)
    base = f"/admin/preview/email.html?subscriber={sub}&at={AT}"
    light = client.get(base).text
    dark = client.get(base + "&scheme=dark").text
    assert "@media (prefers-color-scheme: dark)" in light
    assert "@media (prefers-color-scheme: dark)" not in dark
    assert dark == light.replace("@media (prefers-color-scheme: dark)", "@media all")
    page = client.get("/admin/preview", params={"subscriber": sub, "at": AT, "scheme": "dark"})
    assert "&amp;scheme=dark" in re.search(r"<iframe[^>]*>", page.text).group(0)  # type: ignore[union-attr]


def test_a_preview_of_topics(world, mail_settings, db_url) -> None:  # type: ignore[no-untyped-def]
    reader(world)
    client = editor_client(mail_settings, db_url)
    page = client.get(
        "/admin/preview",
        params={
            "topics": ["trade"],
            "frequency-trade": "weekly",
            "timezone": "Europe/Brussels",
            "at": "2026-06-02T07:00",
        },
    )
    assert page.status_code == 200
    assert "First digest of Trade" in page.text
    assert "(weekly, new since Tue 26 May 2026 09:00 CEST)" in page.text
    assert "Story ports" in page.text


def test_bad_requests_name_their_field(world, mail_settings, db_url) -> None:  # type: ignore[no-untyped-def]
    sub = reader(world)
    client = editor_client(mail_settings, db_url)
    bad_at = client.get("/admin/preview", params={"subscriber": sub, "at": "yesterday"})
    assert bad_at.status_code == 422 and "at: &#39;yesterday&#39; is not a date" in bad_at.text
    bad_zone = client.get("/admin/preview", params={"topics": "tech", "timezone": "Mars/Base"})
    assert bad_zone.status_code == 422 and "timezone:" in bad_zone.text
    bad_freq = client.get("/admin/preview", params={"topics": "tech", "frequency-tech": "hourly"})
    assert (
        bad_freq.status_code == 422 and "frequency-tech: must be daily or weekly" in bad_freq.text
    )
    for at in ("9999-12-31T23:59", "0001-01-01T00:00"):
        far = client.get("/admin/preview", params={"subscriber": sub, "at": at})
        assert far.status_code == 422 and "at: the moment is out of range" in far.text
        frame = client.get(f"/admin/preview/email.html?topics=tech&at={at}")
        assert frame.status_code == 422
    unknown = client.get("/admin/preview", params={"subscriber": "99999"})
    assert unknown.status_code == 404 and "no subscriber with id 99999" in unknown.text
    huge = client.get("/admin/preview", params={"subscriber": "9" * 30})
    assert huge.status_code == 422
    assert client.get("/admin/preview/email.html?subscriber=99999").status_code == 404
    assert client.get("/admin/preview/email.html").status_code == 422


def test_a_test_copy_goes_to_the_editor_and_nothing_is_recorded(  # type: ignore[no-untyped-def]
    world, mail_settings, db_url, smtp_server
) -> None:
    sub = reader(world)
    client = editor_client(mail_settings, db_url)
    page = client.get("/admin/preview", params={"subscriber": sub, "at": AT})
    form = {"csrf_token": csrf_of(page.text), "subscriber": str(sub), "at": "2026-06-02T07:00"}
    refused = client.post("/admin/preview/test", data={**form, "csrf_token": "forged"})
    assert refused.status_code == 403 and not smtp_server.received
    sent = client.post("/admin/preview/test", data=form, follow_redirects=False)
    assert sent.status_code == 303
    assert "sent_to=ed%40example.org" in sent.headers["location"]
    [copy] = smtp_server.wait_for(1)
    assert copy.rcpt_tos == ["ed@example.org"]
    assert copy.message["Subject"].startswith("[TEST] ")
    assert "Test copy sent to ed@example.org." in client.get(sent.headers["location"]).text
    typed = client.post("/admin/preview/test", data={**form, "to": "desk@example.org"})
    assert typed.status_code == 200
    assert smtp_server.wait_for(2)[1].rcpt_tos == ["desk@example.org"]
    bad = client.post("/admin/preview/test", data={**form, "to": "not an address"})
    assert bad.status_code == 422 and "to:" in bad.text
    with unit_of_work(db_url) as s:
        for model in (Digest, Delivery, SentArticle):
            assert s.scalar(select(func.count()).select_from(model)) == 0


def test_a_refused_test_copy_says_what_the_server_answered(  # type: ignore[no-untyped-def]
    world, mail_settings, db_url, smtp_server
) -> None:
    sub = reader(world)
    client = editor_client(mail_settings, db_url)
    smtp_server.handler.rcpt_replies["ed@example.org"] = "554 5.7.1 Relay access denied"
    page = client.get("/admin/preview", params={"subscriber": sub, "at": AT})
    reply = client.post(
        "/admin/preview/test",
        data={"csrf_token": csrf_of(page.text), "subscriber": str(sub), "at": AT},
    )
    assert reply.status_code == 502
    assert "The mail server refused the test copy: 554 5.7.1 Relay access denied" in reply.text
