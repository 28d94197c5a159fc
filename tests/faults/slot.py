"""What the fault tests share: a slot of READERS readers due at SLOT, the deliveries'
statuses, and a Celery worker started in a session of its own, so that it and its pool
can be killed together."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from digest.db.engine import unit_of_work
from digest.db.models import Delivery

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SLOT = datetime(2026, 6, 2, 7, 0, tzinfo=UTC)
READERS = 150


def seed(world) -> None:  # type: ignore[no-untyped-def]
    world.topics("news")
    for i in range(5):
        world.article(f"story-{i}", T0 + timedelta(hours=i), ["news"])
    for i in range(READERS):
        world.subscriber(f"reader{i:03d}@example.org", "news", T0)


def statuses(db_url: str) -> Counter[str]:
    with unit_of_work(db_url) as s:
        rows = s.execute(select(Delivery.status, func.count()).group_by(Delivery.status))
        return Counter(dict(rows.all()))


def start_worker(env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    """A worker with one process sending, logging to ``cwd/worker.log``."""
    log = open(cwd / "worker.log", "wb")  # noqa: SIM115 - lives with the process
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "workers", "worker", "--concurrency", "1",
         "--loglevel", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"],
        env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip


def stop_worker(worker: subprocess.Popen[bytes]) -> None:
    if worker.poll() is None:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=30)
