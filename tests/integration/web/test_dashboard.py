"""The operator dashboard: outcomes per day over the last 30 UTC days, the queue, the
next slots and the latest errors, from rows written with chosen timestamps; the chart
library and the page's own files served by the app."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, timezone
from itertools import count
from typing import Any

from sqlalchemy import select

from digest.db.engine import unit_of_work
from digest.db.models import Delivery, DeliveryAttempt, Digest, Feed, Subscriber
from digest.mail.sender import SMTPSender
from digest.services.console import reporting
from digest.services.sending import pipeline
from tests.integration.services.test_query_counts import counting
from tests.integration.web.helpers import browser
from tests.integration.web.test_admin_access import admin, sign_in

# 23:00 UTC on 30 June, already 1 July where the operator is: the days are UTC days.
NOW = datetime(2026, 7, 1, 1, 0, tzinfo=timezone(timedelta(hours=2)))
HOSTILE = "</script><script>alert(1)</script>"
ERROR_TEXTS = [
    "554 5.7.1 message refused by policy",
    "550 5.1.1 no such mailbox here",
    "451 4.4.1 mailbox busy, try later",
    "421 4.3.2 closing, please come back",
    f"451 4.7.0 {HOSTILE}",
]
FEED_ERROR = "https://feeds.example.org/broken.xml: HTTP 503 from the server"


@dataclass
class Seeded:
    """What the seeded rows must show: the 30 days, the next slots (time, count)."""

    days: list[dict[str, Any]]
    slots: list[tuple[datetime, int]]


class Seeder:
    """Digests and deliveries written straight into the tables with chosen times."""

    def __init__(self, db_url: str, world: Any, t0: datetime) -> None:
        self.db_url = db_url
        self.world = world
        self.t0 = t0
        self.slots = count()
        self.people = count()

    def subscriber(self, status: str = "active", next_slot_at: datetime | None = None) -> int:
        sub_id: int = self.world.subscriber(
            f"reader{next(self.people)}@example.org", "tech", self.t0
        )
        with unit_of_work(self.db_url) as s:
            sub = s.get(Subscriber, sub_id)
            assert sub is not None
            sub.status, sub.next_slot_at = status, next_slot_at
        return sub_id

    def digest(self, sub_id: int, status: str, built_at: datetime | None) -> int:
        slot = self.t0 + timedelta(hours=next(self.slots))
        with unit_of_work(self.db_url) as s:
            row = Digest(
                subscriber_id=sub_id,
                slot_at=slot,
                window_end=slot,
                status=status,
                created_at=built_at or slot,
                built_at=built_at,
            )
            s.add(row)
            s.flush()
            return row.id

    def delivery(
        self,
        status: str,
        at: datetime,
        *,
        sent_at: datetime | None = None,
        attempts: Sequence[tuple[datetime, str, str]] = (),
        last: str | None = None,
        bounce: tuple[str, datetime] | None = None,
    ) -> int:
        """A delivery last changed at ``at``, with attempts (time, outcome, reply)."""
        sub_id = self.subscriber()
        digest_id = self.digest(sub_id, "built", at)
        reply = last or (attempts[-1][2] if attempts else None)
        code = int(reply[:3]) if reply and reply[:3].isdigit() else None
        with unit_of_work(self.db_url) as s:
            row = Delivery(
                digest_id=digest_id,
                subscriber_id=sub_id,
                email=f"reader{sub_id}@example.org",
                message_id=f"<{digest_id}@news.example.org>",
                status=status,
                attempts=len(attempts),
                created_at=at,
                updated_at=at,
                sent_at=sent_at,
                last_code=code,
                last_enhanced_code=reply.split()[1] if code else None,
                last_text=reply,
                bounce_kind=bounce[0] if bounce else None,
                bounced_at=bounce[1] if bounce else None,
            )
            s.add(row)
            s.flush()
            for when, outcome, text in attempts:
                s.add(
                    DeliveryAttempt(
                        delivery_id=row.id,
                        attempted_at=when,
                        outcome=outcome,
                        code=int(text[:3]),
                        enhanced_code=text.split()[1],
                        text=text,
                    )
                )
            return row.id


def seed(db_url: str, world: Any, now: datetime) -> Seeded:
    """Deliveries, attempts, digests, subscribers and feeds on chosen days of the 30
    UTC days up to ``now``, and just outside them."""
    today = datetime.combine(now.astimezone(UTC).date(), time(), UTC)
    first = today - timedelta(days=29)
    busy, bad = today - timedelta(days=27), today - timedelta(days=20)
    before = first - timedelta(days=10)
    h = timedelta(hours=1)
    world.topics("tech")
    seeder = Seeder(db_url, world, before)
    # Outside the window: the second before the first day, and tomorrow (UTC).
    seeder.delivery("sent", first - timedelta(seconds=1), sent_at=first - timedelta(seconds=1))
    seeder.delivery("sent", today + 24 * h, sent_at=today + 24 * h)
    # The very first second of the first day and of today count.
    seeder.delivery("sent", first, sent_at=first)
    seeder.delivery("sent", today, sent_at=today)
    # A busy day: three sent, one of them deferred twice first (one delivery deferred).
    seeder.delivery(
        "sent",
        busy + 9 * h,
        sent_at=busy + 9 * h,
        attempts=[
            (busy + 6 * h, "deferred", ERROR_TEXTS[3]),
            (busy + 7 * h, "deferred", "421 4.3.2 still closing"),
            (busy + 9 * h, "sent", "250 2.0.0 queued"),
        ],
    )
    # Accepted on the busy day, its hard bounce back on the bad day; a soft one's is
    # not a bounce for the chart.
    seeder.delivery("sent", busy + 8 * h, sent_at=busy + 8 * h, bounce=("hard", bad + 2 * h))
    last_second = busy + timedelta(hours=23, minutes=59, seconds=59)
    seeder.delivery("sent", last_second, sent_at=last_second, bounce=("soft", bad + 3 * h))
    seeder.digest(seeder.subscriber(), "skipped", busy + 7 * h)
    # A bad day: a refusal, a hard bounce, a retry given up after a deferral.
    seeder.delivery("failed", bad + 8 * h, attempts=[(bad + 8 * h, "failed", ERROR_TEXTS[0])])
    seeder.delivery(  # the relay's refusal, classified as the recorder does it
        "failed",
        bad + 9 * h,
        attempts=[(bad + 9 * h, "failed", ERROR_TEXTS[1])],
        bounce=("hard", bad + 9 * h),
    )
    seeder.delivery(
        "failed",
        bad + 10 * h,
        attempts=[(bad + 10 * h, "deferred", ERROR_TEXTS[2])],
        last="451 4.4.1 gave up after 1 attempts: mailbox busy, try later",
    )
    seeder.digest(seeder.subscriber(), "skipped", bad + 6 * h)
    seeder.digest(seeder.subscriber(), "skipped", bad + 7 * h)
    # Failed on the bad day, then reopened by an operator: no longer failed, waiting.
    seeder.delivery(
        "deferred", bad + 11 * h, attempts=[(bad + 11 * h, "failed", "554 5.7.1 refused again")]
    )
    # Waiting now, dated before the window: queued, being sent, a planned digest.
    seeder.delivery("queued", before)
    seeder.delivery("sending", before)
    seeder.digest(seeder.subscriber(), "planned", None)
    # Deferred today, the newest error, recorded last.
    seeder.delivery("deferred", today, attempts=[(today, "deferred", ERROR_TEXTS[4])])

    hour = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    slots = [(hour - h, 1), (hour + 8 * h, 3), (hour + 10 * h, 2)]  # the first is due
    for slot_at, n in slots:
        for _ in range(n):
            seeder.subscriber(next_slot_at=slot_at)
    seeder.subscriber("unsubscribed", hour + 9 * h)
    with unit_of_work(db_url) as s:
        s.add_all(
            [
                Feed(
                    url="https://feeds.example.org/broken.xml",
                    last_fetched_at=today,
                    last_status=503,
                    last_error=FEED_ERROR,
                    error_count=2,
                ),
                # Fetched well, with a problem it got past: not a failed fetch.
                Feed(
                    url="https://feeds.example.org/odd.xml",
                    last_fetched_at=today,
                    last_status=200,
                    last_error="one item had no link",
                    error_count=0,
                ),
            ]
        )

    seen = {
        first: {"sent": 1},
        busy: {"sent": 3, "deferred": 1, "skipped": 1},
        bad: {"deferred": 1, "failed": 2, "bounced": 2, "skipped": 2},
        today: {"sent": 1, "deferred": 1},
    }
    days = []
    for i in range(30):
        day = first + timedelta(days=i)
        counts = dict.fromkeys(reporting.OUTCOMES, 0) | seen.get(day, {})
        days.append({"day": day.date().isoformat(), **counts})
    return Seeded(days, slots)


def test_daily_outcomes_count_each_utc_day_with_a_fixed_number_of_queries(world, db_url) -> None:  # type: ignore[no-untyped-def]
    seeded = seed(db_url, world, NOW)
    assert seeded.days[-1]["day"] == "2026-06-30"  # NOW's UTC day, not its local one
    with counting(db_url) as statements, unit_of_work(db_url) as s:
        days = reporting.daily_outcomes(s, NOW)
    assert days == seeded.days
    assert len([q for q in statements if q.lstrip().upper().startswith("SELECT")]) == 5
    with unit_of_work(db_url) as s:
        assert reporting.daily_outcomes(s, NOW, days=1) == seeded.days[-1:]
        assert reporting.queued_now(s) == {"planned": 1, "queued": 1, "sending": 1, "deferred": 2}
        slots = reporting.next_slots(s, NOW)
        errors = reporting.latest_errors(s, limit=3)
        sub_id = s.scalars(
            select(Delivery.subscriber_id).where(Delivery.last_text == ERROR_TEXTS[4])
        ).one()
    assert [(x["slot_at"], x["subscribers"], x["due"]) for x in slots] == [
        (at, n, i == 0) for i, (at, n) in enumerate(seeded.slots)
    ]
    assert [e["text"] for e in errors["attempts"]] == [
        ERROR_TEXTS[4],
        "554 5.7.1 refused again",
        ERROR_TEXTS[2],
    ]
    newest = errors["attempts"][0]
    assert (newest["outcome"], newest["code"], newest["enhanced_code"]) == (
        "deferred",
        451,
        "4.7.0",
    )
    assert newest["attempted_at"] == datetime(2026, 6, 30, tzinfo=UTC)
    assert newest["subscriber_url"] == f"/admin/subscribers/{sub_id}"
    assert [f["error"] for f in errors["feeds"]] == [FEED_ERROR]


def test_the_counts_follow_what_sending_to_a_real_smtp_server_records(
    world, db_url, mail_settings, smtp_server
) -> None:  # type: ignore[no-untyped-def]
    t0, slot = datetime(2026, 6, 1, 12, 0, tzinfo=UTC), datetime(2026, 6, 2, 7, 0, tzinfo=UTC)
    world.topics("tech", "world")
    for name in ("ok", "gone", "refused", "busy"):
        world.subscriber(f"{name}@example.org", "tech", t0)
    world.subscriber("quiet@example.org", "world", t0)  # nothing new for them: skipped
    world.article("a1", slot - timedelta(hours=1), ["tech"])
    replies = smtp_server.handler.rcpt_replies
    replies["gone@example.org"] = "550 5.1.1 no such mailbox"
    replies["refused@example.org"] = "554 5.7.1 refused by policy"
    replies["busy@example.org"] = "451 4.2.1 mailbox busy"
    report = pipeline.run(db_url, mail_settings, SMTPSender.from_url(smtp_server.url), lambda: slot)
    assert (report.sent, report.failed, report.deferred) == (1, 2, 1)
    with unit_of_work(db_url) as s:
        day = reporting.daily_outcomes(s, slot)[-1]
        assert reporting.queued_now(s)["deferred"] == 1
        errors = reporting.latest_errors(s)["attempts"]
    assert day == {
        "day": "2026-06-02",
        "sent": 1,
        "deferred": 1,
        "failed": 1,
        "bounced": 1,
        "skipped": 1,
    }
    assert sorted(e["email"] for e in errors) == [
        "busy@example.org",
        "gone@example.org",
        "refused@example.org",
    ]


def test_the_dashboard_carries_the_chart_data_slots_and_errors(
    world, db_url, mail_settings
) -> None:  # type: ignore[no-untyped-def]
    seeded = seed(db_url, world, datetime.now(UTC))
    admin(db_url, "ed@example.org", "editor")
    client = browser(mail_settings)
    sign_in(client, "ed@example.org")
    page = client.get("/admin")
    assert page.status_code == 200
    html = page.text

    block = re.search(
        r'<script type="application/json" id="outcomes-data">(.*?)</script>', html, re.S
    )
    assert block is not None
    assert json.loads(block.group(1)) == seeded.days
    for slot_at, n in seeded.slots:
        iso = slot_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert re.search(rf'<time datetime="{iso}".*?</td><td class="n">{n}</td>', html), iso
    # The latest errors name readers: an editor sees the counts, an operator the rows.
    assert not re.search(r"reader\d+@example.org", html) and 'id="latest-errors-hidden"' in html
    admin(db_url, "ops@example.org", "operator")
    ops = browser(mail_settings)
    sign_in(ops, "ops@example.org")
    seen_by_ops = ops.get("/admin").text
    for text in ERROR_TEXTS[:4]:
        assert text in seen_by_ops
    assert HOSTILE not in seen_by_ops
    assert "&lt;/script&gt;&lt;script&gt;alert(1)" in seen_by_ops
    assert FEED_ERROR in html and "one item had no link" not in html
    links = re.findall(r'<a href="(/admin/subscribers/\d+)">reader\d+@example.org</a>', seen_by_ops)
    assert len(links) == 7 and ops.get(links[0]).status_code == 200
    for kind, n in (("planned", 1), ("queued", 1), ("sending", 1), ("deferred", 2)):
        assert f'id="queued-{kind}">{n}<' in html

    # The page's scripts are the app's own files, allowed only by this page's nonce.
    csp = page.headers["content-security-policy"]
    script_src = re.search(r"script-src ([^;]+);", csp)
    assert script_src is not None
    nonce = re.fullmatch(r"'nonce-([^']+)'", script_src.group(1).strip())
    assert nonce is not None
    scripts = re.findall(r'<script src="([^"]+)" nonce="([^"]+)"></script>', html)
    assert scripts == [
        ("/static/vendor/chart.umd.min.js", nonce.group(1)),
        ("/static/dashboard.js", nonce.group(1)),
    ]
    assert '<link rel="stylesheet" href="/static/admin.css">' in html


def test_the_static_files_are_served_by_the_app(mail_settings) -> None:  # type: ignore[no-untyped-def]
    client = browser(mail_settings)
    chart = client.get("/static/vendor/chart.umd.min.js")
    assert chart.status_code == 200
    assert "javascript" in chart.headers["content-type"]
    assert chart.text.startswith("/*!\n * Chart.js v4.")
    own = client.get("/static/dashboard.js")
    assert own.status_code == 200 and "javascript" in own.headers["content-type"]
    assert "outcomes-data" in own.text
    css = client.get("/static/admin.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert client.get("/static/../pages.py").status_code == 404
    assert client.get("/static/vendor/missing.js").status_code == 404
