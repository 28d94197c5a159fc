"""Editorial control: pinning an article until a moment and holding one out of every
digest, through the service every front end calls, and honoured by the pipeline
against a real database and SMTP server."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from digest.db.engine import unit_of_work
from digest.db.models import Article
from digest.mail.sender import SMTPSender
from digest.services import console, editorial
from digest.services.sending import pipeline

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)  # the subscriber joins at noon
SLOT1 = datetime(2026, 6, 2, 7, 0, tzinfo=UTC)  # their first 07:00 UTC slot
SLOT2 = SLOT1 + timedelta(days=1)
EDITOR = "ed@example.org"


def run(mail_settings, at: datetime) -> pipeline.RunReport:  # type: ignore[no-untyped-def]
    sender = SMTPSender.from_url(mail_settings.smtp_url)
    return pipeline.run(mail_settings.database_url, mail_settings, sender, lambda: at)


def order(received) -> list[str]:  # type: ignore[no-untyped-def]
    """The articles of a digest, in the order its HTML part shows them."""
    html = received.message.get_body(("html",)).get_content()
    found = re.findall(r'href="https://news\.example\.org/([a-z0-9-]+)"', html)
    return list(dict.fromkeys(found))


def stored(db_url: str, article_id: int) -> Article:
    with unit_of_work(db_url) as s:
        article = s.get(Article, article_id)
        assert article is not None
        s.expunge(article)
        return article


def test_pin_and_hold_are_recorded_with_who_and_when_and_are_idempotent(world, db_url) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech")
    a = world.article("a", T0, ["tech"])
    until = T0 + timedelta(days=2)
    with unit_of_work(db_url) as s:
        row = editorial.pin_article(s, a, until, EDITOR, T0)
    assert (row.pinned_until, row.held, row.edited_by, row.edited_at) == (until, False, EDITOR, T0)

    # The same pin again, by someone else, changes nothing: the first editor stays.
    with unit_of_work(db_url) as s:
        again = editorial.pin_article(s, a, until, "other@example.org", T0 + timedelta(hours=1))
    assert (again.edited_by, again.edited_at) == (EDITOR, T0)

    later = T0 + timedelta(hours=2)
    with unit_of_work(db_url) as s:
        held = editorial.hold_article(s, a, "other@example.org", later)
        editorial.hold_article(s, a, "other@example.org", later + timedelta(hours=1))
    assert (held.held, held.pinned_until, held.edited_by) == (True, until, "other@example.org")
    article = stored(db_url, a)
    assert (article.held, article.edited_at) == (True, later)

    with unit_of_work(db_url) as s:
        editorial.unpin_article(s, a, EDITOR, later)
        editorial.unpin_article(s, a, EDITOR, later)
        released = editorial.release_article(s, a, EDITOR, later)
    assert (released.pinned_until, released.held, released.edited_by) == (None, False, EDITOR)
    article = stored(db_url, a)
    assert (article.pinned_until, article.held) == (None, False)


def test_a_pin_must_end_in_the_future_and_unknown_articles_are_not_found(world, db_url) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech")
    a = world.article("a", T0, ["tech"])
    for until in (T0, T0 - timedelta(seconds=1), datetime(1, 1, 1, tzinfo=UTC)):
        with unit_of_work(db_url) as s, pytest.raises(console.ManagementError) as refused:
            editorial.pin_article(s, a, until, EDITOR, T0)
        assert refused.value.field == "pinned_until"
        assert "later than now" in str(refused.value)
    # Moved to UTC, this time is past the year 9999.
    last = datetime(9999, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=-5)))
    with unit_of_work(db_url) as s, pytest.raises(console.ManagementError) as refused:
        editorial.pin_article(s, a, last, EDITOR, T0)
    assert refused.value.problems == [(("pinned_until",), "is out of range")]
    for missing in (a + 1, 0, -1, console.MAX_ID + 1):
        with unit_of_work(db_url) as s, pytest.raises(console.NotFound):
            editorial.hold_article(s, missing, EDITOR, T0)
    assert stored(db_url, a).pinned_until is None and stored(db_url, a).edited_by is None

    # A time without an offset is UTC; one with an offset is moved to UTC.
    with unit_of_work(db_url) as s:
        naive = editorial.pin_article(s, a, datetime(2026, 6, 5, 9, 30), EDITOR, T0)
        assert naive.pinned_until == datetime(2026, 6, 5, 9, 30, tzinfo=UTC)
        paris = datetime(2026, 6, 5, 9, 30, tzinfo=timezone(timedelta(hours=2)))
        assert editorial.pin_article(s, a, paris, EDITOR, T0).pinned_until == datetime(
            2026, 6, 5, 7, 30, tzinfo=UTC
        )


def test_form_times_are_read_as_utc_and_nonsense_names_the_field() -> None:
    assert editorial.moment_of("pinned_until", " 2026-06-08T07:00 ") == datetime(
        2026, 6, 8, 7, 0, tzinfo=UTC
    )
    assert editorial.moment_of("pinned_until", "2026-06-08") == datetime(2026, 6, 8, tzinfo=UTC)
    assert editorial.moment_of("pinned_until", "2026-06-08T09:00+02:00") == datetime(
        2026, 6, 8, 7, 0, tzinfo=UTC
    )
    for bad, words in (("next week", "not a date and time"), ("", "is empty")):
        with pytest.raises(console.ManagementError) as refused:
            editorial.moment_of("pinned_until", bad)
        assert refused.value.field == "pinned_until" and words in str(refused.value)


def test_the_list_filters_pinned_held_topic_and_title(world, db_url) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech", "world")
    old_pin = world.article("old-pin", T0, ["tech"])
    pinned = world.article("pinned", T0, ["tech"])
    held = world.article("held", T0, ["world"])
    plain = world.article("plain", T0, ["world"])
    with unit_of_work(db_url) as s:
        editorial.pin_article(s, old_pin, T0 + timedelta(hours=1), EDITOR, T0)
        editorial.pin_article(s, pinned, T0 + timedelta(days=3), EDITOR, T0)
        editorial.hold_article(s, held, EDITOR, T0)
    now = T0 + timedelta(days=1)

    def ids(**filters: object) -> list[int]:
        with unit_of_work(db_url) as s:
            return [r.id for r in editorial.list_articles(s, **filters).items]  # type: ignore[arg-type]

    assert ids() == [plain, held, pinned, old_pin]
    assert ids(pinned_after=now) == [pinned]  # the pin that ended no longer counts
    assert ids(held=True) == [held]
    assert ids(topic="world") == [plain, held]
    assert ids(fragment="STORY P") == [plain, pinned]
    assert ids(fragment="100%_") == [] and ids(topic="Not a slug!") == []
    with unit_of_work(db_url) as s:
        row = editorial.list_articles(s, held=True).items[0]
    assert (row.held, row.edited_by, row.edited_at, row.topics) == (True, EDITOR, T0, ["world"])
    with unit_of_work(db_url) as s, pytest.raises(console.ManagementError) as refused:
        editorial.list_articles(s, fragment="a\x00b")
    assert refused.value.field == "fragment"


def test_the_digest_puts_a_pinned_older_article_first_and_leaves_a_held_one_out(
    world, mail_settings, db_url, smtp_server
) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech")
    older = world.article("older", T0 + timedelta(hours=1), ["tech"])
    world.article("newer", T0 + timedelta(hours=5), ["tech"])
    world.article("newest", T0 + timedelta(hours=10), ["tech"])
    held = world.article("held", T0 + timedelta(hours=8), ["tech"])
    world.subscriber("a@example.org", "tech", T0)
    with unit_of_work(db_url) as s:
        editorial.pin_article(s, older, SLOT1 + timedelta(minutes=1), EDITOR, T0)
        editorial.hold_article(s, held, EDITOR, T0)

    assert run(mail_settings, SLOT1).sent == 1
    assert order(smtp_server.received[0]) == ["older", "newest", "newer"]

    # A hold placed between two slots keeps a new article out of the next digest.
    world.article("late", SLOT1 + timedelta(hours=2), ["tech"])
    late_held = world.article("late-held", SLOT1 + timedelta(hours=3), ["tech"])
    with unit_of_work(db_url) as s:
        editorial.hold_article(s, late_held, EDITOR, SLOT1)
    assert run(mail_settings, SLOT2).sent == 1
    assert order(smtp_server.received[1]) == ["late"]


def test_a_pin_that_ends_by_the_slot_no_longer_counts(
    world, mail_settings, db_url, smtp_server
) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech")
    ended = world.article("ended", T0 + timedelta(hours=1), ["tech"])
    world.article("newest", T0 + timedelta(hours=10), ["tech"])
    world.subscriber("a@example.org", "tech", T0)
    with unit_of_work(db_url) as s:
        # A pin counts while it lasts past the digest's window end (the slot).
        editorial.pin_article(s, ended, SLOT1, EDITOR, T0)
    assert run(mail_settings, SLOT1).sent == 1
    assert order(smtp_server.received[0]) == ["newest", "ended"]


def test_a_release_brings_back_only_an_article_still_new_for_the_next_digest(
    world, mail_settings, db_url, smtp_server
) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech")
    held = world.article("held", T0 + timedelta(hours=1), ["tech"])
    world.article("other", T0 + timedelta(hours=2), ["tech"])
    world.subscriber("a@example.org", "tech", T0)
    with unit_of_work(db_url) as s:
        editorial.hold_article(s, held, EDITOR, T0)
    assert run(mail_settings, SLOT1).sent == 1
    assert order(smtp_server.received[0]) == ["other"]
    with unit_of_work(db_url) as s:
        editorial.release_article(s, held, EDITOR, SLOT1)
        assert s.scalars(select(Article.held).where(Article.id == held)).one() is False
    # Published before the last digest's window closed, it is no longer new: what a
    # hold kept out of a digest already sent stays out.
    report = run(mail_settings, SLOT2)
    assert (report.sent, report.skipped) == (0, 1)

    # Held and released again before its slot, an article goes out as usual.
    again = world.article("again", SLOT2 + timedelta(hours=1), ["tech"])
    with unit_of_work(db_url) as s:
        editorial.hold_article(s, again, EDITOR, SLOT2 + timedelta(hours=2))
        editorial.release_article(s, again, EDITOR, SLOT2 + timedelta(hours=3))
    assert run(mail_settings, SLOT2 + timedelta(days=1)).sent == 1
    assert order(smtp_server.received[1]) == ["again"]
