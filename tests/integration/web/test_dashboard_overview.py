"""The dashboard's "is everything fine?": the figures it shows are the database's
(readers and their growth, today against the last 7 days, complaint and bounce rates
against the providers' limits), the alerts follow from them, and a new installation
is told its next step instead."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import func, select

from digest.db.engine import unit_of_work
from digest.db.models import BounceEvent, Feed, Subscriber
from tests.integration.web.test_audit_log import signed_in
from tests.integration.web.test_dashboard import Seeder


def tile(html: str, name: str) -> tuple[str, str, str]:
    """A tile's figure and the line under it, and its class."""
    found = re.search(
        rf'<li id="tile-{name}"(?: class="([^"]*)")?><span class="tile-label">[^<]*</span>'
        r'<span class="tile-n">([^<]*)</span><span class="tile-sub">([^<]*)</span>',
        html,
    )
    assert found, html[:3000]
    return found.group(2), found.group(3), found.group(1) or ""


def test_the_figures_are_the_databases_and_the_alerts_follow(mail_settings, db_url, world) -> None:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    today = datetime.combine(now.date(), time(), UTC)
    world.topics("tech")
    seeder = Seeder(db_url, world, today - timedelta(days=60))  # its readers are old
    for _ in range(5):  # today: five digests sent
        seeder.delivery("sent", today, sent_at=today + timedelta(seconds=1))
    for back in range(1, 8):  # the 7 days before: two a day, one deferred on each
        day = today - timedelta(days=back, hours=-9)
        seeder.delivery("sent", day, sent_at=day)
        seeder.delivery("sent", day, sent_at=day, attempts=[(day, "deferred", "451 4.3.0 later")])
    # Readers: three joined today (two confirmed), one left two days ago.
    for n in range(3):
        sid = world.subscriber(f"new{n}@example.org", "tech", today + timedelta(seconds=n))
        if n == 2:
            with unit_of_work(db_url) as s:
                sub = s.get(Subscriber, sid)
                sub.status, sub.confirmed_at = "pending", None  # type: ignore[union-attr]
    gone = world.subscriber("gone@example.org", "tech", today - timedelta(days=20))
    with unit_of_work(db_url) as s:
        sub = s.get(Subscriber, gone)
        sub.status, sub.unsubscribed_at = "unsubscribed", today - timedelta(days=2)  # type: ignore[union-attr]
        s.add(
            BounceEvent(
                fingerprint="complaint-1",
                received_at=today + timedelta(seconds=5),
                source="mailbox",
                kind="complaint",
                how="arf",
                matched_by="none",
                outcome="unsubscribed and suppressed",
            )
        )
        s.add(  # a mail client's one-click unsubscribe: not a complaint
            BounceEvent(
                fingerprint="unsubscribe-1",
                received_at=today + timedelta(seconds=6),
                source="mailbox",
                kind="complaint",
                how="arf",
                reporter="unsubscribe",
                matched_by="none",
                outcome="unsubscribed",
            )
        )
        s.add(
            Feed(
                url="https://feeds.example.org/down.xml",
                error_count=4,
                last_error="HTTP 503",
                last_fetched_at=today,
            )
        )
        active = s.scalar(select(func.count()).where(Subscriber.status == "active"))

    ops = signed_in(mail_settings, db_url, "ops@example.org", "operator")
    html = ops.get("/admin").text

    assert tile(html, "active")[0] == f"{active:,}" and active == 5 + 14 + 2
    assert tile(html, "active")[1] == "+1 in 7 days: 3 new, 2 confirmed, 1 left"
    assert tile(html, "sent")[:2] == ("5", "2.0 a day over the 7 days before")
    assert tile(html, "deferred")[:2] == ("0", "1.0 a day over the 7 days before")
    # One complaint over the 5 + 6 × 2 digests sent in the last 7 days: above 0.3 %.
    assert tile(html, "complaints") == ("5.88 %", "Gmail's limit 0.30 %, target 0.10 %", "over")
    assert tile(html, "bounces")[0] == "0.00 %"
    assert tile(html, "feeds")[:2] == ("1", "1 failing")
    alerts = html.split('<ul class="alerts" id="alerts">')[1].split("</ul>")[0]
    assert "Complaint rate 5.88 % over the last 7 days" in alerts and "alert-serious" in alerts
    assert "Feed https://feeds.example.org/down.xml failed 4 times in a row: HTTP 503" in alerts
    assert 'id="all-fine"' not in html and 'id="first-steps"' not in html
    growth = html.split('id="growth-table"')[1].split("</tbody>")[0]
    row = f'<th scope="row">{today.date()}</th>'
    assert row + '<td class="n">3</td><td class="n">2</td><td class="n">0</td>' in growth
    rates = html.split('id="rates-table"')[1].split("</tbody>")[0]
    assert row + '<td class="n">5</td><td class="n">1</td><td class="n">20.00 %</td>' in rates
    assert '"complaint_limit": 0.003' in html  # the chart draws the limit


def test_a_new_installation_is_told_its_next_steps(mail_settings, db_url) -> None:  # type: ignore[no-untyped-def]
    ops = signed_in(mail_settings, db_url, "ops@example.org", "operator")
    html = ops.get("/admin").text
    steps = html.split('id="first-steps"')[1].split("</ol>")[0]
    assert [re.sub(r"<[^>]+>", "", s).strip() for s in steps.split("<li>")[1:]] == [
        "No topics yet — add one: readers follow topics.",
        "No feeds yet — add one, or push articles through the API.",
        "No subscribers yet — import a list, or share the subscribe page.",
    ]
    assert 'href="/admin/feeds">No feeds yet' in steps
    assert "Every feed fetched well last time" not in html
    assert 'No feeds yet — <a href="/admin/feeds">add one</a>' in html
    assert tile(html, "complaints")[0] == "—" and tile(html, "active")[0] == "0"


def test_all_fine_says_so(mail_settings, db_url, world) -> None:  # type: ignore[no-untyped-def]
    world.topics("tech")
    world.subscriber("ana@example.org", "tech", datetime.now(UTC) - timedelta(days=3))
    with unit_of_work(db_url) as s:
        s.add(
            Feed(
                url="https://feeds.example.org/ok.xml",
                error_count=0,
                last_fetched_at=datetime.now(UTC),
            )
        )
    ops = signed_in(mail_settings, db_url, "ops@example.org", "operator")
    html = ops.get("/admin").text
    assert 'id="all-fine"' in html and 'id="alerts"' not in html
