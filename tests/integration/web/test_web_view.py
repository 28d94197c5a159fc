"""The "view in your browser" link: every digest links to itself on the web, signed
for its reader, the same email the reader got, never indexed."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from digest.config import secret_key
from digest.db.engine import unit_of_work
from digest.db.models import Digest, Subscriber
from digest.mail.sender import SMTPSender
from digest.services.sending import pipeline
from digest.tokens import make_token
from tests.conftest import as_previewed
from tests.integration.web.helpers import browser, csrf_of, links_in, path_of

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SLOT = datetime(2026, 6, 2, 7, 0, tzinfo=UTC)
VIEW = re.compile(r'<a class="view-link" href="([^"]+)"')


def send_digest(world, mail_settings, smtp_server, db_url, language=None):  # type: ignore[no-untyped-def]
    world.topics("tech")
    world.article("one", SLOT - timedelta(hours=2), ["tech"])
    world.article("two", SLOT - timedelta(hours=3), ["tech"])
    world.subscriber("ana@example.org", "tech", T0)
    if language:
        with unit_of_work(db_url) as s:
            s.execute(update(Subscriber).values(language=language))
    sender = SMTPSender.from_url(mail_settings.smtp_url)
    assert pipeline.run(db_url, mail_settings, sender, lambda: SLOT).sent == 1
    return smtp_server.received[-1].message


def test_the_web_view_is_the_email_the_reader_got(
    world, mail_settings, smtp_server, db_url
) -> None:  # type: ignore[no-untyped-def]
    message = send_digest(world, mail_settings, smtp_server, db_url)
    html = message.get_body(preferencelist=("html",)).get_content()
    [link] = VIEW.findall(html)
    assert link.startswith(f"{mail_settings.base_url}/view/")
    assert "ana" not in link.split("/view/")[1].lower()
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert f"View this digest in your browser: {link}" in text

    client = browser(mail_settings)
    page = client.get(path_of(mail_settings, link))
    assert page.status_code == 200
    assert page.headers["X-Robots-Tag"] == "noindex, nofollow"
    assert "private" in page.headers["Cache-Control"]
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert "script-src" not in page.headers["Content-Security-Policy"]
    assert '<meta name="robots" content="noindex, nofollow">' in page.text
    # The same email, byte for byte, but for the robots line and what would act for
    # the reader or name them: such links get shared.
    shown = page.text.replace('\n<meta name="robots" content="noindex, nofollow">', "", 1)
    sent = as_previewed(html.replace("\r\n", "\n").encode()).decode()
    sent = sent.replace("Sent to ana@example.org", "Sent to a•••@example.org")
    sent = sent.replace(f"{mail_settings.base_url}/view/preview", link)  # its own link stays
    assert shown.rstrip("\n") == sent.rstrip("\n")
    for link in links_in(message).values():
        assert link not in page.text
    assert "ana@example.org" not in page.text
    assert "Story one" in page.text and "Story two" in page.text


def test_a_web_view_link_that_is_forged_replaced_or_for_an_unsent_digest_shows_nothing(
    world, mail_settings, smtp_server, db_url
) -> None:  # type: ignore[no-untyped-def]
    message = send_digest(world, mail_settings, smtp_server, db_url)
    html = message.get_body(preferencelist=("html",)).get_content()
    [link] = VIEW.findall(html)
    client = browser(mail_settings)
    path = path_of(mail_settings, link)
    tampered = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    assert client.get(tampered).status_code == 404
    assert client.get("/view/preview").status_code == 404  # what previews link to
    # A token naming another digest id with this reader's stamp: only built digests show.
    with unit_of_work(db_url) as s:
        sub = s.scalars(select(Subscriber)).one()
        digest = s.scalars(select(Digest)).one()
        s.add(
            Digest(
                subscriber_id=sub.id,
                slot_at=SLOT + timedelta(days=1),
                window_end=SLOT + timedelta(days=1),
                status="skipped",
            )
        )
        s.flush()
        skipped = s.scalars(select(Digest).where(Digest.status == "skipped")).one()
        from digest.tokens import link_stamp

        stamp = link_stamp(sub.created_at, sub.link_epoch or 0)
        forged = make_token(secret_key(mail_settings), "view", skipped.id, stamp)
        as_preferences = make_token(secret_key(mail_settings), "preferences", digest.id, stamp)
    assert client.get(f"/view/{forged}").status_code == 404
    assert client.get(f"/view/{as_preferences}").status_code == 404  # wrong purpose
    # Replacing their links ends this one too.
    prefs = links_in(message)["preferences"]
    form = client.get(path_of(mail_settings, prefs))
    replaced = client.post(
        path_of(mail_settings, prefs),
        data={"csrf_token": csrf_of(form.text), "action": "replace_links"},
        follow_redirects=False,
    )
    assert replaced.status_code == 303
    assert client.get(path).status_code == 404


def test_an_arabic_readers_web_view_reads_right_to_left(
    world, mail_settings, smtp_server, db_url
) -> None:  # type: ignore[no-untyped-def]
    message = send_digest(world, mail_settings, smtp_server, db_url, language="ar")
    html = message.get_body(preferencelist=("html",)).get_content()
    [link] = VIEW.findall(html)
    assert "اعرض هذه النشرة في المتصفح" in html
    page = browser(mail_settings).get(path_of(mail_settings, link))
    assert page.status_code == 200 and '<html lang="ar" dir="rtl"' in page.text
