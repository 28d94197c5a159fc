"""Redis, the broker, restarts empty in the middle of a slot: the worker keeps running,
and the work whose tasks were lost is found by the sweep and sent once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import timedelta

import pytest

from bench.faults import RedisServer
from tests.conftest import process_env
from tests.faults.slot import READERS, SLOT, seed, statuses


def send_task(server: RedisServer, name: str, args: list[object]) -> None:
    """Queue a task as Celery's Redis transport does (protocol 2, JSON)."""
    from workers.app import app

    with app.connection_for_write(server.url) as conn:
        app.send_task(name, args=args, connection=conn)


@pytest.mark.parametrize(
    ("batch", "cut_at"),
    [
        # One task left, ending while the broker is away: its acknowledgement fails.
        (100, READERS - 10),
        # Two tasks sending and one queued, lost with the broker.
        (50, 50),
    ],
    ids=["last-task-ends-while-away", "queued-task-lost"],
)
def test_the_worker_survives_a_broker_restart_and_lost_work_is_sent_once(  # type: ignore[no-untyped-def]
    world, db_url, slow_smtp, tmp_path, cli, fault_settings, batch, cut_at
) -> None:
    seed(world)
    slow_smtp.handler.delay = 0.06
    broker = RedisServer(tmp_path)
    broker.start()
    env = process_env(
        **{**cli.env, "DIGEST_DATABASE_URL": db_url, "DIGEST_SMTP_URL": slow_smtp.url,
           "DIGEST_BROKER_URL": broker.url}
    )  # fmt: skip
    cli.env = env
    log = tmp_path / "worker.log"
    worker = subprocess.Popen(
        # As an operator starts it: gossip, mingle and heartbeats left on.
        [sys.executable, "-m", "celery", "-A", "workers", "worker", "--concurrency", "2",
         "--loglevel", "INFO", "--hostname", f"w{uuid.uuid4().hex[:6]}@%h"],
        env=env, cwd=tmp_path, stdout=log.open("wb"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    try:
        cli.env = {**env, "DIGEST_BATCH_SIZE": str(batch)}
        cli("plan", "--now", SLOT.isoformat())
        slow_smtp.wait_for(cut_at, timeout=90)
        broker.kill()  # queued and unacknowledged tasks are gone with it
        time.sleep(4)  # long enough for a task to end, and ask to be acknowledged, meanwhile
        broker.start()
        time.sleep(8)
        assert worker.poll() is None, log.read_text()[-4000:]

        # The sweep, once the lost work's claims and tasks are overdue.
        later = SLOT + timedelta(minutes=3)
        send_task(broker, "digest.sweep", [later.isoformat()])
        deadline = time.monotonic() + 120
        while (
            time.monotonic() < deadline
            and len({r.rcpt_tos[0] for r in slow_smtp.received}) < READERS
        ):
            time.sleep(0.5)
        time.sleep(2)
        assert worker.poll() is None, log.read_text()[-4000:]
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
        broker.kill()

    copies = Counter(r.rcpt_tos[0] for r in slow_smtp.received)
    assert len(copies) == READERS, log.read_text()[-3000:]
    assert max(copies.values()) == 1, {a: n for a, n in copies.items() if n > 1}
    assert statuses(db_url) == Counter({"sent": READERS})
