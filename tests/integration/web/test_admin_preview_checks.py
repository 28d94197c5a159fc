"""``/admin/preview`` shows what the service previews: the plain-text part, the
checks (Gmail clipping, images without alt, links that are not https), the
subscriber's next slot when no moment is given; and the pins and holds editors make
through the API and the articles page shape the digest the slot really sends."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime, time, timedelta
from email import message_from_bytes, policy
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from digest.db.engine import unit_of_work
from digest.db.models import Article, SentArticle, Subscriber
from digest.services.editorial import previewing
from tests.integration.services.test_previewing import html_of, run
from tests.integration.web.test_admin_articles import post, signed_in_as, state
from tests.integration.web.test_admin_preview import AT, SLOT1, T0, editor_client, reader
from tests.integration.web.test_api import Api, api_key

GMAIL_CLIP_BYTES = 102 * 1024  # what publishers measure Gmail's clipping at
# The summary markup an editor might paste: an image with no alt, and a plain-http link.
RISKY_SUMMARY = (
    '<p>See <img src="https://img.example.org/chart.png"> and '
    '<a href="http://insecure.example.org/report">the report</a>.</p>'
)


def text_part_of(page: str) -> str:
    found = re.search(r'<pre id="text-part">(.*?)</pre>', page, re.DOTALL)
    assert found, "the page shows no plain-text part"
    return html.unescape(found.group(1))


def check_on_page(page: str, name: str) -> tuple[str, str, list[str]]:
    """(level, sentence, items) of the check ``name`` as the page's checks list shows it."""
    section = page.split('<ul class="checks" id="checks">', 1)
    assert len(section) == 2, "the page has no checks section"
    found = re.search(
        rf'<li class="check (\w+)" id="check-{name}"><strong>(\w+)</strong> ([^<]*)'
        r"(.*?)(?=<li class=\"check |</ul>\s*<h2)",
        section[1],
        re.DOTALL,
    )
    assert found, f"the page shows no {name} check"
    level, shown_level, sentence, rest = found.groups()
    assert level == shown_level
    items = [html.unescape(i) for i in re.findall(r"<li><code>([^<]*)</code></li>", rest)]
    return level, html.unescape(sentence.strip()), items


def service_preview(mail_settings, sub: int, at: datetime) -> previewing.Preview:  # type: ignore[no-untyped-def]
    with unit_of_work(mail_settings.database_url) as s:
        return previewing.preview_subscriber(s, mail_settings, sub, at)


def next_local_slot(moment: datetime, tz: str, hour: int) -> datetime:
    """The first ``hour``:00 in zone ``tz`` at or after ``moment``, worked out by hand
    (for a zone without daylight-saving time)."""
    zone = ZoneInfo(tz)
    today: date = moment.astimezone(zone).date()
    for days in range(3):
        slot = datetime.combine(today + timedelta(days=days), time(hour), tzinfo=zone)
        if slot.astimezone(UTC) >= moment:
            return slot.astimezone(UTC)
    raise AssertionError("no slot within three days")


def test_the_page_shows_the_plain_text_part_the_service_previews(  # type: ignore[no-untyped-def]
    world, mail_settings, db_url
) -> None:
    sub = reader(world)
    client = editor_client(mail_settings, db_url)
    page = client.get("/admin/preview", params={"subscriber": sub, "at": AT})
    assert page.status_code == 200
    shown = text_part_of(page.text)

    expected = service_preview(mail_settings, sub, T0)
    assert expected.slot_at == SLOT1 and expected.email is not None
    assert shown == expected.email.text
    assert re.findall(r"^Story (\w+)$", shown, re.MULTILINE) == ["chips", "ports"]
    assert "Story old" not in shown  # outside the window
    assert "You get this email because you follow Tech and Trade." in shown
    assert "Sent to ana@example.org" in shown
    # The very text part of the message the page offers as .eml.
    eml = client.get(f"/admin/preview/message.eml?subscriber={sub}&at={AT}")
    message = message_from_bytes(eml.content, policy=policy.default)
    plain = message.get_body(("plain",))
    assert plain is not None
    assert plain.get_content().replace("\r\n", "\n").strip() == shown.strip()


def test_a_digest_past_gmails_clipping_limit_shows_the_error_on_the_page(  # type: ignore[no-untyped-def]
    world, mail_settings, db_url
) -> None:
    world.topics("tech")
    sub = world.subscriber("ana@example.org", "tech", T0)
    ids = [world.article(f"long{i}", SLOT1 - timedelta(hours=i + 1), ["tech"]) for i in range(10)]
    client = editor_client(mail_settings, db_url)

    small = client.get("/admin/preview", params={"subscriber": sub, "at": AT}).text
    level, sentence, _ = check_on_page(small, "size")
    assert level == "ok" and "Gmail clips at 102 KB" in sentence

    padding = "<p>" + "Plenty of words in a very long summary. " * 230 + "</p>"  # ~9.4 KB
    with unit_of_work(db_url) as s:
        s.execute(update(Article).where(Article.id.in_(ids)).values(summary=padding))
    page = client.get("/admin/preview", params={"subscriber": sub, "at": AT})
    assert page.status_code == 200
    level, sentence, _ = check_on_page(page.text, "size")
    expected = service_preview(mail_settings, sub, T0)
    assert expected.encoded_html_bytes > GMAIL_CLIP_BYTES
    kb = expected.encoded_html_bytes / 1024
    assert level == "error"
    assert sentence == (
        f"The HTML part is {kb:.1f} KB encoded, over Gmail's 102 KB: "
        "Gmail will clip it and hide the rest, unsubscribe link included."
    )
    assert 'class="check error" id="check-size"' in page.text


def test_images_without_alt_and_plain_http_links_are_checked_on_the_page(  # type: ignore[no-untyped-def]
    world, mail_settings, db_url
) -> None:
    world.topics("tech")
    sub = world.subscriber("ana@example.org", "tech", T0)
    risky = world.article(
        "risky",
        SLOT1 - timedelta(hours=2),
        ["tech"],
        image_url="https://img.example.org/photo.jpg",
    )
    legacy = world.article("legacy", SLOT1 - timedelta(hours=3), ["tech"])
    with unit_of_work(db_url) as s:
        s.execute(update(Article).where(Article.id == risky).values(summary=RISKY_SUMMARY))
        # A feed that still links its stories over plain http.
        s.execute(
            update(Article).where(Article.id == legacy).values(url="http://old.example.org/legacy")
        )
    client = editor_client(mail_settings, db_url)
    page = client.get("/admin/preview", params={"subscriber": sub, "at": AT})
    assert page.status_code == 200
    expected = service_preview(mail_settings, sub, T0)
    by_name = {c.name: c for c in expected.checks}

    level, sentence, items = check_on_page(page.text, "links")
    assert level == "warning"
    assert re.fullmatch(
        r"2 of \d+ links are not absolute https URLs \(mail clients cannot resolve relative "
        r"links, and plain http is flagged by some as unsafe\)\.",
        sentence,
    ), sentence
    assert items == ["http://insecure.example.org/report", "http://old.example.org/legacy"]
    assert (level, sentence, items) == (
        by_name["links"].level,
        by_name["links"].summary,
        list(by_name["links"].items),
    )

    # The summary's image without alt never reaches the email: the summary policy
    # keeps no <img>. The one image left is the article's own, given its title as alt.
    level, sentence, items = check_on_page(page.text, "alt")
    assert (level, sentence, items) == ("ok", "The image has alt text.", [])
    assert (by_name["alt"].level, by_name["alt"].summary) == (level, sentence)
    email = client.get(f"/admin/preview/email.html?subscriber={sub}&at={AT}").text
    assert "img.example.org/chart.png" not in email
    assert re.search(r'<img [^>]*src="https://img\.example\.org/photo\.jpg"', email)
    assert 'alt="Story risky"' in email
    assert 'href="http://insecure.example.org/report"' in email


def test_without_a_moment_the_page_shows_the_subscribers_next_slot(  # type: ignore[no-untyped-def]
    world, mail_settings, db_url
) -> None:
    tz = "Asia/Kolkata"  # UTC+05:30 all year: the slot falls on a half hour in UTC
    now = datetime.now(UTC)
    hour = (now.astimezone(ZoneInfo(tz)).hour + 12) % 24  # about half a day ahead
    world.topics("tech")
    world.subscriber("ana@example.org", "tech", now, timezone=tz, hour=hour)
    # Saved again while active: the product stores the next slot.
    sub = world.subscriber("ana@example.org", "tech", now, timezone=tz, hour=hour)
    world.article("recent", now - timedelta(hours=1), ["tech"])
    with unit_of_work(db_url) as s:
        stored = s.scalars(select(Subscriber.next_slot_at).where(Subscriber.id == sub)).one()
    expected = next_local_slot(now.replace(second=0, microsecond=0), tz, hour)
    assert stored == expected
    assert expected.minute == 30 and now < expected <= now + timedelta(hours=13)

    client = editor_client(mail_settings, db_url)
    page = client.get("/admin/preview", params={"subscriber": sub})
    assert page.status_code == 200
    local = expected.astimezone(ZoneInfo(tz))
    slot = re.search(
        r'<p id="slot">Slot: <strong>([^<]+)</strong> \(<time datetime="([^"]+)"', page.text
    )
    assert slot is not None
    assert slot.groups() == (
        local.strftime("%a %d %b %Y %H:%M IST"),
        expected.strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    frame = re.search(r'<iframe id="email-frame"[^>]*src="([^"]+)"', page.text)
    assert frame is not None
    src = html.unescape(frame.group(1))
    assert re.findall(r"[?&]at=([^&]+)", src) == [expected.strftime("%Y-%m-%dT%H%%3A%M")]
    assert 'name="at" id="at" value=""' in page.text  # no moment was given
    assert "Story recent" in text_part_of(page.text)
    assert client.get(src).status_code == 200


def test_a_pin_through_the_api_and_a_hold_on_the_page_shape_the_digest_sent(  # type: ignore[no-untyped-def]
    world, mail_settings, db_url, smtp_server
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    hour = (now.hour + 6) % 24
    world.topics("tech")
    sub = world.subscriber("ana@example.org", "tech", now, hour=hour)
    slot = next_local_slot(now, "UTC", hour)
    fresh = world.article("fresh", now - timedelta(hours=1), ["tech"])
    middle = world.article("middle", now - timedelta(hours=2), ["tech"])
    held = world.article("held", now - timedelta(minutes=30), ["tech"])  # the newest
    pinned = world.article("pinned", now - timedelta(hours=5), ["tech"])  # the oldest

    until = now + timedelta(days=2)
    editor_key = Api(mail_settings, api_key(db_url, "editor"))
    answer = editor_key(
        "PATCH",
        f"/api/articles/{pinned}",
        {"pinned_until": until.isoformat().replace("+00:00", "Z")},
    )
    assert answer.status_code == 200, answer.text
    desk = signed_in_as(mail_settings, db_url, "ed@example.org", "editor")
    assert post(desk, f"/admin/articles/{held}", {"action": "hold"}).status_code == 303
    assert state(db_url, held) == (None, True, "ed@example.org")
    assert state(db_url, pinned)[:2] == (until, False)

    assert run(mail_settings, slot).sent == 1
    [sent] = smtp_server.received
    assert sent.rcpt_tos == ["ana@example.org"]
    body = html_of(sent).decode()
    linked = re.findall(r'href="https://news\.example\.org/(\w+)"', body)
    # Newest first, but the pinned (and oldest) story leads; the held one is out.
    assert linked == ["pinned", "fresh", "middle"]
    assert "Story held" not in body and "news.example.org/held" not in body
    text = sent.message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert re.findall(r"^Story (\w+)$", text, re.MULTILINE) == ["pinned", "fresh", "middle"]
    with unit_of_work(db_url) as s:
        ledger = set(
            s.scalars(select(SentArticle.article_id).where(SentArticle.subscriber_id == sub))
        )
    assert ledger == {pinned, fresh, middle}
