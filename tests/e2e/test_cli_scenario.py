"""The pipeline driven through the ``digest`` command, as an operator would: topics,
articles and subscribers in three time zones; planning at successive UTC times; a real
Celery worker on Redis delivering to a real SMTP server; and the same through
``digest run`` with no broker."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import Cli, SmtpServer, stop, truncate_all

pytestmark = pytest.mark.slow

DAY = datetime(2026, 3, 16, tzinfo=UTC)  # New York is on summer time, Europe is not yet
SUBSCRIBERS = {
    # email: (zone, topics, 07:00 local in UTC)
    "bruno@example.be": ("Europe/Brussels", "technology,trade", DAY + timedelta(days=1, hours=6)),
    "nina@example.com": ("America/New_York", "politics", DAY + timedelta(days=1, hours=11)),
    "shu@example.cn": ("Asia/Shanghai", "technology,security", DAY + timedelta(hours=23)),
}


def article(slug: str, hour: float, topics: str) -> dict[str, object]:
    return {
        "url": f"https://news.example.org/{slug}",
        "title": f"Story {slug}",
        "summary": f"<p>What happened in {slug}.</p>",
        "published_at": (DAY + timedelta(hours=hour)).isoformat(),
        "topics": topics.split(","),
    }


ARTICLES = [
    article("chips", 8, "technology"),
    article("tariffs", 9, "trade"),
    article("chip-tariffs", 10, "technology,trade"),  # in two of Bruno's topics
    article("vote", 12, "politics"),
    article("breach", 13, "security,technology"),
    article("glaciers", 14, "climate"),  # nobody follows climate
    article("late-vote", 26, "politics"),  # after the Shanghai and Brussels slots
]

EXPECTED = {
    "bruno@example.be": {"chips", "tariffs", "chip-tariffs", "breach"},
    "shu@example.cn": {"chips", "chip-tariffs", "breach"},
    "nina@example.com": {"vote", "late-vote"},
}

JOINED = DAY + timedelta(hours=22)  # before anyone's first 07:00 slot

# (UTC time of the tick, subscribers due then)
TICKS = [
    (DAY + timedelta(hours=22, minutes=59), []),
    (DAY + timedelta(hours=23), ["shu@example.cn"]),
    (DAY + timedelta(hours=23), []),  # the same tick again
    (DAY + timedelta(days=1, hours=5, minutes=59), []),
    (DAY + timedelta(days=1, hours=6, minutes=1), ["bruno@example.be"]),
    (DAY + timedelta(days=1, hours=10, minutes=30), []),
    (DAY + timedelta(days=1, hours=11), ["nina@example.com"]),
    (DAY + timedelta(days=1, hours=11, minutes=1), []),
]


def seed(cli: Cli) -> None:
    for slug in ("technology", "trade", "politics", "security", "climate"):
        cli("topics", "add", slug, "--name", slug.title())
    lines = "\n".join(json.dumps(a) for a in ARTICLES)
    assert "7 added" in cli("articles", "import", "-", input=lines)
    for email, (zone, topics, _) in SUBSCRIBERS.items():
        cli(
            "subscribers",
            "add",
            email,
            "--topics",
            topics,
            "--timezone",
            zone,
            "--hour",
            "7",
            "--confirmed",
            "--now",
            JOINED.isoformat(),
        )


def article_slugs(html: str) -> list[str]:
    return re.findall(r'href="https://news\.example\.org/([a-z-]+)"', html)


def normalised(html: str) -> str:
    # The signed links depend on the subscriber's row id, which differs between runs.
    return re.sub(r"/(unsubscribe|preferences)/[A-Za-z0-9_.\-]+", r"/\1/TOKEN", html)


def check_message(received, expected_to: str) -> str:  # type: ignore[no-untyped-def]
    msg = received.message
    assert received.rcpt_tos == [expected_to]
    assert msg.get_content_type() == "multipart/alternative"
    parts = list(msg.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    text, html = (p.get_content().replace("\r\n", "\n") for p in parts)
    assert 'style="' in html, "CSS is inlined into style attributes"
    slugs = article_slugs(html)
    assert sorted(set(slugs)) == sorted(EXPECTED[expected_to])
    # Each article once (its title and its image link both point at the article).
    for slug in EXPECTED[expected_to]:
        assert text.count(f"https://news.example.org/{slug}\n") == 1
    assert re.fullmatch(r"<[^@\s]+@news\.example\.org>", msg["Message-ID"])
    assert msg["Date"]
    assert msg["From"] == "Example News <digest@news.example.org>"
    assert msg["To"].addresses[0].addr_spec == expected_to
    assert msg["List-Id"] == "<digest.news.example.org>"
    assert re.fullmatch(
        r"<https://news\.example\.org/digest/unsubscribe/[A-Za-z0-9_.\-]+>",
        msg["List-Unsubscribe"],
    )
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    return normalised(html)


def run_ticks(cli: Cli, smtp: SmtpServer, command: str) -> dict[str, str]:
    """Plan (or run) at each tick and check exactly the due subscribers get mail."""
    htmls: dict[str, str] = {}
    for when, due in TICKS:
        before = len(smtp.received)
        out = cli(command, "--now", when.isoformat())
        assert f"planned {len(due)}" in out, out
        got = smtp.wait_for(before + len(due))[before:]
        assert sorted(r.rcpt_tos[0] for r in got) == sorted(due)
        for r in got:
            htmls[r.rcpt_tos[0]] = check_message(r, r.rcpt_tos[0])
    # Nothing more arrives late.
    assert len(smtp.wait_for(len(SUBSCRIBERS) + 1, timeout=1)) == len(SUBSCRIBERS)
    return htmls


def test_plan_with_a_worker_and_run_send_the_same_digests(
    cli: Cli, smtp_server: SmtpServer, db_url: str
) -> None:
    seed(cli)
    worker = cli.worker("w1")
    try:
        via_worker = run_ticks(cli, smtp_server, "plan")
    finally:
        stop(worker)
    assert set(via_worker) == set(SUBSCRIBERS)

    deliveries = json.loads(cli("deliveries", "--json"))
    assert sorted(d["status"] for d in deliveries) == ["sent"] * 3
    assert all(
        len(d["attempt_log"]) == 1 and d["attempt_log"][0]["code"] == 250 for d in deliveries
    )

    # Start again from an empty database, and go through `digest run` instead.
    truncate_all(db_url)
    smtp_server.received.clear()
    seed(cli)
    via_run = run_ticks(cli, smtp_server, "run")
    assert via_run == via_worker
