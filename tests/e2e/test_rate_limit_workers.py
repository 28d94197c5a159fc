"""Four Celery worker processes sending through one relay limited to R messages per
second: at the relay, no window of one second ever holds more than R. The same run
without the limit is the control: it goes well past R, so the check can fail."""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from digest.db.engine import unit_of_work
from digest.db.models import Delivery
from digest.mail.capture import free_port
from tests.conftest import REPO, Cli, World, process_env, stop
from tests.integration.services.relay_servers import busiest_window

pytestmark = pytest.mark.slow

R = 20  # messages per second at the relay
READERS = 150
WORKERS = 4
T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SLOT = datetime(2026, 6, 2, 7, 0, tzinfo=UTC)


@contextmanager
def timed_relay(log: Path) -> Iterator[int]:
    """The relay of tests/e2e/timed_relay.py on a free port, logging to ``log``."""
    port = free_port()
    relay = subprocess.Popen(
        [sys.executable, "-m", "tests.e2e.timed_relay", str(port), str(log)],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert relay.stdout is not None and relay.stdout.readline().strip() == "ready"
        yield port
    finally:
        assert relay.stdin is not None
        relay.stdin.close()
        relay.wait(timeout=10)


def arrivals(log: Path) -> list[tuple[float, str]]:
    lines = log.read_text().splitlines() if log.exists() else []
    return [(float(at), rcpt) for at, rcpt in (line.split() for line in lines)]


def wait_for(log: Path, count: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while len(arrivals(log)) < count and time.monotonic() < deadline:
        time.sleep(0.2)
    return len(arrivals(log))


def statuses(db_url: str) -> dict[str, int]:
    with unit_of_work(db_url) as s:
        rows = s.execute(select(Delivery.status, func.count()).group_by(Delivery.status))
        return {status: int(n) for status, n in rows}


@pytest.mark.parametrize("limited", [True, False], ids=["limited", "unlimited-control"])
def test_four_workers_never_exceed_the_relays_rate(
    limited: bool, world: World, db_url: str, broker: str, tmp_path: Path
) -> None:
    world.topics("news")
    world.article("a1", SLOT - timedelta(hours=1), ["news"])
    for i in range(READERS):
        world.subscriber(f"r{i}@example.org", "news", T0)
    log = tmp_path / "arrivals.txt"
    with timed_relay(log) as port:
        url = f"smtp://127.0.0.1:{port}"
        env = process_env(
            DIGEST_DATABASE_URL=db_url,
            DIGEST_BROKER_URL=broker,
            DIGEST_SMTP_URL=f"{url}?per_second={R}" if limited else url,
            DIGEST_SECRET_KEY="test-secret-key-of-32-bytes-or-more-0123456789",
            DIGEST_DATA_DIR=str(tmp_path),
            DIGEST_BASE_URL="https://news.example.org/digest",
            DIGEST_FROM="Example News <digest@news.example.org>",
            DIGEST_BATCH_SIZE="10",  # 15 batches spread over the workers
        )
        cli = Cli(env, tmp_path)
        workers = [cli.worker(f"w{i}") for i in range(WORKERS)]
        try:
            planned = cli("plan", "--now", SLOT.isoformat())
            assert "planned 150 digest(s) in 15 batch(es)" in planned
            assert wait_for(log, READERS, timeout=120) == READERS
            time.sleep(1.5)  # anything sent twice, or past the limit, would arrive now
        finally:
            for worker in workers:
                stop(worker)
    received = arrivals(log)
    times = [at for at, _ in received]

    assert Counter(Counter(rcpt for _, rcpt in received).values()) == {1: READERS}
    assert statuses(db_url) == {"sent": READERS}
    busiest = busiest_window(times, 1.0)
    if limited:
        assert busiest <= R, f"{busiest} messages within one second (limit {R})"
        # 150 at 20 a second: the limit held the workers back for several seconds.
        assert max(times) - min(times) >= (READERS - R) / R
    else:
        assert busiest > 2 * R, f"unlimited, the workers sent only {busiest} in a second"
