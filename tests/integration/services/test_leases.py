"""Claims follow the worker: a send loop renews the claims of what it has still to
send, so only a worker that stopped loses them, after CLAIM_LEASE; and work whose task
the broker lost is queued again within minutes when the broker holds no task at all."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta

import redis
from aiosmtpd.controller import Controller
from sqlalchemy import select

from digest.db.engine import unit_of_work
from digest.db.models import Delivery
from digest.mail.sender import SMTPSender
from digest.services.metrics import broker_is_idle
from digest.services.sending import building, delivering, pipeline, planning
from tests.conftest import ScriptedHandler, SmtpServer

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SLOT = datetime(2026, 6, 2, 7, 0, tzinfo=UTC)


class Slow(ScriptedHandler):
    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        await asyncio.sleep(0.05)
        return await super().handle_DATA(server, session, envelope)


def claims(db_url: str) -> dict[int, datetime | None]:
    with unit_of_work(db_url) as s:
        rows = s.execute(
            select(Delivery.id, Delivery.claimed_at).where(Delivery.status == "sending")
        )
        return dict(rows.all())


def test_a_send_loop_renews_the_claims_it_still_holds(  # type: ignore[no-untyped-def]
    world, db_url, settings, monkeypatch
) -> None:
    monkeypatch.setattr(delivering, "HEARTBEAT", 0.3)
    world.topics("news")
    world.article("story", T0, ["news"])
    for i in range(40):
        world.subscriber(f"r{i:02d}@example.org", "news", T0)
    smtp = SmtpServer()
    smtp.handler = Slow()
    smtp.controller = Controller(smtp.handler, hostname="127.0.0.1", port=smtp.port)
    smtp.controller.start()
    try:
        planned = planning.plan(db_url, settings, SLOT)
        started = datetime.now(UTC)
        sender = SMTPSender.from_url(smtp.url)
        thread = threading.Thread(
            target=pipeline.build_and_send,
            args=(db_url, planned.digest_ids, settings, sender, lambda: datetime.now(UTC)),
        )
        thread.start()
        smtp.wait_for(20, timeout=30)
        held = claims(db_url)
        thread.join(timeout=60)
    finally:
        smtp.controller.stop()
    assert held, "the loop had nothing left to send when looked at"
    # Claimed as the batch began; renewed since, while the loop kept sending.
    assert all(at is not None and at >= started + timedelta(seconds=0.5) for at in held.values())
    assert len(smtp.received) == 40


def test_a_claim_not_renewed_runs_out_after_the_lease(world, db_url, settings) -> None:  # type: ignore[no-untyped-def]
    world.topics("news")
    world.article("story", T0, ["news"])
    world.subscriber("a@example.org", "news", T0)
    planned = planning.plan(db_url, settings, SLOT)
    with unit_of_work(db_url) as s:
        building.build(s, planned.digest_ids, settings, SLOT, claim=True)
    within = pipeline.sweep(db_url, settings, SLOT + delivering.CLAIM_LEASE - timedelta(seconds=1))
    assert within.released == 0
    after = pipeline.sweep(db_url, settings, SLOT + delivering.CLAIM_LEASE + timedelta(seconds=1))
    assert after.released == 1 and len(after.delivery_ids) == 1
    assert timedelta(minutes=2) >= delivering.CLAIM_LEASE


def test_work_whose_task_was_lost_is_queued_again_soon_when_the_broker_is_empty(  # type: ignore[no-untyped-def]
    world, db_url, settings, broker
) -> None:
    world.topics("news")
    world.article("story", T0, ["news"])
    world.subscriber("a@example.org", "news", T0)
    planned = planning.plan(db_url, settings, SLOT)  # queued tasks then lost with the broker
    two_minutes_on = SLOT + timedelta(minutes=2)

    assert broker_is_idle(broker)
    soon = pipeline.sweep(db_url, settings, two_minutes_on, broker_idle=True)
    assert soon.digest_ids == planned.digest_ids
    # While the broker still holds tasks, the same digests are left to them.
    busy = pipeline.sweep(db_url, settings, two_minutes_on, broker_idle=False)
    assert busy.digest_ids == []

    client = redis.Redis.from_url(broker.replace("redis+socket://", "unix://"))
    client.rpush("celery", b"{}")
    try:
        assert not broker_is_idle(broker)
    finally:
        client.delete("celery")
        client.close()
