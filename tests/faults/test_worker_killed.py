"""A Celery worker killed with SIGKILL in the middle of a slot: the replies it had
received are in the journal, so at most the one message whose reply it was reading
as it died (one per SMTP connection) can go out twice."""

from __future__ import annotations

import dataclasses
import os
import signal
import time
from collections import Counter
from datetime import timedelta

from digest.mail.sender import SMTPSender
from digest.services.sending import journal, pipeline
from tests.conftest import process_env
from tests.faults.slot import READERS, SLOT, seed, start_worker, statuses


def test_a_worker_killed_mid_slot_sends_at_most_one_message_twice(  # type: ignore[no-untyped-def]
    world, db_url, fault_settings, slow_smtp, broker, tmp_path, cli
) -> None:
    seed(world)
    env = process_env(
        **{
            **cli.env,
            "DIGEST_DATABASE_URL": db_url,
            "DIGEST_SMTP_URL": slow_smtp.url,
            "DIGEST_BROKER_URL": broker,
        }
    )
    cli.env = env
    cli("plan", "--now", SLOT.isoformat())
    worker = start_worker(env, tmp_path)
    try:
        slow_smtp.wait_for(60, timeout=90)
        assert len(slow_smtp.received) >= 60, (tmp_path / "worker.log").read_text()[-3000:]
        os.killpg(worker.pid, signal.SIGKILL)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
    time.sleep(0.5)
    accepted = len(slow_smtp.received)
    assert accepted < READERS  # it died with work left

    # The sweep after the claims ran out: the journal first, then what is still owed.
    settings = dataclasses.replace(fault_settings, database_url=db_url)
    later = SLOT + timedelta(minutes=20)
    due = pipeline.sweep(db_url, settings, later)
    sender = SMTPSender.from_url(slow_smtp.url)
    pipeline.send_deliveries(db_url, due.delivery_ids, settings, sender, lambda: later)
    for batch in pipeline.chunks(due.digest_ids, settings.batch_size):
        pipeline.build_and_send(db_url, batch, settings, sender, lambda: later)

    copies = Counter(r.rcpt_tos[0] for r in slow_smtp.received)
    twice = {a: n for a, n in copies.items() if n > 1}
    assert len(twice) <= 1 and max(copies.values()) <= 2, twice
    assert len(copies) == READERS
    assert statuses(db_url) == Counter({"sent": READERS})
    assert journal.journal_of(settings).entries() == []
