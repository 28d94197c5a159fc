"""The database goes away in the middle of a slot: the replies the relay already gave
are kept and recorded once it is back, so no reader gets a digest twice."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta

from digest.mail.sender import SMTPSender
from digest.services.console import reporting
from digest.services.sending import delivering, journal, pipeline, planning
from tests.faults.slot import READERS, SLOT, seed, start_worker, statuses, stop_worker


def test_a_database_outage_mid_slot_sends_no_digest_twice(  # type: ignore[no-untyped-def]
    world, db_url, db_proxy, fault_settings, slow_smtp
) -> None:
    seed(world)
    url = fault_settings.database_url
    planned = planning.plan(url, fault_settings, SLOT)
    assert len(planned.digest_ids) == READERS
    sender = SMTPSender.from_url(fault_settings.smtp_url)
    outcome: dict[str, object] = {}

    def worker() -> None:
        try:
            outcome["report"] = pipeline.build_and_send(
                url, planned.digest_ids, fault_settings, sender, lambda: SLOT
            )
        except Exception as exc:  # what a Celery task would see
            outcome["error"] = exc

    thread = threading.Thread(target=worker)
    thread.start()
    slow_smtp.wait_for(40, timeout=60)
    db_proxy.cut()  # PostgreSQL unreachable for 5 s while replies keep coming
    time.sleep(5)
    db_proxy.restore()
    thread.join(timeout=180)
    assert not thread.is_alive()

    # Later sweeps, with their claims long expired: whatever is still owed is sent.
    later = SLOT + timedelta(minutes=20)
    due = pipeline.sweep(url, fault_settings, later)
    pipeline.send_deliveries(url, due.delivery_ids, fault_settings, sender, lambda: later)
    for batch in pipeline.chunks(due.digest_ids, fault_settings.batch_size):
        pipeline.build_and_send(url, batch, fault_settings, sender, lambda: later)

    copies = Counter(r.rcpt_tos[0] for r in slow_smtp.received)
    assert max(copies.values()) == 1, {a: n for a, n in copies.items() if n > 1}
    assert len(copies) == READERS, f"{READERS - len(copies)} readers got nothing"
    # The worker waited for the database instead of giving up on its batch.
    assert "error" not in outcome, outcome
    assert statuses(db_url) == Counter({"sent": READERS})
    assert reporting.unrecorded_replies(fault_settings) == 0
    assert journal.journal_of(fault_settings).entries() == []


def test_replies_left_in_the_journal_are_recorded_by_the_sweep_before_any_resend(  # type: ignore[no-untyped-def]
    world, db_url, db_proxy, fault_settings, slow_smtp, monkeypatch
) -> None:
    # A worker that stops waiting for the database after a second gives up on its
    # batch; the replies it had are in the journal, and the sweep records them.
    monkeypatch.setattr(delivering, "RECORD_PATIENCE", 1.0)
    seed(world)
    url = fault_settings.database_url
    planned = planning.plan(url, fault_settings, SLOT)
    sender = SMTPSender.from_url(fault_settings.smtp_url)
    outcome: dict[str, object] = {}

    def worker() -> None:
        try:
            pipeline.build_and_send(url, planned.digest_ids, fault_settings, sender, lambda: SLOT)
        except Exception as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=worker)
    thread.start()
    slow_smtp.wait_for(40, timeout=60)
    db_proxy.cut()
    thread.join(timeout=60)
    db_proxy.restore()
    assert "error" in outcome  # it gave up while the database was away
    accepted = len(slow_smtp.received)
    held = len(journal.journal_of(fault_settings).entries())
    # The console counts them as answered but not yet recorded.
    assert held > 0 and reporting.unrecorded_replies(fault_settings) == held

    later = SLOT + timedelta(minutes=20)
    due = pipeline.sweep(url, fault_settings, later)
    assert due.reconciled > 0
    pipeline.send_deliveries(url, due.delivery_ids, fault_settings, sender, lambda: later)

    copies = Counter(r.rcpt_tos[0] for r in slow_smtp.received)
    assert max(copies.values()) == 1, {a: n for a, n in copies.items() if n > 1}
    assert len(copies) == READERS and accepted < READERS
    assert statuses(db_url) == Counter({"sent": READERS})
    assert reporting.unrecorded_replies(fault_settings) == 0


def test_a_database_outage_under_a_celery_worker_sends_no_digest_twice(  # type: ignore[no-untyped-def]
    world, db_url, db_proxy, proxied_url, fault_settings, slow_smtp, cli, tmp_path
) -> None:
    seed(world)
    env = {**cli.env, "DIGEST_DATABASE_URL": proxied_url, "DIGEST_SMTP_URL": slow_smtp.url}
    cli.env = env
    cli("plan", "--now", SLOT.isoformat())
    worker = start_worker(env, tmp_path)
    try:
        slow_smtp.wait_for(40, timeout=90)
        db_proxy.cut()
        time.sleep(5)
        db_proxy.restore()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and statuses(db_url)["sent"] < READERS:
            time.sleep(0.5)
        assert worker.poll() is None, (tmp_path / "worker.log").read_text()[-3000:]
    finally:
        stop_worker(worker)

    copies = Counter(r.rcpt_tos[0] for r in slow_smtp.received)
    assert max(copies.values()) == 1, {a: n for a, n in copies.items() if n > 1}
    assert len(copies) == READERS
    assert statuses(db_url) == Counter({"sent": READERS})
