"""Feeds are polled on a queue of their own, one task per feed, with time limits: a
hostile feed holds up neither sending nor the other feeds."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from digest.db.engine import unit_of_work
from digest.db.models import Feed
from digest.services.ingesting import add_feed
from tests.conftest import Cli, SmtpServer, World, stop
from tests.integration.ingest.servers import Connection, script_server
from tests.unit.ingest.feeds import rss

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
FEED = rss(("g1", "https://n.org/1", "One"))
SLOT = datetime(2026, 6, 2, 7, 0, tzinfo=UTC)
FEED_TIMEOUT = 15  # the default DIGEST feed time limit
PROBE = """
import json
from workers.app import app
import workers.tasks

names = ["digest.poll_feeds", "digest.poll_feed", "digest.deliver_digests",
         "digest.send_deliveries", "digest.plan", "digest.sweep"]
print(json.dumps({
    name: {
        "queue": app.amqp.router.route({}, name)["queue"].name,
        "soft": app.tasks[name].soft_time_limit,
        "hard": app.tasks[name].time_limit,
        "acks_late": app.tasks[name].acks_late,
    }
    for name in names
}))
"""


def test_feed_tasks_go_to_the_feeds_queue_with_time_limits(cli: Cli) -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        env=cli.env,
        cwd=cli.cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    tasks = json.loads(done.stdout)
    assert tasks["digest.poll_feeds"] == {
        "queue": "feeds",
        "soft": 60.0,
        "hard": 90.0,
        "acks_late": False,
    }
    # A fetch ends by the feed time limit; parsing and storing get a minute more.
    assert tasks["digest.poll_feed"] == {
        "queue": "feeds",
        "soft": FEED_TIMEOUT + 60.0,
        "hard": FEED_TIMEOUT + 90.0,
        "acks_late": False,
    }
    for name in ("digest.deliver_digests", "digest.send_deliveries", "digest.plan"):
        assert tasks[name]["queue"] == "celery"
        assert tasks[name]["acks_late"] is True


def worker(
    cli: Cli, name: str, concurrency: int, *options: str
) -> tuple[subprocess.Popen[bytes], Path]:
    log = cli.cwd / f"worker-{name}.log"
    process = subprocess.Popen(
        [
            *[sys.executable, "-m", "celery", "-A", "workers", "worker", "--loglevel", "INFO"],
            *["--concurrency", str(concurrency), "--hostname", f"{name}@%h"],
            *["--without-gossip", "--without-mingle", "--without-heartbeat", *options],
        ],
        env=cli.env,
        cwd=cli.cwd,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    return process, log


def wait_until(check, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check() and time.monotonic() < deadline:
        time.sleep(0.1)
    return bool(check())


def feed_states(db_url: str) -> list[tuple[int | None, str | None]]:
    """Each feed's last HTTP status and error, in the order they were added."""
    with unit_of_work(db_url) as s:
        feeds = s.scalars(select(Feed).order_by(Feed.id))
        return [(feed.last_status, feed.last_error) for feed in feeds]


def trickle(conn: Connection) -> None:
    conn.trickle(b"HTTP/1.1 200 OK\r\nX-Padding: " + b"x" * 1000, 0.5, for_at_most=60)


def answer(conn: Connection) -> None:
    head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(FEED)}\r\nConnection: close\r\n\r\n"
    conn.sock.sendall(head.encode() + FEED)


@pytest.mark.slow
def test_a_feed_trickling_its_headers_holds_up_neither_sending_nor_other_feeds(
    cli: Cli, world: World, db_url: str, smtp_server: SmtpServer
) -> None:
    world.topics("news")
    world.article("a1", SLOT - timedelta(hours=1), ["news"])
    world.subscriber("ana@example.org", "news", T0)
    cli.env["DIGEST_ALLOW_PRIVATE_FEEDS"] = "1"
    with script_server(trickle) as hostile, script_server(answer) as good:
        hostile_url = f"http://127.0.0.1:{hostile.port}/rss"
        with unit_of_work(db_url) as s:
            for url in (hostile_url, f"http://127.0.0.1:{good.port}/rss"):
                add_feed(s, url, ["news"], allow_private=True)
        # One worker for each queue, as `digest up` and docker-compose run them. The
        # sending worker takes one task at a time: a feed on its queue would stop it.
        sending, sending_log = worker(cli, "sending", 1)
        feeds, feeds_log = worker(cli, "feeds", 2, "--queues", "feeds")
        try:
            # Queued as beat queues it, routed by the app's configuration.
            subprocess.run(
                [sys.executable, "-c", "from workers.tasks import poll_feeds; poll_feeds.delay()"],
                env=cli.env,
                cwd=cli.cwd,
                check=True,
                timeout=60,
            )
            for log in (sending_log, feeds_log):
                assert wait_until(lambda log=log: "ready." in log.read_text(), 60), log
            assert wait_until(lambda: hostile.requests, 30), "the feed was never polled"
            polled_at = time.monotonic()
            # The other feed is read while the first still holds its connection.
            assert wait_until(lambda: feed_states(db_url)[1] == (200, None), FEED_TIMEOUT - 5)
            cli("plan", "--now", SLOT.isoformat())
            received = smtp_server.wait_for(1, timeout=FEED_TIMEOUT - 2)
            # Sent while the feed still held its connection open.
            assert hostile.closed == []
            assert [r.rcpt_tos for r in received] == [["ana@example.org"]]
            # The feed's own poll ends at its time limit and says so on the feed.
            assert wait_until(lambda: feed_states(db_url)[0] != (None, None), FEED_TIMEOUT + 10)
        finally:
            stop(sending)
            stop(feeds)
    assert feed_states(db_url)[0] == (
        None,
        f"feed {hostile_url} did not answer within {FEED_TIMEOUT} s",
    )
    assert hostile.closed and hostile.closed[0] - polled_at < FEED_TIMEOUT + 2
