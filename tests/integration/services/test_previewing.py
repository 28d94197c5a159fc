"""The editor's preview against a real database and a real SMTP server: the email it
shows is the one the slot's send delivers, and every article near the window gets the
reason it is in or out."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update

from digest.db.engine import unit_of_work
from digest.db.models import Article, Delivery, DeliveryAttempt, Digest, SentArticle
from digest.domain import selection as codes
from digest.mail.sender import SMTPSender
from digest.services.editorial import copies, previewing
from digest.services.editorial.previewing import Preview
from digest.services.editorial.reasons import (
    AFTER_BUILD,
    DUPLICATE,
    INCLUDED,
    NEARBY_SHOWN,
    OUT_SHOWN,
)
from digest.services.sending import pipeline, planning
from tests.conftest import as_previewed, message_parts

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)  # subscribers join at noon
SLOT1 = datetime(2026, 6, 2, 7, 0, tzinfo=UTC)  # their first 07:00 UTC slot
SLOT2 = SLOT1 + timedelta(days=1)


def run(settings, at: datetime) -> pipeline.RunReport:  # type: ignore[no-untyped-def]
    sender = SMTPSender.from_url(settings.smtp_url)
    return pipeline.run(settings.database_url, settings, sender, lambda: at)


def preview(settings, email: str, now: datetime) -> Preview:  # type: ignore[no-untyped-def]
    return previewing.preview_next(settings.database_url, settings, email, now)


def html_of(received) -> bytes:  # type: ignore[no-untyped-def]
    """The HTML part as the server received it, transfer encoding undone."""
    return bytes(received.message.get_body(("html",)).get_payload(decode=True))


def rows(db_url: str) -> dict[str, int]:
    with unit_of_work(db_url) as s:
        return {
            m.__name__: int(s.scalar(select(func.count()).select_from(m)) or 0)
            for m in (Digest, Delivery, DeliveryAttempt, SentArticle)
        }


def reasons(result: Preview, topic: str) -> dict[str, tuple[str, str]]:
    """Article title -> (code, sentence) under the topic named ``topic``."""
    [found] = [t for t in result.topics if t.name == topic]
    return {a.title: (a.code, a.reason) for a in found.articles}


def test_the_previewed_email_is_the_one_the_slot_sends(  # type: ignore[no-untyped-def]
    world, mail_settings, db_url, smtp_server
) -> None:
    world.topics("tech", "trade")
    world.subscriber("ana@example.org", "tech,trade", T0, timezone="Europe/Brussels", hour=9)
    world.article("chips", SLOT1 - timedelta(hours=3), ["tech"])
    world.article("tariffs", SLOT1 - timedelta(hours=5), ["trade", "tech"])
    world.article("ports", SLOT1 - timedelta(hours=8), ["trade"])

    first = preview(mail_settings, "ana@example.org", T0)
    assert first.slot_at == SLOT1  # 09:00 in Brussels (CEST)
    assert first.message is not None and first.email is not None
    assert run(mail_settings, SLOT1).sent == 1
    [sent] = smtp_server.received
    assert as_previewed(html_of(sent)) == first.html_part
    assert first.html_part == first.email.html.replace("\n", "\r\n").encode()
    # The whole message, once the Message-ID, the Date, the boundary and the reader's
    # signed links (a preview's lead nowhere) are set aside.
    assert message_parts(sent.data) == message_parts(first.message)

    # The next slot, whose window starts where the first one ended.
    world.article("memory", SLOT1 + timedelta(hours=2), ["tech"])
    world.article("shipping", SLOT1 + timedelta(hours=4), ["trade"])
    second = preview(mail_settings, "ana@example.org", SLOT1 + timedelta(minutes=5))
    assert second.slot_at == SLOT2
    assert second.email is not None
    assert run(mail_settings, SLOT2).sent == 1
    later = smtp_server.received[1]
    assert as_previewed(html_of(later)) == second.html_part
    assert [t for t in re.findall(r"Story (\w+)", second.email.text)] == ["memory", "shipping"]


def test_the_preview_of_a_slot_due_now_is_that_slot(  # type: ignore[no-untyped-def]
    world, mail_settings, db_url, smtp_server
) -> None:
    world.topics("tech")
    world.subscriber("ana@example.org", "tech", T0)
    world.article("chips", SLOT1 - timedelta(hours=3), ["tech"])
    assert preview(mail_settings, "ana@example.org", SLOT1).slot_at == SLOT1
    # Five minutes past the slot, nothing sent yet: that slot is still the one a send
    # at this moment makes (as `digest run --now` would), not tomorrow's.
    late = SLOT1 + timedelta(minutes=5)
    due_now = preview(mail_settings, "ana@example.org", late)
    assert due_now.slot_at == SLOT1 and due_now.email is not None
    assert run(mail_settings, late).sent == 1
    assert as_previewed(html_of(smtp_server.received[-1])) == due_now.html_part
    # Sent: the next slot is the one to preview.
    assert preview(mail_settings, "ana@example.org", late).slot_at == SLOT2
    # Planned by a tick but not sent yet: still that slot.
    world.article("ports", SLOT2 - timedelta(hours=1), ["tech"])
    assert planning.plan(db_url, mail_settings, SLOT2 + timedelta(minutes=1)).digest_ids
    waiting = preview(mail_settings, "ana@example.org", SLOT2 + timedelta(minutes=2))
    assert waiting.slot_at == SLOT2 and waiting.status == "planned"


def test_a_slot_past_the_catch_up_bound_is_not_previewed_since_it_is_never_sent(  # type: ignore[no-untyped-def]
    world, mail_settings, db_url
) -> None:
    world.topics("tech")
    world.subscriber("ana@example.org", "tech", T0)
    world.article("chips", SLOT1 - timedelta(hours=3), ["tech"])
    too_late = SLOT1 + mail_settings.catch_up + timedelta(minutes=1)
    assert preview(mail_settings, "ana@example.org", too_late).slot_at == SLOT2
    assert run(mail_settings, too_late).sent == 0  # the missed slot is not sent


def test_every_reason_for_an_article_to_be_in_or_out(  # type: ignore[no-untyped-def]
    world, mail_settings, db_url, smtp_server
) -> None:
    world.topics("tech", "trade")
    world.subscriber("ana@example.org", "tech,trade", T0)
    resent = world.article("resent", SLOT1 - timedelta(hours=2), ["tech"])
    assert run(mail_settings, SLOT1).sent == 1
    # The publisher re-dates an article already sent: it falls in the next window.
    with unit_of_work(db_url) as s:
        s.execute(
            update(Article)
            .where(Article.id == resent)
            .values(published_at=SLOT1 + timedelta(hours=1))
        )
    editor_at = SLOT1 + timedelta(hours=3)
    world.article(
        "held",
        SLOT1 + timedelta(hours=6),
        ["tech"],
        held=True,
        edited_by="ed@example.org",
        edited_at=editor_at,
    )
    world.article("both", SLOT1 + timedelta(hours=10), ["tech", "trade"])
    world.article("newest", SLOT1 + timedelta(hours=9), ["tech"])
    world.article("newer", SLOT1 + timedelta(hours=8), ["tech"])  # third: over the cap of 2
    world.article("early", SLOT1 - timedelta(hours=6), ["tech"])  # before the window
    world.article("future", SLOT2 + timedelta(hours=2), ["trade"])  # after it
    capped = dataclasses.replace(mail_settings, max_articles_per_topic=2)

    result = preview(capped, "ana@example.org", SLOT1 + timedelta(minutes=1))
    tech, trade = reasons(result, "Tech"), reasons(result, "Trade")
    assert tech["Story both"] == (INCLUDED, "Included, #1 in the email.")
    assert tech["Story newest"] == (INCLUDED, "Included, #2 in the email.")
    assert trade["Story both"] == (DUPLICATE, "Duplicate: this article is shown under Tech.")
    assert tech["Story newer"] == (
        codes.OVER_TOPIC_CAP,
        "Over the cap: 2 articles per topic are shown.",
    )
    assert tech["Story held"] == (
        codes.HELD,
        "Held out of all digests by ed@example.org on Tue 02 Jun 2026 10:00 UTC.",
    )
    assert tech["Story resent"] == (
        codes.ALREADY_SENT,
        "Already sent to this reader on Tue 02 Jun 2026 07:00 UTC.",
    )
    assert tech["Story early"] == (
        codes.BEFORE_WINDOW,
        "Outside the window: published Tue 02 Jun 2026 01:00 UTC, before the window opens "
        "at Tue 02 Jun 2026 07:00 UTC.",
    )
    assert trade["Story future"] == (
        codes.AFTER_WINDOW,
        "Outside the window: published Wed 03 Jun 2026 09:00 UTC, after this digest's "
        "window closes at Wed 03 Jun 2026 07:00 UTC.",
    )
    # The email holds exactly the included ones, in rank order.
    assert result.email is not None
    assert re.findall(r"Story (\w+)", result.email.text) == ["both", "newest"]


def test_over_the_cap_per_email(world, mail_settings, db_url) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech", "trade")
    world.subscriber("ana@example.org", "tech,trade", T0)
    world.article("a", SLOT1 - timedelta(hours=1), ["tech"])
    world.article("b", SLOT1 - timedelta(hours=2), ["trade"])
    world.article("c", SLOT1 - timedelta(hours=3), ["trade"])
    small = dataclasses.replace(mail_settings, max_articles_total=2)
    result = preview(small, "ana@example.org", T0)
    code, text = reasons(result, "Trade")["Story c"]
    assert code == codes.OVER_TOTAL_CAP
    assert text == "Over the cap: 2 articles per email are shown."


def test_a_pin_moves_an_article_first_and_a_hold_takes_it_out(  # type: ignore[no-untyped-def]
    world, mail_settings, db_url, smtp_server
) -> None:
    world.topics("tech")
    world.subscriber("ana@example.org", "tech", T0)
    world.article("fresh", SLOT1 - timedelta(hours=1), ["tech"])
    world.article("pinned", SLOT1 - timedelta(hours=20), ["tech"], pinned_until=SLOT2)
    world.article("held", SLOT1 - timedelta(hours=2), ["tech"], held=True)

    result = preview(mail_settings, "ana@example.org", T0)
    tech = reasons(result, "Tech")
    assert tech["Story pinned"] == (
        INCLUDED,
        "Included, #1 in the email, pinned until Wed 03 Jun 2026 07:00 UTC.",
    )
    assert tech["Story fresh"][1] == "Included, #2 in the email."
    assert tech["Story held"][0] == codes.HELD
    assert run(mail_settings, SLOT1).sent == 1
    [sent] = smtp_server.received
    text = sent.message.get_body(("plain",)).get_content()
    assert re.findall(r"Story (\w+)", text) == ["pinned", "fresh"]


def test_nothing_new_gives_no_email_but_still_the_reasons(world, mail_settings, db_url) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech")
    world.subscriber("ana@example.org", "tech", T0)
    world.article("held", SLOT1 - timedelta(hours=2), ["tech"], held=True)
    result = preview(mail_settings, "ana@example.org", T0)
    assert result.email is None and result.message is None
    assert reasons(result, "Tech")["Story held"][0] == codes.HELD


def test_a_padded_digest_is_flagged_before_and_past_gmails_clipping(  # type: ignore[no-untyped-def]
    world, mail_settings, db_url
) -> None:
    world.topics("tech")
    world.subscriber("ana@example.org", "tech", T0)
    padding = "<p>" + "Plenty of words in a very long summary. " * 230 + "</p>"  # ~9.4 KB
    ids = [world.article(f"long{i}", SLOT1 - timedelta(hours=i + 1), ["tech"]) for i in range(10)]
    with unit_of_work(db_url) as s:
        s.execute(update(Article).where(Article.id.in_(ids)).values(summary=padding))
    result = preview(mail_settings, "ana@example.org", T0)
    [size] = [c for c in result.checks if c.name == "size"]
    assert result.encoded_html_bytes > 102 * 1024
    assert size.level == "error" and "Gmail will clip it" in size.summary

    fewer = dataclasses.replace(mail_settings, max_articles_per_topic=9)
    result = preview(fewer, "ana@example.org", T0)
    [size] = [c for c in result.checks if c.name == "size"]
    assert 90 * 1024 < result.encoded_html_bytes <= 102 * 1024
    assert size.level == "warning" and "close to Gmail's 102 KB" in size.summary


def test_a_test_copy_arrives_marked_and_nothing_is_recorded(  # type: ignore[no-untyped-def]
    world, mail_settings, db_url, smtp_server
) -> None:
    world.topics("tech")
    world.subscriber("ana@example.org", "tech", T0)
    world.article("chips", SLOT1 - timedelta(hours=3), ["tech"])
    before = rows(db_url)
    result = preview(mail_settings, "ana@example.org", T0)
    assert result.email is not None
    sender = SMTPSender.from_url(mail_settings.smtp_url)
    reply = copies.send_test(result, mail_settings, sender, "Editor@Example.org", T0)
    assert reply.code == 250
    [copy] = smtp_server.received
    assert copy.rcpt_tos == ["editor@example.org"]
    assert copy.message["Subject"] == "[TEST] " + result.email.subject
    assert copy.message["List-Unsubscribe"] is None
    # The reader's signed links stay with the reader: the copy's lead nowhere.
    html = html_of(copy).decode()
    assert "https://news.example.org/digest/unsubscribe/preview" in html
    assert as_previewed(html.encode()) == html.encode()
    assert "Story chips" in html
    assert rows(db_url) == before
    # The reader's own digest still goes out at the slot.
    assert run(mail_settings, SLOT1).sent == 1


def test_a_preview_of_topics_without_a_subscriber(world, mail_settings, db_url) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech", "trade")
    world.article("chips", SLOT1 - timedelta(hours=3), ["tech"])
    world.article("ports", SLOT1 - timedelta(days=3), ["trade"])
    with unit_of_work(db_url) as s:
        result = previewing.preview_topics(
            s, mail_settings, {"tech": "daily", "trade": "weekly"}, SLOT1, "Europe/Brussels"
        )
    assert result.subscriber_id is None
    assert result.email is not None
    assert "You get this email because you follow Tech and Trade." in result.email.text
    assert re.findall(r"Story (\w+)", result.email.text) == ["chips", "ports"]
    assert [t.frequency for t in result.topics] == ["daily", "weekly"]
    assert rows(db_url)["Digest"] == 0


def test_unknown_subscriber_or_topic_is_a_clear_error(world, mail_settings, db_url) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech")
    for call, message in (
        (lambda s: previewing.preview_subscriber(s, mail_settings, 999, T0), "no subscriber"),
        (
            lambda s: previewing.preview_topics(s, mail_settings, {"nope": "daily"}, T0),
            "no topic with slug nope",
        ),
        (lambda s: previewing.preview_topics(s, mail_settings, {}, T0), "choose at least one"),
    ):
        with unit_of_work(db_url) as s:
            try:
                call(s)
            except previewing.PreviewError as exc:
                assert message in str(exc)
            else:
                raise AssertionError(f"no error for {message}")


def test_a_slot_already_planned_or_sent_previews_that_digest(  # type: ignore[no-untyped-def]
    world, mail_settings, db_url, smtp_server
) -> None:
    world.topics("tech")
    world.subscriber("ana@example.org", "tech", T0)
    world.article("chips", SLOT1 - timedelta(hours=3), ["tech"])
    world.article("ports", SLOT1 - timedelta(hours=4), ["tech"])
    ids = planning.plan(db_url, mail_settings, SLOT1).digest_ids
    planned = preview(mail_settings, "ana@example.org", SLOT1)
    assert planned.status == "planned" and planned.email is not None
    sender = SMTPSender.from_url(mail_settings.smtp_url)
    done = pipeline.build_and_send(db_url, ids, mail_settings, sender, lambda: SLOT1)
    assert done.sent == 1
    [sent] = smtp_server.received
    assert as_previewed(html_of(sent)) == planned.html_part
    # Afterwards the same slot shows what went out, not "already sent" everywhere.
    again = preview(mail_settings, "ana@example.org", SLOT1)
    assert again.status == "sent"
    assert again.html_part == planned.html_part
    assert {a.code for a in again.topics[0].articles} == {INCLUDED}


def test_a_built_digest_keeps_its_articles_and_later_ones_are_explained(  # type: ignore[no-untyped-def]
    world, mail_settings, db_url, smtp_server
) -> None:
    world.topics("tech")
    world.subscriber("ana@example.org", "tech", T0)
    chips = world.article("chips", SLOT1 - timedelta(hours=3), ["tech"])
    assert run(mail_settings, SLOT1).sent == 1
    # After the send: a late article inside that window, and the sent one held.
    world.article("late", SLOT1 - timedelta(hours=2), ["tech"])
    with unit_of_work(db_url) as s:
        s.execute(update(Article).where(Article.id == chips).values(held=True))
    result = preview(mail_settings, "ana@example.org", SLOT1)
    tech = reasons(result, "Tech")
    assert tech["Story chips"] == (INCLUDED, "Included, #1 in the email (as built).")
    assert tech["Story late"] == (
        AFTER_BUILD,
        "Not in this digest: it came in or changed after the digest was built.",
    )
    assert result.html_part == as_previewed(html_of(smtp_server.received[0]))


def test_a_busy_topic_lists_a_bounded_number_of_articles(world, mail_settings, db_url) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech")
    world.subscriber("ana@example.org", "tech", T0)
    for i in range(60):
        world.article(f"n{i}", SLOT1 - timedelta(minutes=10 * i + 5), ["tech"])
    for i in range(15):
        world.article(f"early{i}", SLOT1 - timedelta(hours=25 + i), ["tech"])
    result = preview(
        dataclasses.replace(mail_settings, max_articles_per_topic=5), "ana@example.org", T0
    )
    [tech] = result.topics
    codes_shown = [a.code for a in tech.articles]
    assert codes_shown.count(INCLUDED) == 5
    assert codes_shown.count(codes.OVER_TOPIC_CAP) == OUT_SHOWN
    assert codes_shown.count(codes.BEFORE_WINDOW) == NEARBY_SHOWN
    assert tech.more == (55 - OUT_SHOWN) + (15 - NEARBY_SHOWN)


def test_a_moment_out_of_range_is_a_clear_error(world, mail_settings, db_url) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech")
    world.subscriber("ana@example.org", "tech", T0)
    for moment in (datetime(9999, 12, 31, 23, 59, tzinfo=UTC), datetime(1, 1, 1, tzinfo=UTC)):
        for call in (
            lambda s, m=moment: previewing.preview_subscriber(s, mail_settings, 1, m),
            lambda s, m=moment: previewing.preview_topics(s, mail_settings, {"tech": "weekly"}, m),
        ):
            with unit_of_work(db_url) as s:
                try:
                    call(s)
                except previewing.PreviewError as exc:
                    assert str(exc) == "at: the moment is out of range"
                else:
                    raise AssertionError(f"no error at {moment}")
