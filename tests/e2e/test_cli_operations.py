"""Operations through the ``digest`` command: feeds behind the address guard, hostile
feed markup on its way to an inbox, retries, and two workers on one queue."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from digest.db.engine import unit_of_work
from digest.db.models import Digest
from tests.conftest import Cli, SmtpServer, stop
from tests.unit.ingest.feeds import HOSTILE_RSS, rss

pytestmark = pytest.mark.slow

JOINED = "2026-03-16T09:00:00+00:00"
SLOT = "2026-03-17T07:00:00+00:00"
FEEDS = {
    "/news.xml": rss(
        ("n1", "https://news.example.org/one", "One"), ("n2", "https://news.example.org/two", "Two")
    ),
    "/hostile.xml": HOSTILE_RSS.replace(
        b"<item>", b"<item><pubDate>Mon, 16 Mar 2026 08:00:00 GMT</pubDate>"
    ),
}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        body = FEEDS.get(self.path)
        self.send_response(200 if body else 404)
        self.end_headers()
        self.wfile.write(body or b"")


@pytest.fixture
def feed_base() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_loopback_feed_is_refused_unless_allowed(cli: Cli, feed_base: str) -> None:
    cli("topics", "add", "news")
    refused = cli("feeds", "add", f"{feed_base}/news.xml", "--topic", "news", ok=False)
    assert "refused feed URL" in refused and "127.0.0.1 is a loopback address" in refused
    assert "DIGEST_ALLOW_PRIVATE_FEEDS=1" in refused

    cli.env["DIGEST_ALLOW_PRIVATE_FEEDS"] = "1"
    assert "news" in cli("feeds", "add", f"{feed_base}/news.xml", "--topic", "news")
    assert "ok, 2 new" in cli("feeds", "fetch")


def test_hostile_feed_markup_never_reaches_the_email(
    cli: Cli, feed_base: str, smtp_server: SmtpServer
) -> None:
    cli.env["DIGEST_ALLOW_PRIVATE_FEEDS"] = "1"
    cli("topics", "add", "news")
    cli("feeds", "add", f"{feed_base}/hostile.xml", "--topic", "news")
    assert "1 new" in cli("feeds", "fetch")
    cli(
        "subscribers",
        "add",
        "reader@example.org",
        "--topics",
        "news",
        "--confirmed",
        "--now",
        JOINED,
    )
    assert "sent 1" in cli("run", "--now", SLOT)
    html = smtp_server.received[0].message.get_body(("html",)).get_content().lower()
    assert "kept text" in html
    for bad in ("<script", "onerror", "onclick", "javascript:", "<iframe", "display:none}"):
        assert bad not in html, bad


def test_451_then_retry_now_sends_once_and_deliveries_json_lists_attempts(
    cli: Cli, smtp_server: SmtpServer
) -> None:
    cli("topics", "add", "news")
    cli(
        "articles",
        "import",
        "-",
        input=json.dumps(
            {
                "url": "https://news.example.org/a",
                "title": "A",
                "summary": "s",
                "published_at": "2026-03-16T10:00:00Z",
                "topics": ["news"],
            }
        ),
    )
    cli(
        "subscribers",
        "add",
        "reader@example.org",
        "--topics",
        "news",
        "--confirmed",
        "--now",
        JOINED,
    )
    smtp_server.handler.data_replies.append("451 4.7.1 Greylisted, try again later")

    assert "deferred 1" in cli("run", "--now", SLOT)
    (delivery,) = json.loads(cli("deliveries", "--json"))
    assert delivery["status"] == "deferred"
    assert delivery["next_attempt_at"].startswith("2026-03-17T07:05:00")
    assert "sent 0" in cli("retry", "--now", "2026-03-17T07:04:00+00:00")
    assert "sent 1" in cli("retry", "--now", "2026-03-17T07:06:00+00:00")
    assert "sent 0" in cli("retry", "--now", "2026-03-17T09:00:00+00:00")
    assert len(smtp_server.received) == 1

    (delivery,) = json.loads(cli("deliveries", "--json"))
    assert delivery["status"] == "sent"
    assert [(a["code"], a["enhanced_code"], a["text"]) for a in delivery["attempt_log"]] == [
        (451, "4.7.1", "4.7.1 Greylisted, try again later"),
        (250, "2.0.0", "2.0.0 queued"),
    ]
    assert "deferred" not in cli("deliveries", "--status", "deferred")


def test_two_workers_and_repeated_queueing_send_each_digest_once(
    cli: Cli, smtp_server: SmtpServer
) -> None:
    cli("topics", "add", "news")
    cli(
        "articles",
        "import",
        "-",
        input=json.dumps(
            {
                "url": "https://news.example.org/a",
                "title": "A",
                "summary": "s",
                "published_at": "2026-03-16T10:00:00Z",
                "topics": ["news"],
            }
        ),
    )
    subscribers = "email,name,topics,frequency,timezone,hour\n" + "".join(
        f"r{i}@example.org,R{i},news,daily,UTC,7\n" for i in range(40)
    )
    cli("subscribers", "import", "-", "--confirmed", "--now", JOINED, input=subscribers)
    workers = [cli.worker("w1", concurrency=2), cli.worker("w2", concurrency=2)]
    try:
        # Two planners at once (as two beat processes would) ...
        planners = [
            subprocess.Popen(
                [sys.executable, "-m", "digest.cli", "plan", "--now", SLOT],
                env=cli.env,
                cwd=cli.cwd,
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        outputs = [p.communicate(timeout=120)[0] for p in planners]
        planned = sum(int(o.split()[1]) for o in outputs)
        assert planned == 40, outputs
        # ... and every batch queued a second time, as a broker redelivery would.
        with unit_of_work(cli.env["DIGEST_DATABASE_URL"]) as session:
            digest_ids = list(session.scalars(select(Digest.id)))
        assert len(digest_ids) == 40
        requeue = (
            "from workers.tasks import deliver_digests;"
            f"deliver_digests.delay({digest_ids!r}, {SLOT!r})"
        )
        subprocess.run([sys.executable, "-c", requeue], env=cli.env, cwd=cli.cwd, check=True)
        received = smtp_server.wait_for(40, timeout=90)
        time.sleep(3)  # a duplicate would arrive now
    finally:
        for w in workers:
            stop(w)
    per_address = Counter(r.rcpt_tos[0] for r in smtp_server.received)
    assert len(per_address) == 40 and len(received) >= 40
    assert set(per_address.values()) == {1}
