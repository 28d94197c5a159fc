"""The dashboard's bounce reports on a real database: bounce events per reason over the
last 30 days, and the sender-health report of the last 7 days (reports that blame our
sending), from events stored with chosen reasons and times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from digest.db.engine import unit_of_work
from digest.services.console import bounce_health
from tests.integration.services.bounce_events import add_event
from tests.integration.services.test_query_counts import counting

# 01:00 on 1 July where the operator is, 23:00 UTC on 30 June: the windows are rolling.
NOW = datetime(2026, 7, 1, 1, 0, tzinfo=timezone(timedelta(hours=2)))
DAY, SECOND = timedelta(days=1), timedelta(seconds=1)
DMARC = "dmarc-reports.example.com"
DKIM_FAIL = "dkim=fail (signature did not verify) header.d=news.example.org for ana@example.org"


def rows(found: list[dict[str, object]]) -> list[tuple[object, ...]]:
    return [(r["reason"], r["count"], r["sender_side"]) for r in found]


def test_bounce_reasons_count_the_30_days_up_to_now_most_first(db_url: str) -> None:
    for at in (NOW, NOW - 30 * DAY + SECOND, NOW - 3 * DAY):
        add_event(db_url, at, "mailbox_full")
    for at in (NOW - DAY, NOW - 2 * DAY):
        add_event(db_url, at, "auth_failure", kind="not-bounce")
        add_event(db_url, at, "user_unknown", kind="hard")
    add_event(db_url, NOW - 4 * DAY, None, kind="hard")  # stored before reasons existed
    add_event(db_url, NOW - 5 * DAY, "blocked", source="relay")
    # Outside: exactly 30 days back, earlier still, and after now.
    for at in (NOW - 30 * DAY, NOW - 45 * DAY, NOW + SECOND):
        add_event(db_url, at, "spam_detected")

    with counting(db_url) as statements, unit_of_work(db_url) as s:
        found = bounce_health.bounce_reasons(s, NOW)
    assert len([q for q in statements if q.lstrip().upper().startswith("SELECT")]) == 1
    # A tie keeps the order of the reasons' list; the unrecorded ones come last.
    assert rows(found) == [
        ("mailbox_full", 3, False),
        ("user_unknown", 2, False),
        ("auth_failure", 2, True),
        ("blocked", 1, True),
        (None, 1, False),
    ]
    assert found[0]["description"] == "the mailbox is full"
    assert found[2]["description"] == "SPF, DKIM or DMARC failed for our mail"
    assert found[-1]["description"] == "stored before bounce reasons were recorded"
    with unit_of_work(db_url) as s:
        assert rows(bounce_health.bounce_reasons(s, NOW, days=1)) == [("mailbox_full", 1, False)]
        assert bounce_health.bounce_reasons(s, NOW - 60 * DAY) == []
        with pytest.raises(ValueError, match="days must be at least 1"):
            bounce_health.bounce_reasons(s, NOW, days=0)


def test_sender_health_counts_the_reports_of_7_days_that_blame_our_sending(
    world, db_url: str
) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech")
    ana = world.subscriber("ana@example.org", "tech", NOW - 60 * DAY)
    add_event(db_url, NOW - 7 * DAY + SECOND, "blocked", kind="soft", source="relay")
    add_event(
        db_url,
        NOW - 6 * DAY,
        "auth_failure",
        kind="not-bounce",
        recipient="ana@example.org",
        subscriber_id=ana,
        diagnostic="spf=fail smtp.mailfrom=news.example.org",
        reporter=DMARC,
    )
    # The latest: a DMARC failure report that matched nobody.
    add_event(
        db_url,
        NOW - 2 * timedelta(hours=1),
        "auth_failure",
        kind="not-bounce",
        source="mailbox",
        recipient="ana@example.org",
        diagnostic=DKIM_FAIL,
        reporter=DMARC,
    )
    # Not counted: reader-side reasons (one newer than all), no reason, too old.
    add_event(db_url, NOW - timedelta(minutes=5), "mailbox_full", recipient="ana@example.org")
    add_event(db_url, NOW - DAY, None, kind="hard")
    add_event(db_url, NOW - 7 * DAY, "spam_detected")
    add_event(db_url, NOW - 9 * DAY, "rejected")

    with counting(db_url) as statements, unit_of_work(db_url) as s:
        health = bounce_health.sender_health(s, NOW)
    assert len([q for q in statements if q.lstrip().upper().startswith("SELECT")]) == 2
    assert health is not None
    assert (health["days"], health["total"]) == (7, 3)
    assert health["since"] == datetime(2026, 6, 23, 23, 0, tzinfo=UTC)
    assert rows(health["reasons"]) == [("auth_failure", 2, True), ("blocked", 1, True)]
    assert health["latest"] == {
        "received_at": datetime(2026, 6, 30, 21, 0, tzinfo=UTC),
        "reason": "auth_failure",
        "description": "SPF, DKIM or DMARC failed for our mail",
        "kind": "not-bounce",
        "source": "mailbox",
        "reporter": DMARC,
        "diagnostic": DKIM_FAIL,
        "recipient": "ana@example.org",
    }
    # For editors: who reported it and when, not what it said about a reader.
    with unit_of_work(db_url) as s:
        hidden = bounce_health.sender_health(s, NOW, personal=False)
    assert hidden is not None
    assert hidden["latest"]["reporter"] == DMARC
    assert (hidden["latest"]["diagnostic"], hidden["latest"]["recipient"]) == (None, None)
    assert hidden["total"] == 3


def test_no_sender_health_for_reader_side_reports_or_sender_reports_over_7_days_old(
    db_url: str,
) -> None:
    for reason in ("user_unknown", "mailbox_full", "vacation", "feedback", "undetermined"):
        add_event(db_url, NOW - timedelta(hours=1), reason)
    add_event(db_url, NOW - DAY, None)
    add_event(db_url, NOW - 7 * DAY, "auth_failure", kind="not-bounce")
    add_event(db_url, NOW - 20 * DAY, "blocked", source="relay")
    with unit_of_work(db_url) as s:
        assert bounce_health.sender_health(s, NOW) is None
        # The same reports are in the 30 days' table, marked.
        sender_side = {
            r["reason"] for r in bounce_health.bounce_reasons(s, NOW) if r["sender_side"]
        }
        assert sender_side == {"auth_failure", "blocked"}
        # A longer window holds them both.
        later = bounce_health.sender_health(s, NOW, days=21)
        assert later is not None and rows(later["reasons"]) == [
            ("blocked", 1, True),
            ("auth_failure", 1, True),
        ]
